/**
 * `pause <workflow> [--note <text>]` and `resume <workflow>`: POST /workflows/{id}/pause and
 * /resume (docs/api.md "Pause and resume"). Both are idempotent on the server; the line printed
 * says whether anything changed, so a script can tell "paused now" from "was paused already".
 */
import { findWorkflow, unwrap, type ChronoverseClient } from './api.ts';
import type { Output } from './output.ts';

export async function pause(
  out: Output,
  api: ChronoverseClient,
  options: { workflow: string; note?: string; json: boolean },
): Promise<number> {
  const before = await findWorkflow(api, options.workflow);
  const w = unwrap(
    await api.POST('/api/v1/workflows/{id}/pause', {
      params: { path: { id: before.id } },
      body: options.note !== undefined ? { note: options.note } : {},
    }),
  );
  if (options.json) out.json(w);
  else if (before.paused_at !== null) {
    out.line(`workflow/${w.name} was already paused (since ${w.paused_at}); its note is kept`);
  } else out.line(`workflow/${w.name} paused${w.pause_note ? `: ${w.pause_note}` : ''}`);
  return 0;
}

export async function resume(
  out: Output,
  api: ChronoverseClient,
  options: { workflow: string; json: boolean },
): Promise<number> {
  const before = await findWorkflow(api, options.workflow);
  const w = unwrap(await api.POST('/api/v1/workflows/{id}/resume', { params: { path: { id: before.id } } }));
  if (options.json) out.json(w);
  else if (before.paused_at === null) out.line(`workflow/${w.name} was not paused`);
  else out.line(`workflow/${w.name} resumed; next run ${w.next_run_at ?? 'when its build completes'}`);
  return 0;
}
