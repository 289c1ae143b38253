// @vitest-environment jsdom
/**
 * The viewer against a scripted EventSource (the browser's is not in jsdom): replayed and live
 * lines, repeats after a reconnect, status snapshots, `end`, filters, highlights and links.
 * jsdom has no layout, so the scroll area reports a fixed size for the virtualiser.
 */
import { act, cleanup, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EventSourceLike } from './job-stream.ts';
import { LogViewer } from './LogViewer.tsx';
import type { LogLine } from './types.ts';

class ScriptedEventSource implements EventSourceLike {
  static last: ScriptedEventSource | null = null;
  readyState = 0;
  closed = false;
  onopen: ((event: Event) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  readonly url: string;
  readonly #listeners = new Map<string, ((event: MessageEvent<string>) => void)[]>();

  constructor(url: string) {
    this.url = url;
    ScriptedEventSource.last = this;
  }
  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }
  close(): void {
    this.closed = true;
    this.readyState = 2;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }
  emit(type: string, data: unknown): void {
    const event = new MessageEvent<string>(type, { data: JSON.stringify(data) });
    for (const l of this.#listeners.get(type) ?? []) l(event);
  }
  drop(): void {
    this.readyState = 0;
    this.onerror?.(new Event('error'));
  }
}

const WF = '01900000-0000-7000-8000-000000000001';
const JOB = '01900000-0000-7000-8000-000000000002';
const line = (n: number, message = `line ${n}`, stream: LogLine['stream'] = 'stdout'): LogLine => ({
  sequence_num: n,
  stream,
  timestamp: '2026-01-01T10:00:00.000Z',
  message,
});

beforeAll(() => {
  // A 400 px tall, 800 px wide scroll area for the virtualiser.
  HTMLElement.prototype.getBoundingClientRect = function () {
    return {
      width: 800,
      height: 400,
      top: 0,
      left: 0,
      right: 800,
      bottom: 400,
      x: 0,
      y: 0,
      toJSON: () => ({}),
    };
  };
  Object.defineProperty(HTMLElement.prototype, 'offsetHeight', { configurable: true, get: () => 400 });
  Object.defineProperty(HTMLElement.prototype, 'offsetWidth', { configurable: true, get: () => 800 });
  Object.defineProperty(HTMLElement.prototype, 'clientHeight', { configurable: true, get: () => 400 });
  Object.defineProperty(HTMLElement.prototype, 'clientWidth', { configurable: true, get: () => 800 });
});
afterEach(() => {
  cleanup();
  ScriptedEventSource.last = null;
});

function setup(onStatus?: (job: unknown) => void) {
  const user = userEvent.setup();
  render(
    <LogViewer
      workflowId={WF}
      jobId={JOB}
      onStatus={onStatus}
      eventSource={(url) => new ScriptedEventSource(url)}
    />,
  );
  const es = ScriptedEventSource.last!;
  return { user, es };
}

/** Lets the per-frame flush run. */
async function flush() {
  await act(() => new Promise((r) => setTimeout(r, 40)));
}

const rows = () =>
  within(screen.getByRole('log', { name: 'Log lines' }))
    .queryAllByText(/^line |^err |^\{/)
    .map((el) => el.closest('.log-row')!.querySelector('.log-msg')!.textContent);

describe('LogViewer', () => {
  it('connects to the job events, merges replayed and live lines once each in order, and stops on end', async () => {
    const statuses: unknown[] = [];
    const { es } = setup((job) => statuses.push(job));
    expect(es.url).toBe(`/api/v1/workflows/${WF}/jobs/${JOB}/events`);
    act(() => es.open());
    expect(screen.getByRole('status')).toHaveProperty('textContent', 'Live');
    act(() => {
      es.emit('status', { id: JOB, status: 'RUNNING' });
      for (const n of [0, 1, 2]) es.emit('log', line(n));
    });
    await flush();
    expect(rows()).toEqual(['line 0', 'line 1', 'line 2']);

    // The connection drops; the browser reconnects and a line is repeated, one arrives late.
    act(() => es.drop());
    expect(screen.getByRole('status').textContent).toBe('Reconnecting…');
    act(() => {
      es.open();
      for (const n of [2, 4, 3]) es.emit('log', line(n));
    });
    await flush();
    expect(rows()).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4']);
    expect(screen.getByText('5 lines', { exact: false })).toBeTruthy();
    // The rows' bare times of day: the zone is said once.
    expect(screen.getByText('5 lines', { exact: false }).textContent).toContain(
      ` · times in ${Intl.DateTimeFormat().resolvedOptions().timeZone}`,
    );

    act(() => es.emit('end', { id: JOB, status: 'COMPLETED' }));
    expect(es.closed).toBe(true);
    expect(screen.getByRole('status').textContent).toBe('All lines loaded');
    expect(statuses).toEqual([
      { id: JOB, status: 'RUNNING' },
      { id: JOB, status: 'COMPLETED' },
    ]);
  });

  it('filters by stream and search, highlights matches as <mark> text, and downloads what is shown', async () => {
    const { es, user } = setup();
    act(() => {
      es.open();
      es.emit('log', line(0, 'line zero <b>bold</b> ZERO'));
      es.emit('log', line(1, 'err one', 'stderr'));
      es.emit('log', line(2, 'line two'));
      es.emit('end', { id: JOB, status: 'COMPLETED' });
    });
    await flush();
    expect(rows()).toEqual(['line zero <b>bold</b> ZERO', 'err one', 'line two']);

    await user.selectOptions(screen.getByLabelText('Stream'), 'stderr');
    expect(rows()).toEqual(['err one']);
    expect(screen.getByText('1 of 3 lines', { exact: false })).toBeTruthy();
    await user.selectOptions(screen.getByLabelText('Stream'), 'all');

    await user.type(screen.getByLabelText('Search logs'), 'zero');
    const log = screen.getByRole('log', { name: 'Log lines' });
    const marks = log.querySelectorAll('mark');
    expect([...marks].map((m) => m.textContent)).toEqual(['zero', 'ZERO']);
    // The markup in the message stays text.
    expect(log.querySelector('b')).toBeNull();
    expect(log.textContent).toContain('<b>bold</b>');
    expect(screen.getByText('1 of 3 lines', { exact: false })).toBeTruthy();

    const jsonl = screen.getByRole('link', { name: 'Download logs as jsonl' });
    const url = new URL(jsonl.getAttribute('href')!, 'http://x');
    expect(url.pathname).toBe(`/api/v1/workflows/${WF}/jobs/${JOB}/logs/raw`);
    expect(url.searchParams.get('format')).toBe('jsonl');
    expect(url.searchParams.get('q')).toBe('zero');
    expect(jsonl.getAttribute('download')).toBe(`${JOB}-logs.jsonl`);
  });

  it('pretty-prints JSON lines on request', async () => {
    const { es, user } = setup();
    act(() => {
      es.open();
      es.emit('log', line(0, '{"level":"info","n":1}'));
      es.emit('log', line(1, 'line plain'));
    });
    await flush();
    expect(rows()).toEqual(['{"level":"info","n":1}', 'line plain']);
    await user.click(screen.getByRole('checkbox', { name: 'Pretty-print JSON' }));
    expect(rows()).toEqual(['{\n  "level": "info",\n  "n": 1\n}', 'line plain']);
  });

  it('keeps the DOM small for 100,000 lines', async () => {
    const { es } = setup();
    act(() => {
      es.open();
      for (let n = 0; n < 100_000; n++) es.emit('log', line(n));
    });
    await flush();
    expect(screen.getByText('100,000 lines', { exact: false })).toBeTruthy();
    const mounted = screen.getByRole('log', { name: 'Log lines' }).querySelectorAll('.log-row').length;
    expect(mounted).toBeGreaterThan(0);
    expect(mounted).toBeLessThan(100);
  });

  it('says so when the server refuses the stream', () => {
    const { es } = setup();
    act(() => {
      es.readyState = 2;
      es.onerror?.(new Event('error'));
    });
    expect(screen.getByRole('status').textContent).toBe('Could not load the logs');
  });
});
