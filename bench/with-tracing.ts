/**
 * Preload that turns tracing on in a benchmark process the way `chronoverse start` does, from the
 * OTEL_* settings (docs/observability.md):
 *
 *   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 node --import ./bench/with-tracing.ts bench/engine.ts pickup 200 20
 *
 * Without an endpoint it installs nothing (tracing off, as in production).
 */
import { loadConfig } from '../src/config/load.ts';
import { initTracing } from '../src/platform/telemetry/tracing-sdk.ts';

const config = loadConfig();
const tracing = initTracing({
  endpoint: config.telemetry.otlpEndpoint,
  tracesEndpoint: config.telemetry.otlpTracesEndpoint,
  headers: config.telemetry.otlpHeaders,
  sampleRatio: config.telemetry.sampleRatio,
  roles: ['bench'],
  version: 'bench',
});
console.log(`tracing ${tracing.enabled ? 'on' : 'off'}`);
process.on('beforeExit', () => void tracing.shutdown());
