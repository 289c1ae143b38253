import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BUILD_STATUSES,
  editEvent,
  IllegalWorkflowTransition,
  INITIAL_WORKFLOW_STATUS,
  nextWorkflowStatus,
  WORKFLOW_EVENTS,
  WORKFLOW_FROM,
  WORKFLOW_STATUSES,
  workflowTransition,
  type BuildStatus,
  type WorkflowEvent,
  type WorkflowEventType,
  type WorkflowStatus,
} from './workflow-status.ts';

/** Every event with every value of its facts. */
function variants(type: WorkflowEventType): WorkflowEvent[] {
  switch (type) {
    case 'buildQueued':
      return [
        { type, completed: false },
        { type, completed: true },
      ];
    case 'buildCompleted':
      return [
        { type, paused: false },
        { type, paused: true },
      ];
    case 'reopen':
      return [
        { type, building: false, paused: false },
        { type, building: false, paused: true },
        { type, building: true, paused: false },
        { type, building: true, paused: true },
      ];
    case 'rebuild':
    case 'buildFailed':
    case 'pause':
    case 'resume':
    case 'terminate':
    case 'onceCompleted':
      return [{ type }];
  }
}

const label = (e: WorkflowEvent) =>
  `${e.type}${Object.entries(e)
    .filter(([k]) => k !== 'type')
    .map(([k, v]) => ` ${k}=${String(v)}`)
    .join('')}`;

/** The table, written out by hand: [from, event, to]; every pair not listed is illegal. */
const EXPECTED: [WorkflowStatus, string, WorkflowStatus][] = [
  ...WORKFLOW_STATUSES.flatMap((s): [WorkflowStatus, string, WorkflowStatus][] => [
    [s, 'buildQueued completed=false', 'BUILDING'],
    [s, 'buildQueued completed=true', 'COMPLETED'],
  ]),
  ['BUILD_FAILED', 'rebuild', 'BUILDING'],
  ['COMPLETED', 'rebuild', 'COMPLETED'],
  ['BUILDING', 'buildCompleted paused=false', 'ACTIVE'],
  ['BUILDING', 'buildCompleted paused=true', 'PAUSED'],
  ['COMPLETED', 'buildCompleted paused=false', 'COMPLETED'],
  ['COMPLETED', 'buildCompleted paused=true', 'COMPLETED'],
  ['BUILDING', 'buildFailed', 'BUILD_FAILED'],
  ['COMPLETED', 'buildFailed', 'COMPLETED'],
  ['COMPLETED', 'reopen building=false paused=false', 'ACTIVE'],
  ['COMPLETED', 'reopen building=false paused=true', 'PAUSED'],
  ['COMPLETED', 'reopen building=true paused=false', 'BUILDING'],
  ['COMPLETED', 'reopen building=true paused=true', 'BUILDING'],
  ['ACTIVE', 'pause', 'PAUSED'],
  ['BUILDING', 'pause', 'BUILDING'],
  ['BUILD_FAILED', 'pause', 'BUILD_FAILED'],
  ['COMPLETED', 'pause', 'COMPLETED'],
  ['PAUSED', 'resume', 'ACTIVE'],
  ['BUILDING', 'resume', 'BUILDING'],
  ['BUILD_FAILED', 'resume', 'BUILD_FAILED'],
  ['COMPLETED', 'resume', 'COMPLETED'],
  ...(['BUILDING', 'ACTIVE', 'PAUSED', 'BUILD_FAILED', 'COMPLETED'] as const).flatMap(
    (s): [WorkflowStatus, string, WorkflowStatus][] => [
      [s, 'terminate', 'TERMINATED'],
      [s, 'onceCompleted', 'COMPLETED'],
    ],
  ),
];

describe('workflow state machine', () => {
  const cases = WORKFLOW_STATUSES.flatMap((from) =>
    WORKFLOW_EVENTS.flatMap((type) => variants(type).map((event) => [from, label(event), event] as const)),
  );
  it.each(cases)('%s --%s-->', (from, name, event) => {
    const expected = EXPECTED.find(([f, e]) => f === from && e === name)?.[2];
    const result = workflowTransition(from, event);
    if (expected) expect(result).toBe(expected);
    else expect(result).toEqual(new IllegalWorkflowTransition(from, event.type));
  });

  it('allows an event exactly from its `from` states (the SQL guards)', () => {
    for (const type of WORKFLOW_EVENTS) {
      for (const from of WORKFLOW_STATUSES) {
        const legal = variants(type).map(
          (e) => !(workflowTransition(from, e) instanceof IllegalWorkflowTransition),
        );
        expect(new Set(legal)).toEqual(new Set([WORKFLOW_FROM[type].includes(from)]));
      }
    }
  });

  it('nextWorkflowStatus: the state after a legal event; throws for one the caller should have ruled out', () => {
    expect(nextWorkflowStatus('ACTIVE', { type: 'pause' })).toBe('PAUSED');
    expect(() => nextWorkflowStatus('TERMINATED', { type: 'pause' })).toThrow(
      /pause is not allowed from TERMINATED/,
    );
  });

  it('editEvent: a rebuild queues the build; a new schedule reopens a completed workflow; else nothing', () => {
    const edit = {
      state: 'ACTIVE' as const,
      rebuild: false,
      completed: false,
      buildStatus: 'COMPLETED' as const,
      paused: false,
    };
    expect(editEvent(edit)).toBeNull();
    expect(editEvent({ ...edit, rebuild: true, completed: true })).toEqual({
      type: 'buildQueued',
      completed: true,
    });
    expect(editEvent({ ...edit, state: 'COMPLETED', completed: true })).toBeNull();
    expect(editEvent({ ...edit, state: 'COMPLETED', buildStatus: 'STARTED', paused: true })).toEqual({
      type: 'reopen',
      building: true,
      paused: true,
    });
  });

  it('TERMINATED is left only by an edit, which rebuilds', () => {
    const leaving = WORKFLOW_EVENTS.filter((t) => WORKFLOW_FROM[t].includes('TERMINATED'));
    expect(leaving).toEqual(['buildQueued']);
  });
});

/**
 * The four facts the status used to be derived from, changed as the services change them, and
 * the precedence that derived it (terminated > completed > build outcome > paused > active).
 * The machine, fed the events those writes are, must always agree with it: the state column
 * shows users what the derived status showed.
 */
interface Facts {
  terminated: boolean;
  completed: boolean;
  build: BuildStatus;
  paused: boolean;
}

function derived(f: Facts): WorkflowStatus {
  if (f.terminated) return 'TERMINATED';
  if (f.completed) return 'COMPLETED';
  switch (f.build) {
    case 'QUEUED':
    case 'STARTED':
      return 'BUILDING';
    case 'FAILED':
    case 'CANCELED':
      return 'BUILD_FAILED';
    case 'COMPLETED':
      return f.paused ? 'PAUSED' : 'ACTIVE';
  }
}

/** What migration 0028's CHECKs require of a row. */
function consistent(state: WorkflowStatus, f: Facts): boolean {
  return (
    (state === 'TERMINATED') === f.terminated &&
    (state === 'COMPLETED') === (f.completed && !f.terminated) &&
    (state !== 'ACTIVE' || (f.build === 'COMPLETED' && !f.paused)) &&
    (state !== 'PAUSED' || (f.build === 'COMPLETED' && f.paused)) &&
    (state !== 'BUILDING' || f.build === 'QUEUED' || f.build === 'STARTED') &&
    (state !== 'BUILD_FAILED' || f.build === 'FAILED' || f.build === 'CANCELED')
  );
}

type Op =
  | { op: 'edit'; scheduleChanged: boolean; imageChanged: boolean }
  | { op: 'postRebuild' }
  | { op: 'buildStarted' }
  | { op: 'buildEnd'; status: 'COMPLETED' | 'FAILED' | 'CANCELED' }
  | { op: 'pause' }
  | { op: 'resume' }
  | { op: 'terminate' }
  | { op: 'onceRunFinished' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('edit' as const), scheduleChanged: fc.boolean(), imageChanged: fc.boolean() }),
  fc.constant({ op: 'postRebuild' as const }),
  fc.constant({ op: 'buildStarted' as const }),
  fc.record({
    op: fc.constant('buildEnd' as const),
    status: fc.constantFrom('COMPLETED' as const, 'FAILED' as const, 'CANCELED' as const),
  }),
  fc.constant({ op: 'pause' as const }),
  fc.constant({ op: 'resume' as const }),
  fc.constant({ op: 'terminate' as const }),
  fc.constant({ op: 'onceRunFinished' as const }),
);

/**
 * One write as the code makes it: the facts it changes (as before the state column) and the event
 * it gives the machine (null: the lifecycle does not change), with the same preconditions.
 */
function apply(f: Facts, state: WorkflowStatus, o: Op): { facts: Facts; event: WorkflowEvent | null } | null {
  switch (o.op) {
    case 'edit': {
      const rebuild = o.imageChanged || f.terminated || (f.build !== 'COMPLETED' && f.build !== 'STARTED');
      const completed = o.scheduleChanged ? false : f.completed;
      const facts: Facts = { ...f, terminated: false, completed, build: rebuild ? 'QUEUED' : f.build };
      return {
        facts,
        event: editEvent({ state, rebuild, completed, buildStatus: f.build, paused: f.paused }),
      };
    }
    case 'postRebuild':
      if (state === 'TERMINATED' || f.build !== 'FAILED') return null;
      return { facts: { ...f, build: 'QUEUED' }, event: { type: 'rebuild' } };
    case 'buildStarted':
      if (state === 'TERMINATED' || f.build !== 'QUEUED') return null;
      return { facts: { ...f, build: 'STARTED' }, event: null };
    case 'buildEnd':
      if (state === 'TERMINATED' || (f.build !== 'QUEUED' && f.build !== 'STARTED')) return null;
      return {
        facts: { ...f, build: o.status },
        event:
          o.status === 'COMPLETED' ? { type: 'buildCompleted', paused: f.paused } : { type: 'buildFailed' },
      };
    case 'pause':
      if (state === 'TERMINATED' || f.paused) return null;
      return { facts: { ...f, paused: true }, event: { type: 'pause' } };
    case 'resume':
      if (state === 'TERMINATED' || !f.paused) return null;
      return { facts: { ...f, paused: false }, event: { type: 'resume' } };
    case 'terminate':
      if (state === 'TERMINATED') return null;
      return { facts: { ...f, terminated: true }, event: { type: 'terminate' } };
    case 'onceRunFinished':
      if (state === 'TERMINATED') return null;
      return { facts: { ...f, completed: true }, event: { type: 'onceCompleted' } };
  }
}

describe('workflow state machine against the derived status', () => {
  it('keeps the state the four facts gave, through any sequence of writes', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        let facts: Facts = { terminated: false, completed: false, build: 'QUEUED', paused: false };
        let state = INITIAL_WORKFLOW_STATUS;
        expect(state).toBe(derived(facts));
        for (const o of ops) {
          const step = apply(facts, state, o);
          if (step === null) continue;
          if (step.event !== null) {
            const to = workflowTransition(state, step.event);
            expect(to, `${state} --${step.event.type}-->`).not.toBeInstanceOf(IllegalWorkflowTransition);
            state = to as WorkflowStatus;
          }
          facts = step.facts;
          expect(state).toBe(derived(facts));
          expect(consistent(state, facts)).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('the CHECKs of 0028 admit exactly the derived state of any facts', () => {
    for (const build of BUILD_STATUSES) {
      for (const terminated of [false, true]) {
        for (const completed of [false, true]) {
          for (const paused of [false, true]) {
            const facts = { terminated, completed, build, paused };
            expect(WORKFLOW_STATUSES.filter((s) => consistent(s, facts))).toEqual([derived(facts)]);
          }
        }
      }
    }
  });
});
