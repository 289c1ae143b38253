import { matcherFor } from './highlight.ts';
import type { LogLine, StreamFilter } from './types.ts';

export interface LineFilter {
  stream: StreamFilter;
  /** Case-insensitive literal substring; '' shows every line. */
  query: string;
}

/**
 * The lines to show. Without a filter the input array itself is returned (no 100k-line copy).
 * The query is matched against the message as stored, like the server's search and download.
 */
export function filterLines(lines: readonly LogLine[], filter: LineFilter): readonly LogLine[] {
  const re = matcherFor(filter.query);
  if (filter.stream === 'all' && !re) return lines;
  return lines.filter((line) => {
    if (filter.stream !== 'all' && line.stream !== filter.stream) return false;
    if (!re) return true;
    re.lastIndex = 0;
    return re.test(line.message);
  });
}
