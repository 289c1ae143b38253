/**
 * A DAG definition as text in the editor: YAML (JSON is YAML too, so either parses), the line a
 * validation issue's path points at, and the text an existing definition starts from.
 */
import { LineCounter, parseDocument, stringify, isNode } from 'yaml';

export type ParsedDefinition =
  { ok: true; value: unknown } | { ok: false; message: string; line: number | null };

/** Parses the editor's text; an empty text is no definition (null), which the validator names. */
export function parseDefinition(text: string): ParsedDefinition {
  if (text.trim() === '') return { ok: true, value: null };
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const error = doc.errors[0];
  if (error) {
    const line = error.linePos?.[0]?.line ?? lineCounter.linePos(error.pos[0]).line;
    return { ok: false, message: `is not valid YAML or JSON: ${error.message.split('\n')[0]}`, line };
  }
  return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) as unknown };
}

/**
 * The 1-based line of the text that each path (an API issue path such as
 * `payload.tasks.2.depends`) points at: the deepest part of it the text has; null when not even
 * the first part is found. The text is parsed once for all the paths.
 */
export function linesOfPaths(text: string, paths: readonly string[]): (number | null)[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) return paths.map(() => null);
  return paths.map((path) => {
    const parts = path.split('.');
    if (parts[0] === 'payload') parts.shift();
    const keys = parts.map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    for (let n = keys.length; n > 0; n--) {
      const node = doc.getIn(keys.slice(0, n), true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return null;
  });
}

/** A stored definition as the editor shows it: YAML, in the payload's own key order. */
export function definitionText(payload: unknown): string {
  return payload === null || payload === undefined ? '' : stringify(payload, { lineWidth: 0 });
}

/** One line of the text, for context beside an issue. */
export function lineText(text: string, line: number): string {
  return text.split('\n')[line - 1] ?? '';
}
