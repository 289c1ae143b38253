/**
 * The outputs of a DAG task (issue 12): the values downstream tasks read through
 * `{{tasks.<name>.outputs.<key>}}` (task-references.ts).
 *
 * - A CONTAINER task prints `::output key=value` lines (the value is the rest of the line, as
 *   printed, possibly empty) and may write a JSON object to `/chronoverse/outputs.json`. Both are
 *   merged: lines in order (a later line wins), then the file (the file wins, being written on
 *   purpose at the end of the run).
 * - A HEARTBEAT task has `status` (the HTTP status) and, when the answer is JSON, `body` (the
 *   parsed value). An answer that is not JSON has no `body`: text bodies would be unbounded and
 *   rarely what a downstream task wants.
 *
 * Outputs are limited to OUTPUTS_MAX_BYTES per task, counted as the UTF-8 bytes of their JSON
 * form (which is how they are stored). Over the limit is a problem naming the size, which the
 * caller turns into the task's failure: silently cutting outputs would run the next task on
 * wrong values.
 */
import { OUTPUT_KEY } from './task-references.ts';

/** 64 KiB per task (issue 12): small enough to keep in a row, large enough for ids, URLs and lists. */
export const OUTPUTS_MAX_BYTES = 64 * 1024;

const OUTPUT_LINE = /^::output ([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;

export type TaskOutputValues = Record<string, unknown>;

export type OutputsProblem =
  { kind: 'too_large'; bytes: number; limit: number } | { kind: 'invalid_file'; reason: string };

export type OutputsResult = { ok: true; outputs: TaskOutputValues } | { ok: false; problem: OutputsProblem };

/** The output a log line sets, or null for any other line (a `\r` before the line end is dropped). */
export function outputLine(line: string): { key: string; value: string } | null {
  const match = OUTPUT_LINE.exec(line.endsWith('\r') ? line.slice(0, -1) : line);
  return match === null ? null : { key: match[1]!, value: match[2]! };
}

const encoder = new TextEncoder();

/** UTF-8 bytes of the JSON form of outputs, as they will be stored. */
export function outputsBytes(outputs: TaskOutputValues): number {
  return encoder.encode(JSON.stringify(outputs)).length;
}

function tooLarge(bytes: number): OutputsResult {
  return { ok: false, problem: { kind: 'too_large', bytes, limit: OUTPUTS_MAX_BYTES } };
}

/**
 * A container's outputs from its log lines and the text of its outputs file (null: none was
 * written). Lines are read as they come; reading stops at the first line that takes the outputs
 * over the limit, so a runaway task does not make the caller hold its whole log.
 */
export function containerOutputs(lines: Iterable<string>, outputsFile: string | null): OutputsResult {
  // A null-prototype object: a key such as `__proto__` or `constructor` is just a key here.
  const outputs: TaskOutputValues = Object.create(null) as TaskOutputValues;
  // The JSON size kept exact line by line (`{}`, each `"key":value`, commas between), so a log of
  // a million output lines costs a million small encodes, not a million re-serializations.
  const entryBytes = new Map<string, number>();
  let entriesBytes = 0;
  for (const line of lines) {
    const output = outputLine(line);
    if (output === null) continue;
    const size = encoder.encode(JSON.stringify(output.key) + JSON.stringify(output.value)).length + 1;
    entriesBytes += size - (entryBytes.get(output.key) ?? 0);
    entryBytes.set(output.key, size);
    outputs[output.key] = output.value;
    const bytes = 2 + entriesBytes + Math.max(0, entryBytes.size - 1);
    if (bytes > OUTPUTS_MAX_BYTES) return tooLarge(bytes);
  }
  if (outputsFile !== null) {
    // A file may be indented, so its text may exceed the limit its compact JSON meets; twice the
    // limit is room enough, and parsing megabytes only to refuse them would be waste.
    const fileBytes = encoder.encode(outputsFile).length;
    if (fileBytes > OUTPUTS_MAX_BYTES * 2) return tooLarge(fileBytes);
    let parsed: unknown;
    try {
      parsed = JSON.parse(outputsFile);
    } catch {
      return { ok: false, problem: { kind: 'invalid_file', reason: 'is not valid JSON' } };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return { ok: false, problem: { kind: 'invalid_file', reason: 'must hold a JSON object of outputs' } };
    }
    for (const [key, value] of Object.entries(parsed)) {
      if (!OUTPUT_KEY.test(key)) {
        return {
          ok: false,
          problem: {
            kind: 'invalid_file',
            reason: `has the key '${key}', which is not an output name (letters, digits and '_', not starting with a digit)`,
          },
        };
      }
      outputs[key] = value;
    }
  }
  const total = outputsBytes(outputs);
  if (total > OUTPUTS_MAX_BYTES) return tooLarge(total);
  return { ok: true, outputs: { ...outputs } };
}

/** Whether a Content-Type names JSON (`application/json`, `application/problem+json`, …). */
function isJsonType(contentType: string | null): boolean {
  if (contentType === null) return false;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^[a-z]+\/[a-z0-9.+-]*\+json$/.test(type);
}

/**
 * A heartbeat's outputs: `status`, and `body` when the answer says it is JSON and parses as JSON
 * (one that does not parse simply has no `body`; the heartbeat's own check decides success).
 */
export function heartbeatOutputs(answer: {
  status: number;
  contentType: string | null;
  body: string | null;
}): OutputsResult {
  const outputs: TaskOutputValues = { status: answer.status };
  if (answer.body !== null && isJsonType(answer.contentType)) {
    const bodyBytes = encoder.encode(answer.body).length;
    if (bodyBytes > OUTPUTS_MAX_BYTES * 2) return tooLarge(bodyBytes);
    try {
      outputs.body = JSON.parse(answer.body) as unknown;
    } catch {
      // Not JSON after all: no body output.
    }
  }
  const total = outputsBytes(outputs);
  if (total > OUTPUTS_MAX_BYTES) return tooLarge(total);
  return { ok: true, outputs };
}

/** A problem as one sentence for the task's error. */
export function outputsProblemMessage(problem: OutputsProblem): string {
  return problem.kind === 'too_large'
    ? `outputs are ${problem.bytes} bytes, over the limit of ${problem.limit} bytes (64 KiB) per task`
    : `/chronoverse/outputs.json ${problem.reason}`;
}
