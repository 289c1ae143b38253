/**
 * Once per test run: a private Apache Kafka broker (test/helpers/kafka-broker.ts), handed to the
 * tests as `inject('kafkaBrokers')` ("127.0.0.1:port"). Tests isolate themselves with their own
 * topic prefix; the ones that stop the broker start one of their own.
 */
import type { TestProject } from 'vitest/node';
import { KafkaBroker } from './kafka-broker.ts';

export default async function setup(project: TestProject) {
  // Focused local runs that need no broker: CHRONOVERSE_TEST_KAFKA=off (Kafka tests then fail to connect).
  if (process.env.CHRONOVERSE_TEST_KAFKA === 'off') {
    project.provide('kafkaBrokers', '127.0.0.1:1');
    return;
  }
  const broker = await KafkaBroker.start();
  project.provide('kafkaBrokers', broker.brokers);
  return () => broker.destroy();
}

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
  }
}
