/**
 * The job log viewer: live over SSE while the job runs, then the retained lines (the stream
 * replays them and ends), virtualised so 100,000 lines keep a constant DOM size (only the visible
 * rows plus an overscan are mounted). Follow-tail keeps the newest line in view until the user
 * scrolls away; scrolling back to the bottom turns it on again.
 *
 * No user text becomes HTML: messages are React text, search matches are <mark> elements around
 * plain segments (highlight.ts), pretty JSON is text in a pre-wrapped block.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { browserZone } from '../../lib/format.ts';
import {
  memo,
  useDeferredValue,
  useEffect,
  useId,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
} from 'react';
import { DOWNLOAD_FORMATS, type LogLine, type StreamFilter } from './types.ts';
import { logsDownloadName, logsDownloadUrl } from './download.ts';
import { filterLines } from './filter.ts';
import { highlight } from './highlight.ts';
import { prettyJson } from './json.ts';
import { LogBuffer } from './line-buffer.ts';
import { useJobStream, type EventSourceFactory, type StreamState } from './job-stream.ts';
import './logs.css';

const ROW_HEIGHT = 20;
const MAX_QUERY = 200;

const STATE_TEXT: Record<StreamState, string> = {
  connecting: 'Connecting…',
  open: 'Live',
  reconnecting: 'Reconnecting…',
  ended: 'All lines loaded',
  failed: 'Could not load the logs',
};

export interface LogViewerProps {
  workflowId: string;
  jobId: string;
  /** Job snapshots from the stream (`status` and `end` events). */
  onStatus?: (job: unknown) => void;
  /** For tests: the EventSource to use. */
  eventSource?: EventSourceFactory;
}

export function LogViewer({ workflowId, jobId, onStatus, eventSource }: LogViewerProps) {
  // One buffer per mounted viewer: render it with `key={jobId}` so another job starts empty.
  const [buffer] = useState(() => new LogBuffer());
  const snapshot = useSyncExternalStore(buffer.subscribe, buffer.getSnapshot);
  const state = useJobStream({ workflowId, jobId, buffer, onStatus, eventSource });

  const [stream, setStream] = useState<StreamFilter>('all');
  const [query, setQuery] = useState('');
  const [pretty, setPretty] = useState(false);
  const [follow, setFollow] = useState(true);
  // Typing stays responsive on 100k lines: filtering runs on the deferred value.
  const deferredQuery = useDeferredValue(query);

  const lines = useMemo(
    () => filterLines(snapshot.lines, { stream, query: deferredQuery }),
    [snapshot, stream, deferredQuery],
  );
  const count = lines.length;

  const scrollRef = useRef<HTMLDivElement>(null);
  const userScrolling = useRef(false);
  // The compiler skips this component (the virtualizer's functions are not memoisable); LogRow is
  // memoised by hand instead.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: lines.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 20,
    getItemKey: (index) => lines[index]?.sequence_num ?? index,
  });

  useEffect(() => {
    if (follow && count > 0) virtualizer.scrollToIndex(count - 1, { align: 'end' });
  }, [follow, count, virtualizer]);

  const onScroll = () => {
    const el = scrollRef.current;
    if (!el || !userScrolling.current) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < ROW_HEIGHT;
    if (atBottom !== follow) setFollow(atBottom);
  };
  const markUserScroll = () => {
    userScrolling.current = true;
  };

  const ids = { search: useId(), stream: useId(), status: useId() };
  const total = snapshot.lines.length;
  const filtered = stream !== 'all' || deferredQuery !== '';

  return (
    <section className="log-viewer" aria-label="Logs">
      <div className="log-toolbar" role="toolbar" aria-label="Log controls">
        <label htmlFor={ids.search}>Search logs</label>
        <input
          id={ids.search}
          type="search"
          value={query}
          maxLength={MAX_QUERY}
          placeholder="Search"
          onChange={(e) => setQuery(e.target.value)}
        />
        <label htmlFor={ids.stream}>Stream</label>
        <select id={ids.stream} value={stream} onChange={(e) => setStream(e.target.value as StreamFilter)}>
          <option value="all">stdout and stderr</option>
          <option value="stdout">stdout</option>
          <option value="stderr">stderr</option>
        </select>
        <label className="log-check">
          <input type="checkbox" checked={pretty} onChange={(e) => setPretty(e.target.checked)} />
          Pretty-print JSON
        </label>
        <label className="log-check">
          <input
            type="checkbox"
            checked={follow}
            onChange={(e) => {
              userScrolling.current = false;
              setFollow(e.target.checked);
            }}
          />
          Follow tail
        </label>
        <span className="log-downloads" role="group" aria-label="Download logs">
          Download:
          {DOWNLOAD_FORMATS.map((format) => (
            <a
              key={format}
              href={logsDownloadUrl(workflowId, jobId, format, { stream, query: deferredQuery })}
              download={logsDownloadName(jobId, format)}
              aria-label={`Download logs as ${format}`}
            >
              {format}
            </a>
          ))}
        </span>
      </div>
      <p className="log-status" id={ids.status}>
        <span role="status" data-state={state}>
          {STATE_TEXT[state]}
        </span>
        {' · '}
        {filtered
          ? `${lines.length.toLocaleString()} of ${total.toLocaleString()} lines`
          : `${total.toLocaleString()} lines`}
        {/* The rows show a bare time of day: say once which zone it is in. */}
        {` · times in ${browserZone()}`}
      </p>
      <div
        ref={scrollRef}
        className="log-scroll"
        role="log"
        aria-label="Log lines"
        aria-describedby={ids.status}
        aria-live="off"
        tabIndex={0}
        onScroll={onScroll}
        onWheel={markUserScroll}
        onTouchMove={markUserScroll}
        onKeyDown={markUserScroll}
        onPointerDown={markUserScroll}
      >
        {lines.length === 0 ? (
          <p className="log-empty">
            {state === 'ended' || state === 'failed'
              ? filtered
                ? 'No matching lines.'
                : 'No log lines.'
              : 'Waiting for output…'}
          </p>
        ) : (
          <div className="log-rows" style={{ height: virtualizer.getTotalSize() }}>
            {virtualizer.getVirtualItems().map((item) => {
              const line = lines[item.index]!;
              return (
                <div
                  key={item.key}
                  data-index={item.index}
                  ref={virtualizer.measureElement}
                  className="log-row"
                  style={{ transform: `translateY(${item.start}px)` }}
                >
                  <LogRow line={line} query={deferredQuery} pretty={pretty} />
                </div>
              );
            })}
          </div>
        )}
      </div>
    </section>
  );
}

const TIME = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  fractionalSecondDigits: 3,
  hour12: false,
});

/** One line: sequence number, time, stream and the (highlighted, maybe pretty) message. */
export const LogRow = memo(function LogRow({
  line,
  query,
  pretty,
}: {
  line: LogLine;
  query: string;
  pretty: boolean;
}) {
  const json = pretty ? prettyJson(line.message) : null;
  const text = json ?? line.message;
  return (
    <>
      <span className="log-seq" aria-hidden="true">
        {line.sequence_num}
      </span>
      <time className="log-time" dateTime={line.timestamp}>
        {TIME.format(new Date(line.timestamp))}
      </time>
      <span className={`log-stream log-${line.stream}`}>{line.stream}</span>
      <span className={json ? 'log-msg log-json' : 'log-msg'}>
        {query === ''
          ? text
          : highlight(text, query).map((s, i) =>
              s.match ? <mark key={i}>{s.text}</mark> : <span key={i}>{s.text}</span>,
            )}
      </span>
    </>
  );
});
