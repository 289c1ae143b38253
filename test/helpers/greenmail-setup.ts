/**
 * Once per test run: a private GreenMail SMTP server (test/helpers/greenmail.ts), handed to the
 * tests as `inject('greenmail')` ({ smtpPort, apiPort } on 127.0.0.1). Tests isolate themselves by
 * recipient address; the ones that stop SMTP start a server of their own.
 */
import type { TestProject } from 'vitest/node';
import { GreenMail, type GreenMailAddress } from './greenmail.ts';

export default async function setup(project: TestProject) {
  // Focused local runs that need no SMTP server: CHRONOVERSE_TEST_GREENMAIL=off (email tests then fail).
  if (process.env.CHRONOVERSE_TEST_GREENMAIL === 'off') {
    project.provide('greenmail', { smtpPort: 1, apiPort: 1 });
    return;
  }
  const server = await GreenMail.start();
  project.provide('greenmail', { smtpPort: server.smtpPort, apiPort: server.apiPort });
  return () => server.destroy();
}

declare module 'vitest' {
  export interface ProvidedContext {
    greenmail: GreenMailAddress;
  }
}
