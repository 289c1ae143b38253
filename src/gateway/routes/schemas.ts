/**
 * /api/v1/schemas: JSON Schemas of the documents Chronoverse reads, for editors and CI linters.
 * Public (no credentials): an editor fetches it by URL, e.g. with a `# yaml-language-server:
 * $schema=…` line at the top of a definition file (docs/cli.md).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { workflowDefinitionJsonSchema } from '../../domain/workflow-definition.ts';

export async function schemaRoutes(app: FastifyInstance): Promise<void> {
  // Built once: it depends on nothing but the code.
  const workflow = workflowDefinitionJsonSchema();
  app.get(
    '/schemas/workflow.json',
    {
      schema: {
        tags: ['definitions'],
        summary: 'JSON Schema of workflow definition files',
        description:
          'The documents `chronoverse apply -f` reads (apiVersion chronoverse/v1, kind Workflow), generated from the validators of POST /workflows. Also committed as docs/schemas/workflow.json.',
        response: { 200: z.record(z.string(), z.unknown()) },
      },
    },
    async (_req, reply) => reply.type('application/schema+json').send(workflow),
  );
}
