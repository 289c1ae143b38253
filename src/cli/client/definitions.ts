/**
 * Definition files (src/domain/workflow-definition.ts) as the command line reads them: YAML or
 * JSON (JSON is YAML), several documents per file separated by `---`, every `.yaml`, `.yml` and
 * `.json` file of a folder in name order. Every problem is reported at once, each at
 * `file:line:column` of the value (or key) it is about, found through the `yaml` package's source
 * ranges, so an editor or CI log links straight to it.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  type Document,
  type Node,
} from 'yaml';
import {
  checkDefinition,
  formatDefinitionPath,
  type DefinitionIssue,
  type DefinitionPath,
  type WorkflowDefinitionValues,
} from '../../domain/workflow-definition.ts';

export interface Position {
  file: string;
  line: number;
  col: number;
}

export interface DefinitionError extends Position {
  message: string;
}

export interface LoadedDefinition {
  /** Where the document starts. */
  at: Position;
  /** The `POST /workflows` body it stands for. */
  body: Record<string, unknown>;
  values: WorkflowDefinitionValues;
  /** Where a document path is (the nearest part of it that exists). */
  locate(path: DefinitionPath): Position;
}

export function formatError(e: DefinitionError): string {
  return `${e.file}:${e.line}:${e.col}: ${e.message}`;
}

/** `issue` as an error at its place in the document. */
export function issueAt(locate: (p: DefinitionPath) => Position, issue: DefinitionIssue): DefinitionError {
  const where = formatDefinitionPath(issue.path);
  return { ...locate(issue.path), message: where ? `${where} ${issue.message}` : issue.message };
}

/**
 * The node at `target` (a value, or the key of an empty value), or, when the path does not exist
 * (a missing field), the deepest node on the way to it.
 */
function nodeAt(doc: Document, target: DefinitionPath): Node | null {
  let node = (doc.contents as Node | null) ?? null;
  for (const segment of target) {
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment),
      );
      if (!pair) return node;
      node = ((pair.value as Node | null)?.range ? pair.value : pair.key) as Node;
    } else if (isSeq(node) && typeof segment === 'number' && node.items[segment]) {
      node = node.items[segment] as Node;
    } else {
      return node;
    }
  }
  return node;
}

/** The key node of the last segment of `path` when it exists (unknown-field errors point at keys). */
function keyAt(doc: Document, target: DefinitionPath): Node | null {
  const parent = target.length > 1 ? nodeAt(doc, target.slice(0, -1)) : (doc.contents as Node | null);
  if (!isMap(parent)) return null;
  const last = target.at(-1);
  const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(last));
  return (pair?.key as Node | undefined) ?? null;
}

/** Parses the definitions of one file's text. */
export function parseDefinitions(
  text: string,
  file: string,
  now: Date = new Date(0),
): { definitions: LoadedDefinition[]; errors: DefinitionError[] } {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const positionOf = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col };
  };
  const definitions: LoadedDefinition[] = [];
  const errors: DefinitionError[] = [];
  if (!Array.isArray(docs)) return { definitions, errors };
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      for (const e of doc.errors)
        errors.push({ ...positionOf(e.pos[0]), message: e.message.split('\n')[0]! });
      continue;
    }
    // An empty document (a trailing `---`, a file of comments) is no workflow.
    if (doc.contents === null) continue;
    const start = positionOf(doc.contents.range?.[0] ?? 0);
    const locate = (p: DefinitionPath): Position => {
      const node = nodeAt(doc, p);
      return node?.range ? positionOf(node.range[0]) : start;
    };
    const checked = checkDefinition(doc.toJS({ maxAliasCount: 100 }), now);
    if (!checked.ok) {
      for (const issue of checked.issues) {
        // Unknown or misplaced fields and bad label keys are about the key, not its value.
        const aboutKey =
          issue.message === 'is not a known field' ||
          issue.message.startsWith('belongs in') ||
          (issue.path[1] === 'labels' && issue.message.startsWith('key '));
        const keyNode = aboutKey ? keyAt(doc, issue.path) : null;
        errors.push(
          keyNode?.range
            ? {
                ...positionOf(keyNode.range[0]),
                message: `${formatDefinitionPath(issue.path)} ${issue.message}`,
              }
            : issueAt(locate, issue),
        );
      }
      continue;
    }
    definitions.push({ at: start, body: checked.body, values: checked.values, locate });
  }
  // In the file's order, as an editor lists them.
  errors.sort((a, b) => a.line - b.line || a.col - b.col);
  return { definitions, errors };
}

const EXTENSIONS = ['.yaml', '.yml', '.json'];

/** The definition files `-f` names: files as given, folders' definition files in name order. */
async function filesOf(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const p of paths) {
    const info = await stat(p);
    if (info.isDirectory()) {
      const names = (await readdir(p))
        .filter((n) => EXTENSIONS.includes(path.extname(n).toLowerCase()))
        .sort();
      files.push(...names.map((n) => path.join(p, n)));
    } else {
      files.push(p);
    }
  }
  return files;
}

/**
 * Every definition of `paths` (files and folders), and every problem of them, including two
 * documents with one name (apply finds workflows by name).
 */
export async function loadDefinitions(
  paths: string[],
): Promise<{ definitions: LoadedDefinition[]; errors: DefinitionError[]; files: string[] }> {
  const files = await filesOf(paths);
  const definitions: LoadedDefinition[] = [];
  const errors: DefinitionError[] = [];
  for (const file of files) {
    const parsed = parseDefinitions(await readFile(file, 'utf8'), file);
    definitions.push(...parsed.definitions);
    errors.push(...parsed.errors);
  }
  const seen = new Map<string, LoadedDefinition>();
  for (const d of definitions) {
    const first = seen.get(d.values.name);
    if (first) {
      errors.push({
        ...d.locate(['metadata', 'name']),
        message: `metadata.name "${d.values.name}" is also defined at ${first.at.file}:${first.at.line}:${first.at.col}`,
      });
    } else {
      seen.set(d.values.name, d);
    }
  }
  return { definitions, errors, files };
}
