/**
 * The workflows and jobs services as the API calls them, on a test database, with the outbound
 * policy letting heartbeats reach the tests' own HTTP targets on 127.0.0.1 (private networks
 * allowed, as the engine tests run).
 */
import { CONTAINER_POLICY_DEFAULTS } from '../../src/domain/container-policy.ts';
import { systemClock } from '../../src/platform/clock.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { Events } from '../../src/platform/events.ts';
import { JobsService } from '../../src/services/jobs/service.ts';
import { WorkflowsService } from '../../src/services/workflows/service.ts';

export function createServices(database: Database): {
  workflows: WorkflowsService;
  jobs: JobsService;
  events: Events;
} {
  const events = new Events();
  const workflows = new WorkflowsService(
    database.db,
    systemClock,
    {
      idempotencyTtlMs: 60_000,
      policy: {
        outbound: { allowPrivateNetworks: true, ownPorts: new Set(), ownAddresses: new Set() },
        containers: CONTAINER_POLICY_DEFAULTS,
      },
    },
    events,
  );
  const jobs = new JobsService(database.db, systemClock, events, { idempotencyTtlMs: 60_000 });
  return { workflows, jobs, events };
}
