/** A stored or live log line, as the API sends it (docs/api.md "Logs"). */
export interface LogLine {
  sequence_num: number;
  stream: LogStream;
  timestamp: string;
  message: string;
}

export const LOG_STREAMS = ['stdout', 'stderr'] as const;
export type LogStream = (typeof LOG_STREAMS)[number];

/** What the viewer shows: both streams or one. */
export type StreamFilter = 'all' | LogStream;

export const DOWNLOAD_FORMATS = ['txt', 'json', 'jsonl'] as const;
export type DownloadFormat = (typeof DOWNLOAD_FORMATS)[number];
