/**
 * JSON pretty-printing for log lines that are JSON documents (structured loggers print one object
 * per line). Only objects and arrays count: a bare `42` or `"text"` is valid JSON but gains nothing.
 */
export function prettyJson(message: string): string | null {
  const trimmed = message.trim();
  const first = trimmed[0];
  const last = trimmed.at(-1);
  if (!((first === '{' && last === '}') || (first === '[' && last === ']'))) return null;
  try {
    return JSON.stringify(JSON.parse(trimmed), null, 2);
  } catch {
    return null;
  }
}
