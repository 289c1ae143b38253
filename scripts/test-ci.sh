#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs and starts everything the tests need, then
# runs typecheck, lint, the generated-docs check and every test. `.ci/run` calls exactly this
# (through `npm run test:ci`).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

log "npm packages"
npm ci --no-audit --no-fund
# From here on `node` is the pinned Node 24 of the `node` dev dependency.
export PATH="$PWD/node_modules/.bin:$PATH"
node --version

log "PostgreSQL"
# Tests create their own databases on this server (CHRONOVERSE_TEST_PG_URL overrides it).
export CHRONOVERSE_TEST_PG_URL="${CHRONOVERSE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
pg_ready() { pg_isready -q -d "$CHRONOVERSE_TEST_PG_URL" 2>/dev/null; }
if ! command -v pg_isready >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
fi
if ! pg_ready; then
  for version in $(ls /etc/postgresql 2>/dev/null | sort -V); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
fi
pg_ready || { echo "PostgreSQL is not reachable at $CHRONOVERSE_TEST_PG_URL" >&2; exit 1; }

log "container runtime (podman serving the Docker API)"
# The tests start their own podman service on a temporary socket (scripts/podman-env.sh, called
# by test/helpers/podman-setup.ts); here we only make sure the packages are installed.
if ! command -v podman >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1 || [ ! -x /bin/busybox ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends podman runc busybox-static uidmap slirp4netns >/dev/null
fi
podman --version

log "Kafka, Redis, GreenMail and S3Mock"
# The tests start their own broker (scripts/kafka-env.sh resolves Apache Kafka from Maven Central
# into a cache; it installs Java and Maven with apt when missing) and their own redis-server.
if ! command -v redis-server >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi
bash scripts/kafka-env.sh libs >/dev/null
# The email tests start their own SMTP server (GreenMail, resolved the same way).
bash scripts/greenmail-env.sh jar >/dev/null
# The artifact store tests start their own S3-compatible server (Adobe S3Mock, resolved the same way).
bash scripts/s3mock-env.sh jar >/dev/null

log "Chromium (the dashboard's browser tests)"
# Debian's chromium, driven by playwright-core (test/helpers/browser.ts); never a downloaded browser.
# test/e2e/dashboard.test.ts builds the dashboard itself (`npm run build`) when web/dist is missing.
if [ ! -x /usr/bin/chromium ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
/usr/bin/chromium --version || true

log "typecheck"
npm run typecheck

log "lint and format"
npm run lint

log "mutation testing of src/domain (incremental, 80% break)"
# Only the mutants of domain code or tests changed since test/mutation/stryker-incremental.json are
# tested again; the score is over all of them (stryker.config.mjs). The survivors are listed in
# reports/mutation/, not here.
npx stryker run --reporters clear-text,progress-append-only,html,json

log "tests"
# The distributed end-to-end suite runs a dozen processes and a broker of its own: on its own after
# the rest, so neither slows the other into timeouts on a 2-core machine.
npx vitest run --exclude 'test/e2e/**'

log "dashboard component tests (jsdom)"
npx vitest run --config vitest.web.config.ts

log "end-to-end: the distributed profile (roles as processes, Kafka, Redis, PostgreSQL)"
npx vitest run test/e2e
