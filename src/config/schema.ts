/**
 * The configuration tree. Every leaf has its default, a description and the one environment
 * variable it is read from; `loadConfig` is the only reader of the environment and
 * `docs/configuration.md` is generated from this file (`npm run docs:config`, checked by a test).
 */
import { DEFAULT_ALLOWED_REGISTRIES, registryEntryProblem } from '../domain/container-policy.ts';
import { parseDuration } from '../domain/duration.ts';
import { QUOTA_BOUNDS, QUOTA_DEFAULTS } from '../domain/quotas.ts';
import { formatTrustedProxies, parseTrustedProxies } from '../domain/trusted-proxies.ts';

export interface Leaf<T> {
  env: string;
  default: T;
  description: string;
  /** Parses the raw text; throws an Error whose message says what is wrong. */
  parse: (raw: string) => T;
  /**
   * A secret is never printed (`chronoverse config print`, logs): `value` hides the whole value,
   * `url-password` only the password of a URL (the host stays visible for debugging).
   */
  secret?: 'value' | 'url-password';
}

function leaf<T>(spec: Leaf<T>): Leaf<T> {
  return spec;
}

const str = (env: string, def: string, description: string, secret?: Leaf<string>['secret']) =>
  leaf({ env, default: def, description, parse: (s) => s, ...(secret ? { secret } : {}) });

function int(env: string, def: number, description: string, min: number, max: number): Leaf<number> {
  return leaf({
    env,
    default: def,
    description: `${description} (${min}–${max})`,
    parse: (raw) => {
      if (!/^-?\d+$/.test(raw.trim())) throw new Error(`must be a whole number, got "${raw}"`);
      const n = Number(raw);
      if (n < min || n > max) throw new Error(`must be between ${min} and ${max}, got ${n}`);
      return n;
    },
  });
}

function number(env: string, def: number, description: string, min: number, max: number): Leaf<number> {
  return leaf({
    env,
    default: def,
    description: `${description} (${min}–${max})`,
    parse: (raw) => {
      const n = Number(raw.trim());
      if (raw.trim() === '' || !Number.isFinite(n)) throw new Error(`must be a number, got "${raw}"`);
      if (n < min || n > max) throw new Error(`must be between ${min} and ${max}, got ${n}`);
      return n;
    },
  });
}

function bool(env: string, def: boolean, description: string): Leaf<boolean> {
  return leaf({
    env,
    default: def,
    description,
    parse: (raw) => {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      throw new Error(`must be true or false, got "${raw}"`);
    },
  });
}

/** A duration ("15m", "24h") stored in milliseconds. */
function duration(env: string, def: string, description: string, minMs: number): Leaf<number> {
  return leaf({
    env,
    default: parseDuration(def)!,
    description: `${description} (a duration such as "${def}")`,
    parse: (raw) => {
      const ms = parseDuration(raw.trim());
      if (ms === null) throw new Error(`must be a duration such as "30s", "15m" or "24h", got "${raw}"`);
      if (ms < minMs) throw new Error(`must be at least ${minMs} ms, got "${raw}"`);
      return ms;
    },
  });
}

function oneOf<const T extends string>(
  env: string,
  def: T,
  description: string,
  values: readonly T[],
): Leaf<T> {
  return leaf({
    env,
    default: def,
    description: `${description} (one of ${values.join(', ')})`,
    parse: (raw) => {
      const v = raw.trim() as T;
      if (!values.includes(v)) throw new Error(`must be one of ${values.join(', ')}, got "${raw}"`);
      return v;
    },
  });
}

/** A retention such as "90d" or "720h", in milliseconds (days are allowed here, not in payload durations). */
function retention(env: string, def: string, description: string, minMs: number): Leaf<number> {
  const parse = (raw: string) => {
    const v = raw.trim();
    const days = /^(\d{1,5})d$/.exec(v);
    const ms = days ? Number(days[1]) * 86_400_000 : parseDuration(v);
    if (ms === null)
      throw new Error(`must be a number of days such as "90d" or a duration such as "720h", got "${raw}"`);
    if (ms < minMs) throw new Error(`must be at least ${minMs} ms, got "${raw}"`);
    return ms;
  };
  return leaf({ env, default: parse(def), description: `${description} (such as "${def}")`, parse });
}

/** Image registry hosts, comma-separated (src/domain/container-policy.ts says what matches). */
function registries(env: string, def: readonly string[], description: string): Leaf<readonly string[]> {
  return leaf({
    env,
    default: def,
    description,
    parse: (raw) => {
      const entries = raw
        .split(',')
        .map((e) => e.trim().toLowerCase())
        .filter((e) => e !== '');
      const problems = entries.flatMap((e) => registryEntryProblem(e) ?? []);
      if (problems.length > 0) throw new Error(problems.join('; '));
      return [...new Set(entries)];
    },
  });
}

function databaseUrl(env: string): Leaf<string> {
  return leaf({
    env,
    default: '',
    secret: 'url-password',
    description:
      'PostgreSQL connection URL (postgres://user:pass@host:5432/db). Empty: the embedded PGlite database in DATA_DIR.',
    parse: (raw) => {
      const v = raw.trim();
      if (v === '') return v;
      let url: URL;
      try {
        url = new URL(v);
      } catch {
        throw new Error('must be a URL such as postgres://user:password@localhost:5432/chronoverse');
      }
      if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
        throw new Error(`must use the postgres:// scheme, got "${url.protocol}"`);
      }
      return v;
    },
  });
}

export const CONFIG_SCHEMA = {
  server: {
    host: str(
      'HOST',
      'localhost',
      'Address the HTTP server binds to. Use 0.0.0.0 to accept remote connections.',
    ),
    port: int('PORT', 8080, 'HTTP port of the gateway (0 picks a free port)', 0, 65535),
    bodyLimitBytes: int(
      'CHRONOVERSE_SERVER_BODY_LIMIT_BYTES',
      1_048_576,
      'Largest accepted request body in bytes; larger bodies get 413',
      1024,
      64 * 1_048_576,
    ),
    bodyTimeoutMs: duration(
      'CHRONOVERSE_SERVER_BODY_TIMEOUT',
      '30s',
      'Longest time a client may take to send a whole request, headers and body; a slower one gets 408 and its connection is closed',
      1_000,
    ),
    trustProxy: leaf({
      env: 'CHRONOVERSE_SERVER_TRUST_PROXY',
      default: '',
      description:
        'Reverse proxies whose X-Forwarded-For/-Proto the gateway believes: their addresses and CIDR blocks ("127.0.0.1,10.0.0.0/8", "loopback"), or the number of proxies every request passes ("1"). The client address is the right-most hop that is not a trusted proxy (per-address limits, logs, the audit log); https from a trusted proxy makes cookies Secure. Empty: none. "true" (trust every client) is refused.',
      parse: (raw) => formatTrustedProxies(parseTrustedProxies(raw)),
    }),
  },
  ops: {
    port: int(
      'CHRONOVERSE_OPS_PORT',
      0,
      'HTTP port of /healthz and /readyz on a process that runs no gateway (0: none). The gateway serves them on PORT.',
      0,
      65535,
    ),
    host: str('CHRONOVERSE_OPS_HOST', '127.0.0.1', 'Address the operations HTTP server binds to'),
  },
  database: {
    url: databaseUrl('DATABASE_URL'),
    dataDir: str(
      'DATA_DIR',
      './.chronoverse/data',
      'Directory of the embedded PGlite database (when DATABASE_URL is empty)',
    ),
    poolSize: int('CHRONOVERSE_DATABASE_POOL_SIZE', 10, 'PostgreSQL connections per process', 1, 200),
    pgliteSharedBuffersMb: int(
      'CHRONOVERSE_PGLITE_SHARED_BUFFERS_MB',
      32,
      "shared_buffers of the embedded PGlite database, in MiB: its page cache, resident in this process from the start (PostgreSQL's default, 128, costs about 100 MiB more RSS; the operating system caches the files as well)",
      1,
      1024,
    ),
  },
  auth: {
    sessionTtlMs: duration('CHRONOVERSE_AUTH_SESSION_TTL', '24h', 'Lifetime of a login session', 60_000),
    patDefaultDays: int(
      'CHRONOVERSE_AUTH_PAT_DEFAULT_DAYS',
      90,
      'Lifetime of a personal access token created without expires_in_days',
      1,
      365,
    ),
    signup: oneOf(
      'CHRONOVERSE_SIGNUP',
      'auto',
      'Who may create an account: open (anyone), invite (holders of an invitation an administrator created), closed (administrators create accounts). auto: open when this process serves the API on a loopback HOST (localhost, 127.0.0.1, ::1), invite otherwise. Administrators can override it over the API; the first account of an empty installation can always register',
      ['auto', 'open', 'invite', 'closed'] as const,
    ),
    loginFreeFailures: int(
      'CHRONOVERSE_AUTH_LOGIN_FREE_FAILURES',
      3,
      'Failed logins per (email, client address) within the login window before each further attempt from that address waits (progressive delay); other addresses are never affected',
      1,
      1_000,
    ),
    loginDelayMs: duration(
      'CHRONOVERSE_AUTH_LOGIN_DELAY',
      '5s',
      'First wait after the free failures of an (email, client address); it doubles with every further failure, up to the login window',
      100,
    ),
    loginMaxFailuresPerIp: int(
      'CHRONOVERSE_AUTH_LOGIN_MAX_FAILURES_PER_IP',
      50,
      'Failed logins allowed per client address (any email) within the login window before 429',
      1,
      100_000,
    ),
    loginWindowMs: duration(
      'CHRONOVERSE_AUTH_LOGIN_WINDOW',
      '15m',
      'Window over which failed logins are counted',
      1_000,
    ),
    registerMaxPerIp: int(
      'CHRONOVERSE_AUTH_REGISTER_MAX_PER_IP',
      10,
      'Registrations (successful or not) allowed per client address within the registration window before 429',
      1,
      100_000,
    ),
    registerWindowMs: duration(
      'CHRONOVERSE_AUTH_REGISTER_WINDOW',
      '1h',
      'Window over which registrations are counted per client address',
      1_000,
    ),
  },
  audit: {
    retentionMs: retention(
      'CHRONOVERSE_AUDIT_RETENTION',
      '90d',
      'How long audit log entries are kept; older ones are deleted by the housekeeping of the outbox-relay role, in batches',
      86_400_000,
    ),
  },
  artifacts: {
    dir: str(
      'CHRONOVERSE_ARTIFACTS_DIR',
      '',
      'Directory of the artifact store when CHRONOVERSE_ARTIFACTS_S3_BUCKET is empty. Empty: `artifacts` beside DATA_DIR (./.chronoverse/artifacts by default). The executor writes it and the gateway reads it, so processes on several machines need the S3 store (or a shared filesystem)',
    ),
    s3Endpoint: str(
      'CHRONOVERSE_ARTIFACTS_S3_ENDPOINT',
      '',
      "URL of an S3-compatible server (http://minio:9000). Empty: AWS S3's endpoint for the region",
    ),
    s3Bucket: str(
      'CHRONOVERSE_ARTIFACTS_S3_BUCKET',
      '',
      'Bucket that keeps artifacts (it must exist). Empty: the directory store (CHRONOVERSE_ARTIFACTS_DIR)',
    ),
    s3Region: str('CHRONOVERSE_ARTIFACTS_S3_REGION', 'us-east-1', 'Region of the bucket (signs requests)'),
    s3AccessKeyId: str(
      'CHRONOVERSE_ARTIFACTS_S3_ACCESS_KEY_ID',
      '',
      "Access key id of the S3 credentials. Empty: the AWS SDK's default chain (environment, instance role)",
    ),
    s3SecretAccessKey: str(
      'CHRONOVERSE_ARTIFACTS_S3_SECRET_ACCESS_KEY',
      '',
      'Secret access key matching CHRONOVERSE_ARTIFACTS_S3_ACCESS_KEY_ID',
      'value',
    ),
    s3ForcePathStyle: bool(
      'CHRONOVERSE_ARTIFACTS_S3_FORCE_PATH_STYLE',
      false,
      'Address the bucket as <endpoint>/<bucket> instead of <bucket>.<endpoint> (MinIO and most self-hosted servers)',
    ),
    maxArtifactMb: int(
      'CHRONOVERSE_ARTIFACTS_MAX_ARTIFACT_MB',
      1024,
      'Largest artifact (the tar of one declared path), in MiB; a larger one fails the job (USER error naming it) and nothing of it is kept',
      1,
      1_048_576,
    ),
    maxJobMb: int(
      'CHRONOVERSE_ARTIFACTS_MAX_JOB_MB',
      5120,
      'Most artifact bytes one attempt of a job may keep, in MiB; the artifact that goes over fails the job and nothing of it is kept',
      1,
      1_048_576,
    ),
    retentionMs: retention(
      'CHRONOVERSE_ARTIFACTS_RETENTION',
      '30d',
      'How long artifacts are kept; older ones (objects and rows) are deleted by the housekeeping of the outbox-relay role',
      3_600_000,
    ),
    downloadUrlTtlMs: duration(
      'CHRONOVERSE_ARTIFACTS_DOWNLOAD_URL_TTL',
      '5m',
      'Validity of the presigned download URLs the API hands out with the S3 store',
      1_000,
    ),
  },
  workflows: {
    idempotencyTtlMs: duration(
      'CHRONOVERSE_IDEMPOTENCY_TTL',
      '24h',
      'How long an Idempotency-Key is remembered',
      60_000,
    ),
  },
  quotas: {
    maxWorkflows: int(
      'CHRONOVERSE_QUOTA_MAX_WORKFLOWS',
      QUOTA_DEFAULTS.max_workflows,
      'Workflows a user may have (terminated ones count until deleted); one more is a 409. Default of users with the role user (administrators: no limit), overridden per user by PUT /admin/users/{id}/quotas. 0: no limit',
      QUOTA_BOUNDS.max_workflows.min,
      QUOTA_BOUNDS.max_workflows.max,
    ),
    runsPerMinute: int(
      'CHRONOVERSE_QUOTA_RUNS_PER_MINUTE',
      QUOTA_DEFAULTS.runs_per_minute,
      'Manual runs and retries a user may ask for through the API in any 60 seconds; more is a 429 with Retry-After. Scheduled runs do not count. Default of users (as above). 0: no limit',
      QUOTA_BOUNDS.runs_per_minute.min,
      QUOTA_BOUNDS.runs_per_minute.max,
    ),
    minScheduleSeconds: int(
      'CHRONOVERSE_QUOTA_MIN_SCHEDULE_SECONDS',
      QUOTA_DEFAULTS.min_schedule_seconds,
      'Shortest time in seconds a schedule may leave between two runs: an interval or a cron (with seconds, say) that runs more often is a 400 at create and at a schedule change. Default of users (as above). 0: no minimum',
      QUOTA_BOUNDS.min_schedule_seconds.min,
      QUOTA_BOUNDS.min_schedule_seconds.max,
    ),
    maxConcurrentContainers: int(
      'CHRONOVERSE_QUOTA_MAX_CONCURRENT_CONTAINERS',
      QUOTA_DEFAULTS.max_concurrent_containers,
      "CONTAINER jobs of one user running at once across all executors; the executors' claim leaves the user's others queued until one finishes. Default of users (as above). 0: no limit",
      QUOTA_BOUNDS.max_concurrent_containers.min,
      QUOTA_BOUNDS.max_concurrent_containers.max,
    ),
  },
  scheduler: {
    batchSize: int(
      'CHRONOVERSE_SCHEDULER_BATCH_SIZE',
      1000,
      'Due workflows claimed per scheduler transaction',
      1,
      100_000,
    ),
    ledger: bool(
      'CHRONOVERSE_SCHEDULER_LEDGER',
      true,
      'Record every fire time of every schedule and what became of it (the tick ledger, GET /workflows/{id}/ticks), in the transaction of the tick; off: no ledger rows and paused workflows are not read by the scheduler (for comparing the cost, docs/performance.md)',
    ),
    missedAlertAfterMs: duration(
      'CHRONOVERSE_SCHEDULER_MISSED_ALERT_AFTER',
      '60s',
      'Missed-fire alert: when a due fire time of a workflow has not started this long after it (no scheduler ran it, no executor took its run, or the workflow is not built), one ALERT notification and one schedule.missed webhook event per workflow and incident. Detected by the outbox-relay role; 0s: off',
      0,
    ),
  },
  executor: {
    heartbeatConcurrency: int(
      'CHRONOVERSE_EXECUTOR_HEARTBEAT_CONCURRENCY',
      256,
      'HEARTBEAT jobs one executor runs at once (an HTTP request each: an I/O wait, so hundreds fit)',
      1,
      10_000,
    ),
    containerConcurrency: int(
      'CHRONOVERSE_EXECUTOR_CONTAINER_CONCURRENCY',
      4,
      'CONTAINER jobs one executor runs at once (a process each on the container host: size it to its cores and memory)',
      1,
      1_000,
    ),
    leaseMs: duration(
      'CHRONOVERSE_EXECUTOR_LEASE',
      '30s',
      'Lease of a running job; a job whose executor stops renewing is rescued after it',
      3_000,
    ),
    defaultCpus: number(
      'CHRONOVERSE_EXECUTOR_DEFAULT_CPUS',
      1,
      'CPUs for a container that does not set resources.cpus',
      0.01,
      64,
    ),
    defaultMemoryMb: int(
      'CHRONOVERSE_EXECUTOR_DEFAULT_MEMORY_MB',
      512,
      'Memory limit (MiB) for a container that does not set resources.memory_mb',
      6,
      262_144,
    ),
    defaultPids: int(
      'CHRONOVERSE_EXECUTOR_DEFAULT_PIDS',
      256,
      'Process limit for a container that does not set resources.pids',
      1,
      32_768,
    ),
  },
  logs: {
    retentionDays: int(
      'CHRONOVERSE_LOGS_RETENTION_DAYS',
      30,
      'Days job log lines are kept; whole days are dropped. Tick ledger entries (GET /workflows/{id}/ticks) are kept as long',
      1,
      3650,
    ),
  },
  outbound: {
    allowPrivateNetworks: bool(
      'CHRONOVERSE_OUTBOUND_ALLOW_PRIVATE_NETWORKS',
      false,
      "Let every user's heartbeats and webhooks reach loopback, private (RFC 1918), carrier-grade NAT, unique-local and other internal addresses (administrators always may). Link-local and cloud metadata addresses and this server's own listeners stay refused for everyone. For trusted installations only",
    ),
  },
  webhooks: {
    allowPrivateNetworks: bool(
      'CHRONOVERSE_WEBHOOKS_ALLOW_PRIVATE_NETWORKS',
      false,
      'Deprecated: use CHRONOVERSE_OUTBOUND_ALLOW_PRIVATE_NETWORKS. Still honoured for webhooks only (as if that setting were true for them); link-local and cloud metadata addresses are refused whatever its value',
    ),
    timeoutMs: duration(
      'CHRONOVERSE_WEBHOOKS_TIMEOUT',
      '10s',
      'Deadline of one webhook request (connect, send, answer)',
      100,
    ),
    concurrency: int(
      'CHRONOVERSE_WEBHOOKS_CONCURRENCY',
      16,
      'Webhook requests one process sends at once (deliveries claimed per round)',
      1,
      1000,
    ),
    retryBaseMs: duration(
      'CHRONOVERSE_WEBHOOKS_RETRY_BASE',
      '30s',
      'Wait before the first retry of a failed delivery; doubles each attempt (with ±20% jitter)',
      100,
    ),
    retryMaxMs: duration(
      'CHRONOVERSE_WEBHOOKS_RETRY_MAX',
      '1h',
      'Longest wait between two attempts of a delivery',
      100,
    ),
    maxAgeMs: duration(
      'CHRONOVERSE_WEBHOOKS_MAX_AGE',
      '24h',
      'A delivery still failing this long after it was created is marked FAILED (redeliver on demand)',
      1_000,
    ),
    retentionMs: duration(
      'CHRONOVERSE_WEBHOOKS_RETENTION',
      '720h',
      'Finished deliveries (and their attempt history) older than this are deleted',
      3_600_000,
    ),
    pollIntervalMs: duration(
      'CHRONOVERSE_WEBHOOKS_POLL_INTERVAL',
      '5s',
      'How often the sender looks for due retries when nothing woke it',
      100,
    ),
  },
  email: {
    smtpUrl: leaf({
      env: 'CHRONOVERSE_SMTP_URL',
      default: '',
      description:
        'SMTP server that sends notification emails: smtp://user:password@host:587 (STARTTLS as CHRONOVERSE_SMTP_STARTTLS says) or smtps://user:password@host:465 (TLS from the start); percent-encode special characters of the user and password. Empty: email is off (subscriptions to EMAIL queue nothing; in-app notifications and webhooks are unaffected)',
      secret: 'url-password',
      parse: (raw) => {
        const v = raw.trim();
        if (v === '') return '';
        let url: URL;
        try {
          url = new URL(v);
        } catch {
          throw new Error('must be a URL such as smtp://user:password@smtp.example.com:587');
        }
        if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
          throw new Error(`must start with smtp:// or smtps://, got ${url.protocol}//`);
        }
        if (url.hostname === '') throw new Error('must name a host');
        return v;
      },
    }),
    from: str(
      'CHRONOVERSE_SMTP_FROM',
      'Chronoverse <chronoverse@localhost>',
      'From header of notification emails, e.g. "Chronoverse <alerts@example.com>" (an address your SMTP server may send as)',
    ),
    starttls: oneOf(
      'CHRONOVERSE_SMTP_STARTTLS',
      'required',
      'With an smtp:// URL: required = refuse to log in or send unless the server upgrades to TLS (STARTTLS); auto = upgrade when the server offers it; off = never (a relay on this machine). Ignored with smtps://',
      ['required', 'auto', 'off'] as const,
    ),
    tlsVerify: bool(
      'CHRONOVERSE_SMTP_TLS_VERIFY',
      true,
      "Check the SMTP server's TLS certificate (chain and host name). Turn off only for a test server",
    ),
    tlsCaFile: str(
      'CHRONOVERSE_SMTP_TLS_CA_FILE',
      '',
      "PEM file of the certificate authority that signed the SMTP server's certificate (empty: the system's)",
    ),
    publicUrl: str(
      'CHRONOVERSE_PUBLIC_URL',
      'http://localhost:8080',
      'Address users open the dashboard at; links in emails start with it (e.g. https://chronoverse.example.com)',
    ),
    timeoutMs: duration(
      'CHRONOVERSE_SMTP_TIMEOUT',
      '30s',
      'Deadline of each SMTP step (connect, greeting, each command)',
      100,
    ),
    concurrency: int('CHRONOVERSE_SMTP_CONCURRENCY', 4, 'Emails one process sends at once', 1, 100),
    retryBaseMs: duration(
      'CHRONOVERSE_SMTP_RETRY_BASE',
      '30s',
      'Wait before the first retry of an email the server did not take (connection refused, timeout, 4xx); doubles each attempt (with ±20% jitter)',
      100,
    ),
    retryMaxMs: duration(
      'CHRONOVERSE_SMTP_RETRY_MAX',
      '1h',
      'Longest wait between two attempts of an email',
      100,
    ),
    maxAgeMs: duration(
      'CHRONOVERSE_SMTP_MAX_AGE',
      '24h',
      'An email still not sent this long after it was queued is marked FAILED',
      1_000,
    ),
    retentionMs: duration(
      'CHRONOVERSE_SMTP_RETENTION',
      '720h',
      'Sent and failed emails (and their attempt history) older than this are deleted',
      3_600_000,
    ),
    pollIntervalMs: duration(
      'CHRONOVERSE_SMTP_POLL_INTERVAL',
      '5s',
      'How often the email sender looks for due retries when nothing woke it',
      100,
    ),
  },
  rpc: {
    host: str(
      'CHRONOVERSE_RPC_HOST',
      '127.0.0.1',
      'Address the gRPC server of the service roles (users, workflows, jobs, notifications, analytics) binds to. Use 0.0.0.0 across machines.',
    ),
    port: int(
      'CHRONOVERSE_RPC_PORT',
      50051,
      'gRPC port of the service roles this process runs (0 picks a free port)',
      0,
      65535,
    ),
    usersUrl: str(
      'CHRONOVERSE_USERS_URL',
      '',
      'gRPC address of the users service (http://host:50051 or https:// with TLS). Empty: in this process.',
    ),
    workflowsUrl: str(
      'CHRONOVERSE_WORKFLOWS_URL',
      '',
      'gRPC address of the workflows service. Empty: in this process.',
    ),
    jobsUrl: str('CHRONOVERSE_JOBS_URL', '', 'gRPC address of the jobs service. Empty: in this process.'),
    notificationsUrl: str(
      'CHRONOVERSE_NOTIFICATIONS_URL',
      '',
      'gRPC address of the notifications service (notifications and webhooks). Empty: in this process.',
    ),
    analyticsUrl: str(
      'CHRONOVERSE_ANALYTICS_URL',
      '',
      'gRPC address of the analytics service. Empty: in this process.',
    ),
    timeoutMs: duration('CHRONOVERSE_RPC_TIMEOUT', '10s', 'Deadline of one service call', 100),
    retries: int(
      'CHRONOVERSE_RPC_RETRIES',
      3,
      'Retries of a service call that failed with a retryable code (unavailable, deadline exceeded)',
      0,
      10,
    ),
    servicePrivateKey: str(
      'CHRONOVERSE_SERVICE_PRIVATE_KEY',
      '',
      'Ed25519 private key (PKCS#8 PEM) that signs the service identity of outgoing calls (`chronoverse keys generate`). Empty: a key made at start, valid only inside this process.',
      'value',
    ),
    servicePublicKey: str(
      'CHRONOVERSE_SERVICE_PUBLIC_KEY',
      '',
      'Ed25519 public key (SPKI PEM) that verifies the service identity of incoming calls. Empty: the public half of CHRONOVERSE_SERVICE_PRIVATE_KEY.',
    ),
    tlsCertFile: str(
      'CHRONOVERSE_RPC_TLS_CERT_FILE',
      '',
      'PEM certificate of this process for gRPC over TLS (server side, and client side for mTLS). Empty: plaintext h2c.',
    ),
    tlsKeyFile: str(
      'CHRONOVERSE_RPC_TLS_KEY_FILE',
      '',
      'PEM private key matching CHRONOVERSE_RPC_TLS_CERT_FILE',
    ),
    tlsCaFile: str(
      'CHRONOVERSE_RPC_TLS_CA_FILE',
      '',
      'PEM CA bundle that peers are verified against; when set, servers also require client certificates (mTLS)',
    ),
  },
  kafka: {
    brokers: str(
      'KAFKA_BROKERS',
      '',
      'Comma-separated Kafka bootstrap servers (host:9092,…). Empty: the in-process bus (single process only).',
    ),
    clientId: str('CHRONOVERSE_KAFKA_CLIENT_ID', 'chronoverse', 'Kafka client id prefix'),
    topicPrefix: str(
      'CHRONOVERSE_KAFKA_TOPIC_PREFIX',
      '',
      'Prefix of every topic and consumer group name (several installations on one cluster)',
    ),
    partitions: int(
      'CHRONOVERSE_KAFKA_PARTITIONS',
      6,
      'Partitions of each topic created at start',
      1,
      10_000,
    ),
    replicationFactor: int(
      'CHRONOVERSE_KAFKA_REPLICATION_FACTOR',
      1,
      'Replication factor of each topic created at start (3 in production)',
      1,
      16,
    ),
    maxHandleAttempts: int(
      'CHRONOVERSE_KAFKA_MAX_HANDLE_ATTEMPTS',
      5,
      'Times a consumer tries to handle a message before parking it as dead (the partition then moves on)',
      1,
      1000,
    ),
  },
  redis: {
    url: str(
      'REDIS_URL',
      '',
      'Redis URL (redis://host:6379/0) for live log fan-out, cross-process wake-ups, rate limits and caches. Empty: in memory (single process only).',
      'url-password',
    ),
    keyPrefix: str('CHRONOVERSE_REDIS_KEY_PREFIX', 'cv:', 'Prefix of every Redis key and channel'),
  },
  containers: {
    dockerHost: str(
      'DOCKER_HOST',
      'unix:///var/run/docker.sock',
      'Docker Engine API of the container runtime (Docker or Podman): unix:///path or tcp://host:port',
    ),
    allowedRegistries: registries(
      'CHRONOVERSE_CONTAINERS_ALLOWED_REGISTRIES',
      DEFAULT_ALLOWED_REGISTRIES,
      'Registries images may come from, comma-separated: a host exactly as images name it (with its port if it has one) or *.example.com for every name under it. An image without a registry host is on docker.io. IP addresses, localhost and hosts with a port are refused unless listed. Checked at create and edit, by the build and before every run and pull',
    ),
    allowBridgeNetwork: bool(
      'CHRONOVERSE_CONTAINERS_ALLOW_BRIDGE_NETWORK',
      false,
      'Let every user run containers on the bridge network (administrators always may); otherwise network "none" only',
    ),
    maxCpus: number(
      'CHRONOVERSE_CONTAINERS_MAX_CPUS',
      2,
      'Most CPUs a container may ask for (resources.cpus); more is a 400 at create and edit, and stored workflows run within it',
      0.01,
      64,
    ),
    maxMemoryMb: int(
      'CHRONOVERSE_CONTAINERS_MAX_MEMORY_MB',
      2048,
      'Most memory (MiB) a container may ask for (resources.memory_mb)',
      6,
      262_144,
    ),
    maxPids: int(
      'CHRONOVERSE_CONTAINERS_MAX_PIDS',
      1024,
      'Most processes a container may ask for (resources.pids)',
      1,
      32_768,
    ),
    maxTimeoutMs: duration(
      'CHRONOVERSE_CONTAINERS_MAX_TIMEOUT',
      '1h',
      'Longest timeout a container may ask for (payload timeout; at most 1h)',
      1_000,
    ),
  },
  telemetry: {
    otlpEndpoint: str(
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      '',
      'OpenTelemetry collector base URL (http://collector:4318); traces go to <url>/v1/traces over OTLP/HTTP. Empty: tracing off (no spans are made).',
      'url-password',
    ),
    otlpTracesEndpoint: str(
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      '',
      'Full OTLP/HTTP traces URL (http://collector:4318/v1/traces); wins over OTEL_EXPORTER_OTLP_ENDPOINT',
      'url-password',
    ),
    otlpTracesProtocol: oneOf(
      'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
      'http/json',
      'OTLP encoding of exported traces',
      ['http/json'] as const,
    ),
    otlpHeaders: str(
      'OTEL_EXPORTER_OTLP_HEADERS',
      '',
      'Extra headers of export requests, key=value pairs separated by commas (an API key of a hosted backend)',
      'value',
    ),
    sampleRatio: number(
      'OTEL_TRACES_SAMPLER_ARG',
      1,
      'Fraction of new traces recorded (parent-based: a sampled caller is always followed)',
      0,
      1,
    ),
  },
  log: {
    level: oneOf('LOG_LEVEL', 'info', 'Log level', [
      'fatal',
      'error',
      'warn',
      'info',
      'debug',
      'trace',
      'silent',
    ] as const),
  },
} as const;

type Resolve<S> = S extends Leaf<infer T> ? T : { readonly [K in keyof S]: Resolve<S[K]> };
export type Config = Resolve<typeof CONFIG_SCHEMA>;

export function isLeaf(node: unknown): node is Leaf<unknown> {
  return typeof node === 'object' && node !== null && 'env' in node && 'parse' in node;
}
