/**
 * A TCP port free on 127.0.0.1 right now, for servers the tests start as other processes.
 *
 * Chosen below the kernel's ephemeral range (ip_local_port_range, 32768–60999 on Linux): a port
 * the kernel hands out for `listen(0)` is also one it may give the next outgoing connection as its
 * local port, and the distributed end-to-end test starts 15 processes whose database, Kafka and
 * Redis pools connect while the port waits for its server. That happened in a CI run: an executor
 * exited with EADDRINUSE on a port freePort had just returned. Ports handed out by this process are
 * not handed out again, and each is checked by binding it.
 */
import { createServer } from 'node:net';

const LOW = 20_000;
const HIGH = 32_000;
const given = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let i = 0; i < 1_000; i++) {
    // Spread by the process id too: test files run in parallel worker processes.
    const port = LOW + ((Math.floor(Math.random() * (HIGH - LOW)) + process.pid) % (HIGH - LOW));
    if (given.has(port)) continue;
    given.add(port);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port between ${LOW} and ${HIGH} on 127.0.0.1`);
}
