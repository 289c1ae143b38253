/**
 * The one workflows method the generic adapter does not carry as is (service-adapter.ts
 * MethodOverride): a bulk create refused for its items answers the refusal as a message and the
 * client rethrows it, because an RPC error's details travel in gRPC trailers and the issues of
 * 10,000 bad items (about 1 MB) break the HTTP/2 header limits (test/rpc/bulk.test.ts).
 */
import { ValidationError, type FieldIssue } from '../../domain/errors.ts';
import type { Overrides } from '../../platform/rpc/service-adapter.ts';
import type { WorkflowsApi } from './api.ts';

export const workflowsOverrides: Overrides<WorkflowsApi> = {
  createMany: {
    serve: async (api, [userId, body, idempotencyKey]) => {
      try {
        return { result: await api.createMany(userId as string, body, idempotencyKey as string | undefined) };
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        return { invalid: { message: err.message, issues: err.issues } };
      }
    },
    answer: (response) => {
      const invalid = response.invalid as { message: string; issues: FieldIssue[] } | null;
      if (invalid) throw new ValidationError(invalid.issues, invalid.message);
      return response.result;
    },
  },
};
