/** chronoverse.workflows.v1.WorkflowsService served by a WorkflowsApi (the in-process WorkflowsService). */
import { BUILD_STATUSES } from '../../domain/workflow-status.ts';
import { WORKFLOW_KINDS } from '../../domain/workflow-input.ts';
import {
  BuildStatusSchema,
  WorkflowKindSchema,
  WorkflowsService,
} from '../../gen/chronoverse/workflows/v1/workflows_pb.js';
import { fromEnum } from '../../platform/rpc/codec.ts';
import type { ServiceRegistration } from '../../platform/rpc/registration.ts';
import type { WorkflowsApi } from './api.ts';
import type { WorkflowListFilters } from './service.ts';
import { ValidationError } from '../../domain/errors.ts';
import {
  bodyFromWire,
  previewToWire,
  ticksToWire,
  refusalToWire,
  resultsToWire,
  resultToWire,
  versionToWire,
  workflowToWire,
} from './wire.ts';
import { fromOptionalTimestamp } from '../../platform/rpc/codec.ts';
import { backfillToWire, createdToWire } from '../backfills/wire.ts';

export function workflowsRpc(workflows: WorkflowsApi): ServiceRegistration {
  return {
    typeName: WorkflowsService.typeName,
    register: (router) =>
      router.service(WorkflowsService, {
        createWorkflow: async (req) =>
          resultToWire(await workflows.create(req.userId, bodyFromWire(req.bodyJson), req.idempotencyKey)),
        createWorkflows: async (req) => {
          try {
            return resultsToWire(
              await workflows.createMany(req.userId, bodyFromWire(req.bodyJson), req.idempotencyKey),
            );
          } catch (err) {
            if (err instanceof ValidationError) return refusalToWire(err);
            throw err;
          }
        },
        listWorkflows: async (req) => {
          const filters: WorkflowListFilters = { limit: req.limit };
          if (req.cursor !== undefined) filters.cursor = req.cursor;
          if (req.query !== undefined) filters.query = req.query;
          if (req.kind !== undefined) filters.kind = fromEnum(WorkflowKindSchema, req.kind, WORKFLOW_KINDS);
          if (req.buildStatus !== undefined)
            filters.build_status = fromEnum(BuildStatusSchema, req.buildStatus, BUILD_STATUSES);
          if (req.terminated !== undefined) filters.terminated = req.terminated;
          if (req.intervalMin !== undefined) filters.interval_min = req.intervalMin;
          if (req.intervalMax !== undefined) filters.interval_max = req.intervalMax;
          if (req.labelSelector !== undefined) filters.labels = req.labelSelector;
          const page = await workflows.list(req.userId, filters);
          return {
            workflows: page.workflows.map(workflowToWire),
            ...(page.cursor !== null ? { cursor: page.cursor } : {}),
          };
        },
        getWorkflow: async (req) => ({
          workflow: workflowToWire(await workflows.get(req.userId, req.workflowId)),
        }),
        updateWorkflow: async (req) =>
          resultToWire(
            await workflows.update(
              req.userId,
              req.workflowId,
              bodyFromWire(req.bodyJson),
              req.idempotencyKey,
            ),
          ),
        terminateWorkflow: async (req) => ({
          workflow: workflowToWire(await workflows.terminate(req.userId, req.workflowId)),
        }),
        rebuildWorkflow: async (req) =>
          resultToWire(await workflows.rebuild(req.userId, req.workflowId, req.idempotencyKey)),
        deleteWorkflow: async (req) => {
          await workflows.delete(req.userId, req.workflowId);
          return {};
        },
        pauseWorkflow: async (req) => ({
          workflow: workflowToWire(
            await workflows.pause(req.userId, req.workflowId, bodyFromWire(req.bodyJson)),
          ),
        }),
        resumeWorkflow: async (req) => ({
          workflow: workflowToWire(await workflows.resume(req.userId, req.workflowId)),
        }),
        previewWorkflow: async (req) => {
          const from = fromOptionalTimestamp(req.from);
          return previewToWire(
            await workflows.preview(req.userId, req.workflowId, {
              count: req.count,
              ...(from !== null ? { from } : {}),
            }),
          );
        },
        previewSchedule: async (req) =>
          previewToWire(await workflows.previewSchedule(req.userId, bodyFromWire(req.bodyJson))),
        listWorkflowVersions: async (req) => {
          const page = await workflows.listVersions(req.userId, req.workflowId, {
            limit: req.limit,
            ...(req.cursor !== undefined ? { cursor: req.cursor } : {}),
          });
          return {
            versions: page.versions.map(versionToWire),
            ...(page.cursor !== null ? { cursor: page.cursor } : {}),
          };
        },
        getWorkflowVersion: async (req) => ({
          version: versionToWire(await workflows.getVersion(req.userId, req.workflowId, req.version)),
        }),
        restoreWorkflowVersion: async (req) =>
          resultToWire(
            await workflows.restoreVersion(req.userId, req.workflowId, req.version, req.idempotencyKey),
          ),
        listTicks: async (req) =>
          ticksToWire(
            await workflows.ticks(req.userId, req.workflowId, {
              limit: req.limit,
              ...(req.from !== undefined ? { from: req.from } : {}),
              ...(req.to !== undefined ? { to: req.to } : {}),
              ...(req.cursor !== undefined ? { cursor: req.cursor } : {}),
            }),
          ),
        createBackfill: async (req) =>
          createdToWire(await workflows.backfill(req.userId, req.workflowId, bodyFromWire(req.bodyJson))),
        listBackfills: async (req) => {
          const page = await workflows.listBackfills(req.userId, req.workflowId, {
            limit: req.limit,
            ...(req.cursor !== undefined ? { cursor: req.cursor } : {}),
          });
          return {
            backfills: page.backfills.map(backfillToWire),
            ...(page.cursor !== null ? { cursor: page.cursor } : {}),
          };
        },
        getBackfill: async (req) => ({
          backfill: backfillToWire(await workflows.getBackfill(req.userId, req.workflowId, req.backfillId)),
        }),
        cancelBackfill: async (req) => ({
          backfill: backfillToWire(
            await workflows.cancelBackfill(req.userId, req.workflowId, req.backfillId),
          ),
        }),
      }),
  };
}
