/**
 * The workflow state machine (api.md "Workflows": `status`). The state is one column,
 * `workflows.state` (migration 0028), written by every change of the lifecycle through a guarded
 * conditional UPDATE whose `state IN (…)` names this machine's `from` states for the event; zero
 * rows updated means someone else changed it first. What code asks ("is it running, paused,
 * terminated?") is read from that column, never pieced together from the timestamps.
 *
 * Beside the state stay facts of *when* (`terminated_at`, `paused_at`, `completed_at`, the pause
 * note) and the build's own progress (`build_status`, QUEUED → STARTED → COMPLETED | FAILED), which
 * the API shows as they are. The schema's CHECKs tie them to the state (0028).
 *
 *   create/edit ──▶ BUILDING ──buildCompleted──▶ ACTIVE ◀──resume── PAUSED
 *                     │  ▲                         └─────pause──────▶ ▲
 *          buildFailed│  │rebuild / edit                              │ buildCompleted
 *                     ▼  │                                            │ (paused while building)
 *                  BUILD_FAILED              any but TERMINATED ──terminate──▶ TERMINATED
 *   any but TERMINATED ──onceCompleted──▶ COMPLETED ──edit with a new schedule──▶ (reopened)
 *
 * A pause asked for while the workflow builds (or after its build failed) is kept as `paused_at`
 * and the state stays BUILDING (BUILD_FAILED): the API has always shown the build first. A build
 * that completes on such a workflow leaves it PAUSED, and a resume before that only clears the
 * pause. COMPLETED (a once schedule that ran) outranks the build: a completed workflow rebuilt
 * without a new schedule stays COMPLETED, since it will not run again; a new schedule reopens it.
 */
export const BUILD_STATUSES = ['QUEUED', 'STARTED', 'COMPLETED', 'FAILED', 'CANCELED'] as const;
export type BuildStatus = (typeof BUILD_STATUSES)[number];

/** The states of a workflow, which the API shows as its `status`. */
export const WORKFLOW_STATUSES = [
  'BUILDING',
  'ACTIVE',
  'PAUSED',
  'BUILD_FAILED',
  'TERMINATED',
  'COMPLETED',
] as const;
export type WorkflowStatus = (typeof WORKFLOW_STATUSES)[number];

/** The state of a new workflow: its build is queued with it. */
export const INITIAL_WORKFLOW_STATUS: WorkflowStatus = 'BUILDING';

export const WORKFLOW_EVENTS = [
  'buildQueued',
  'rebuild',
  'buildCompleted',
  'buildFailed',
  'reopen',
  'pause',
  'resume',
  'terminate',
  'onceCompleted',
] as const;
export type WorkflowEventType = (typeof WORKFLOW_EVENTS)[number];

/**
 * An event of the lifecycle, with the facts its next state depends on (read under the row's lock,
 * or in the UPDATE itself):
 * - buildQueued: an edit that rebuilds (a new image, an unfinished or failed build) or re-activates a
 *   terminated workflow. `completed`: the workflow keeps its `completed_at` (a once schedule that
 *   ran, edited without a new schedule): it stays COMPLETED.
 * - rebuild: POST …/rebuild of a FAILED build (`build_status` guards the build itself).
 * - buildCompleted / buildFailed: the build's end (FAILED or CANCELED). `paused`: a pause was asked
 *   for while it built.
 * - reopen: an edit that gives a completed workflow a new schedule without rebuilding it. `building`:
 *   a rebuild started before is still under way; `paused`: it is paused.
 * - pause / resume: by its owner or the failure policy (`pause_on_failure`).
 * - terminate: by its owner or at the failure limit.
 * - onceCompleted: a run of a once schedule finished after its fire time was taken.
 */
export type WorkflowEvent =
  | { type: 'buildQueued'; completed: boolean }
  | { type: 'rebuild' }
  | { type: 'buildCompleted'; paused: boolean }
  | { type: 'buildFailed' }
  | { type: 'reopen'; building: boolean; paused: boolean }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'terminate' }
  | { type: 'onceCompleted' };

const ALL = WORKFLOW_STATUSES;
const LIVE = ALL.filter((s) => s !== 'TERMINATED');

/** The states each event may leave: the `state IN (…)` guard of its UPDATE. */
export const WORKFLOW_FROM: Record<WorkflowEventType, readonly WorkflowStatus[]> = {
  buildQueued: ALL,
  /** COMPLETED: a completed once workflow whose later rebuild failed; it stays COMPLETED. */
  rebuild: ['BUILD_FAILED', 'COMPLETED'],
  buildCompleted: ['BUILDING', 'COMPLETED'],
  buildFailed: ['BUILDING', 'COMPLETED'],
  reopen: ['COMPLETED'],
  pause: ['BUILDING', 'ACTIVE', 'BUILD_FAILED', 'COMPLETED'],
  resume: ['BUILDING', 'PAUSED', 'BUILD_FAILED', 'COMPLETED'],
  terminate: LIVE,
  onceCompleted: LIVE,
};

export class IllegalWorkflowTransition {
  readonly from: WorkflowStatus;
  readonly event: WorkflowEventType;
  constructor(from: WorkflowStatus, event: WorkflowEventType) {
    this.from = from;
    this.event = event;
  }
}

/** The state after `event`, or an IllegalWorkflowTransition value (not thrown: callers decide). */
export function workflowTransition(
  from: WorkflowStatus,
  event: WorkflowEvent,
): WorkflowStatus | IllegalWorkflowTransition {
  if (!WORKFLOW_FROM[event.type].includes(from)) return new IllegalWorkflowTransition(from, event.type);
  switch (event.type) {
    case 'buildQueued':
      return event.completed ? 'COMPLETED' : 'BUILDING';
    case 'rebuild':
      return from === 'COMPLETED' ? 'COMPLETED' : 'BUILDING';
    case 'buildCompleted':
      if (from === 'COMPLETED') return 'COMPLETED';
      return event.paused ? 'PAUSED' : 'ACTIVE';
    case 'buildFailed':
      return from === 'COMPLETED' ? 'COMPLETED' : 'BUILD_FAILED';
    case 'reopen':
      if (event.building) return 'BUILDING';
      return event.paused ? 'PAUSED' : 'ACTIVE';
    case 'pause':
      return from === 'ACTIVE' ? 'PAUSED' : from;
    case 'resume':
      return from === 'PAUSED' ? 'ACTIVE' : from;
    case 'terminate':
      return 'TERMINATED';
    case 'onceCompleted':
      return 'COMPLETED';
  }
}

/** The state after `event`; throws when the caller's own guard should have ruled it out. */
export function nextWorkflowStatus(from: WorkflowStatus, event: WorkflowEvent): WorkflowStatus {
  const to = workflowTransition(from, event);
  if (to instanceof IllegalWorkflowTransition) {
    throw new Error(`workflow event ${event.type} is not allowed from ${from}`);
  }
  return to;
}

/**
 * The lifecycle event of an edit (PUT), or null when the state stays: one that rebuilds queues the
 * build (`completed`: the workflow keeps its completed_at after the edit); one that gives a
 * completed workflow a new schedule without rebuilding reopens it; any other leaves the state.
 */
export function editEvent(edit: {
  state: WorkflowStatus;
  rebuild: boolean;
  completed: boolean;
  buildStatus: BuildStatus;
  paused: boolean;
}): WorkflowEvent | null {
  if (edit.rebuild) return { type: 'buildQueued', completed: edit.completed };
  if (edit.state === 'COMPLETED' && !edit.completed) {
    return { type: 'reopen', building: edit.buildStatus === 'STARTED', paused: edit.paused };
  }
  return null;
}
