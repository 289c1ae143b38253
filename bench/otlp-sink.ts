/**
 * A minimal OTLP/HTTP receiver for the tracing overhead benchmark: accepts `POST /v1/traces`
 * (JSON), counts spans, answers 200. Run it as its own process beside a benchmark:
 *
 *   node bench/otlp-sink.ts [port=4318]
 *
 * Prints the span count every 5 s and on exit.
 */
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 4318);
let spans = 0;
let requests = 0;
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    requests += 1;
    try {
      const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: unknown[] }> }>;
      };
      for (const rs of doc.resourceSpans ?? [])
        for (const ss of rs.scopeSpans ?? []) spans += ss.spans?.length ?? 0;
    } catch {
      // not JSON: counted as a request only
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
server.listen(port, '127.0.0.1', () => console.log(`otlp sink on http://127.0.0.1:${port}`));
const report = () => console.log(`otlp sink: ${spans} spans in ${requests} requests`);
setInterval(report, 5_000).unref();
process.on('SIGTERM', () => (report(), process.exit(0)));
process.on('SIGINT', () => (report(), process.exit(0)));
