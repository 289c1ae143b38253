/**
 * Once per test run: a private redis-server on a free port (test/helpers/redis-server.ts), handed
 * to the tests as `inject('redisUrl')`. Tests isolate themselves with their own key prefix; the
 * ones that stop Redis start a server of their own.
 */
import type { TestProject } from 'vitest/node';
import { RedisServer } from './redis-server.ts';

export default async function setup(project: TestProject) {
  const server = await RedisServer.start();
  project.provide('redisUrl', server.url);
  return () => server.destroy();
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
