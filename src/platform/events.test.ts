import { describe, expect, it } from 'vitest';
import { Events, type EventName } from './events.ts';

describe('Events interest and observers', () => {
  it('reports a name as interesting from its first listener to its last, through on and next', async () => {
    const events = new Events();
    const changes: Array<[EventName, boolean]> = [];
    events.watchInterest((name, interested) => changes.push([name, interested]));
    expect(events.interested('schedules:changed')).toBe(false);

    const offA = events.on('schedules:changed', () => {});
    const offB = events.on('schedules:changed', () => {});
    expect(events.interested('schedules:changed')).toBe(true);
    offA();
    expect(events.interested('schedules:changed')).toBe(true);
    offB();
    expect(events.interested('schedules:changed')).toBe(false);

    const next = events.next('outbox:written');
    expect(events.interested('outbox:written')).toBe(true);
    events.emit('outbox:written', { count: 1 });
    await next;
    expect(events.interested('outbox:written')).toBe(false);

    expect(changes.filter(([name]) => name !== ('error' as EventName))).toEqual([
      ['schedules:changed', true],
      ['schedules:changed', false],
      ['outbox:written', true],
      ['outbox:written', false],
    ]);
  });

  it('shows every emitted event to observers, which do not count as interest', () => {
    const events = new Events();
    const seen: Array<[EventName, unknown]> = [];
    const stop = events.observe((name, payload) => seen.push([name, payload]));
    expect(events.interested('jobs:runnable')).toBe(false);
    events.emit('jobs:runnable', { count: 2 });
    events.emit('executor:job:released', { jobId: 'j' });
    stop();
    events.emit('jobs:runnable', { count: 3 });
    expect(seen).toEqual([
      ['jobs:runnable', { count: 2 }],
      ['executor:job:released', { jobId: 'j' }],
    ]);
  });

  it('keeps emitting to listeners and observers after one of them throws', () => {
    const events = new Events();
    const seen: string[] = [];
    events.observe(() => {
      throw new Error('observer');
    });
    events.observe((name) => seen.push(`observer:${name}`));
    events.on('jobs:runnable', () => seen.push('listener'));
    events.emit('jobs:runnable', { count: 1 });
    expect(seen).toEqual(['listener', 'observer:jobs:runnable']);
  });
});
