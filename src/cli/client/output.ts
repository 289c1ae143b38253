/**
 * What the client commands print. Machine output (names, tables, JSON, YAML, diffs) goes to
 * stdout and is the same on a terminal and in a pipe, except for colour; progress goes to stderr
 * and only on a terminal; colour only on a terminal and never with NO_COLOR.
 */
import { stringify } from 'yaml';
import type { Env } from './context.ts';

export interface Streams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

const CODES = { red: 31, green: 32, yellow: 33, cyan: 36, dim: 2, bold: 1 } as const;
export type Colour = keyof typeof CODES;

export class Output {
  readonly #streams: Streams;
  readonly colour: boolean;
  readonly progress: boolean;

  constructor(streams: Streams, env: Env) {
    this.#streams = streams;
    this.colour = Boolean(streams.stdout.isTTY) && env.NO_COLOR === undefined && env.TERM !== 'dumb';
    this.progress = Boolean(streams.stderr.isTTY);
  }

  paint(colour: Colour, text: string): string {
    return this.colour ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text;
  }

  /** A line of machine output. */
  line(text = ''): void {
    this.#streams.stdout.write(`${text}\n`);
  }

  raw(text: string): void {
    this.#streams.stdout.write(text);
  }

  /** A message for people (stderr): warnings, hints. */
  note(text: string): void {
    this.#streams.stderr.write(`${text}\n`);
  }

  /** Progress (stderr), on a terminal only. */
  status(text: string): void {
    if (this.progress) this.#streams.stderr.write(`${text}\n`);
  }

  json(value: unknown): void {
    this.line(JSON.stringify(value, null, 2));
  }

  yaml(value: unknown): void {
    this.raw(toYaml(value));
  }

  /** Left-aligned columns, two spaces apart, headers in capitals (as kubectl prints them). */
  table(headers: string[], rows: string[][]): void {
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const render = (cells: string[]) =>
      cells
        .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd();
    this.line(render(headers));
    for (const row of rows) this.line(render(row));
  }
}

/** YAML as the command line writes it: block style, no line folding, keys in the given order. */
export function toYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}
