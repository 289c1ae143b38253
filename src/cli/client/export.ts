/**
 * `export [name…] [-l selector]`: workflows back to definition documents, canonical (the shortest
 * document that means each one; src/domain/workflow-definition.ts) and without the management
 * label `apply` adds: `export > all.yaml` then `apply -f all.yaml` changes nothing but that label.
 */
import { listWorkflows, type ChronoverseClient } from './api.ts';
import { documentsYaml, documentYaml, valuesOfWorkflow } from './documents.ts';
import { canonicalDefinition } from '../../domain/workflow-definition.ts';
import type { Output } from './output.ts';

export async function exportWorkflows(
  out: Output,
  api: ChronoverseClient,
  options: { names: string[]; selector?: string; format: 'yaml' | 'json' },
): Promise<number> {
  let workflows = await listWorkflows(api, options.selector ? { labels: options.selector } : {});
  if (options.names.length > 0) {
    const missing = options.names.filter((n) => !workflows.some((w) => w.name === n));
    if (missing.length > 0) {
      out.note(`no workflow named ${missing.map((n) => `"${n}"`).join(', ')}`);
      return 1;
    }
    workflows = workflows.filter((w) => options.names.includes(w.name));
  }
  // Oldest first: the order they were created in, stable from one export to the next.
  workflows.reverse();
  if (options.format === 'json') {
    out.json(workflows.map((w) => canonicalDefinition(valuesOfWorkflow(w), { exported: true })));
  } else {
    out.raw(documentsYaml(workflows.map((w) => documentYaml(valuesOfWorkflow(w), { exported: true }))));
  }
  return 0;
}
