/**
 * `export [name…] [-l selector]`: workflows back to definition documents, canonical (the shortest
 * document that means each one; src/domain/workflow-definition.ts) and without the management
 * label `apply` adds: `export > all.yaml` then `apply -f all.yaml` changes nothing but that label.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { listWorkflows, type ChronoverseClient, type Workflow } from './api.ts';
import { documentsYaml, documentYaml, valuesOfWorkflow } from './documents.ts';
import { canonicalDefinition } from '../../domain/workflow-definition.ts';
import type { Output } from './output.ts';

export async function exportWorkflows(
  out: Output,
  api: ChronoverseClient,
  options: { names: string[]; selector?: string; format: 'yaml' | 'json'; dir?: string },
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
  if (options.dir !== undefined) return writeFiles(out, workflows, options.dir);
  if (options.format === 'json') {
    out.json(workflows.map((w) => canonicalDefinition(valuesOfWorkflow(w), { exported: true })));
  } else {
    out.raw(documentsYaml(workflows.map((w) => documentYaml(valuesOfWorkflow(w), { exported: true }))));
  }
  return 0;
}

/** A file name for a workflow name: lower case, runs of other characters as one `-`. */
export function fileNameOf(name: string): string {
  const slug = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 100);
  return slug || 'workflow';
}

/** One `<name>.yaml` per workflow in `dir` (two names with one file name get -2, -3…). */
async function writeFiles(out: Output, workflows: Workflow[], dir: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  const taken = new Set<string>();
  for (const w of workflows) {
    const base = fileNameOf(w.name);
    let file = `${base}.yaml`;
    for (let n = 2; taken.has(file); n++) file = `${base}-${n}.yaml`;
    taken.add(file);
    await writeFile(path.join(dir, file), documentYaml(valuesOfWorkflow(w), { exported: true }));
    out.line(`workflow/${w.name} exported to ${path.join(dir, file)}`);
  }
  return 0;
}
