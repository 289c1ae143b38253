#!/usr/bin/env bash
# The distributed profile on one machine, without Docker: a private PostgreSQL server, a private
# redis-server, a single-node Kafka broker (scripts/kafka-env.sh) and every role as its own
# background process, all on free ports of 127.0.0.1.
#
#   scripts/local-cluster.sh up [dir]       start what is not running, wait for /readyz, print the URL
#   scripts/local-cluster.sh down [dir]     stop everything it started: roles, Kafka, Redis, PostgreSQL
#   scripts/local-cluster.sh status [dir]   each process alive or dead, with its pid and ports
#
# <dir> defaults to .chronoverse/cluster in the checkout. It keeps the state between runs, so a
# second `up` brings the same cluster back with its data, keys and (when still free) ports:
#   cluster.env      `. <dir>/cluster.env` points chronoverse commands and psql at the cluster
#                    (DATABASE_URL, REDIS_URL, KAFKA_BROKERS, the service URLs and keys) and sets
#                    GATEWAY_URL
#   ports            name=port of every listener;  keys.env   the service key pair (made once)
#   pids/<name>.pid  one per process started;      logs/<name>.log   each role's JSON log
#   pg/ redis/ kafka/  the servers' data and logs (pg.dir names PostgreSQL's folder when the
#                    postgres user cannot reach <dir> and it lives under /tmp instead)
#
# PostgreSQL: Debian's server binaries (/usr/lib/postgresql/<version>/bin, the newest), initdb'd
# into <dir>/pg with trust authentication on 127.0.0.1 only, run as the `postgres` user when we are
# root (initdb refuses root). Set DATABASE_URL to use a server of your own instead (it is migrated).
# The gateway listens on PORT (default 8080 when free, else any free port; a PORT you set must be
# free) and HOST (default 127.0.0.1). Other settings in the environment (LOG_LEVEL, DOCKER_HOST,
# CHRONOVERSE_*) reach every role. Progress goes to stderr.
#
# `up` while some processes still run starts only the missing ones on the recorded ports (after
# `kill -9` of an executor, for example). `down` sends SIGTERM to the roles (executors let running
# jobs finish for up to 30 s), SIGKILL after 45 s, then stops Kafka, Redis and PostgreSQL; data stays
# in <dir> (delete the folder to start afresh). Running `down` twice is harmless.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MAIN="$ROOT/src/cli/main.ts"
# The project pins Node 24 (the `node` dev dependency); a system node may be too old to run .ts.
NODE="$ROOT/node_modules/.bin/node"
[ -x "$NODE" ] || NODE="$(command -v node || true)"

# name, roles, listener (rpc: gRPC + ops port; http: the gateway's PORT; ops: /readyz only).
ROLES=(
  "users users rpc"
  "workflows workflows rpc"
  "jobs jobs rpc"
  "notifications notifications rpc"
  "analytics analytics rpc"
  "gateway gateway http"
  "outbox-relay outbox-relay ops"
  "scheduler scheduler ops"
  "workflow-worker workflow-worker ops"
  "executor-a executor ops"
  "executor-b executor ops"
  "joblogs joblogs ops"
  "analytics-processor analytics-processor ops"
)
READY_TIMEOUT=180
STOP_TIMEOUT=45

log() { printf '[local-cluster] %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}
usage() {
  echo "usage: $0 up|down|status [dir]" >&2
  exit 2
}

[ $# -ge 1 ] && [ $# -le 2 ] || usage
CMD="$1"
case "$CMD" in up | down | status) ;; *) usage ;; esac
DIR_ARG="${2:-}"
# The gateway's port as the caller set it; P holds every port of the cluster.
PORT_ENV="${PORT:-}"
unset PORT
mkdir -p "${2:-$ROOT/.chronoverse/cluster}"
DIR="$(cd "${2:-$ROOT/.chronoverse/cluster}" && pwd)"
PIDS="$DIR/pids"
LOGS="$DIR/logs"
mkdir -p "$PIDS" "$LOGS"

# --- state ---------------------------------------------------------------------------------------
declare -A P=()
load_ports() {
  P=()
  [ -f "$DIR/ports" ] || return 0
  local k v
  while IFS='=' read -r k v; do [ -n "$k" ] && P[$k]="$v"; done <"$DIR/ports"
}
save_ports() {
  local k
  for k in "${!P[@]}"; do echo "$k=${P[$k]}"; done | sort >"$DIR/ports.tmp"
  mv "$DIR/ports.tmp" "$DIR/ports"
}

# The command line a live pid must have to be ours (a pid can be reused after a reboot).
signature() {
  case "$1" in
    postgresql) echo "postgres" ;;
    redis) echo "redis-server" ;;
    kafka) echo "kafka.Kafka" ;;
    *) echo "src/cli/main.ts" ;;
  esac
}
pid_of() { [ -f "$PIDS/$1.pid" ] && cat "$PIDS/$1.pid" || true; }
alive() {
  local pid
  pid="$(pid_of "$1")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$(signature "$1")"
}
any_alive() {
  local f
  for f in "$PIDS"/*.pid; do
    [ -e "$f" ] || continue
    alive "$(basename "$f" .pid)" && return 0
  done
  return 1
}

# Distinct ports, each the preferred one when 127.0.0.1 can bind it, else a free one. Arguments
# key=preferred (0: any; a trailing ! on the key: the preferred one or nothing).
pick_ports() {
  "$NODE" -e '
    const net = require("node:net");
    const held = [];
    const bind = (port) => new Promise((resolve) => {
      const s = net.createServer();
      s.once("error", () => resolve(null));
      s.listen(port, "127.0.0.1", () => { held.push(s); resolve(s.address().port); });
    });
    (async () => {
      const out = [];
      for (const arg of process.argv.slice(1)) {
        const [key, want] = arg.split("=");
        let port = Number(want) > 0 ? await bind(Number(want)) : null;
        if (port === null && !key.endsWith("!")) port = await bind(0);
        out.push(`${key.replace(/!$/, "")}=${port ?? ""}`);
      }
      held.forEach((s) => s.close());
      console.log(out.join("\n"));
    })();' "$@"
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
http_ok() { curl -fsS -m 2 -o /dev/null "$1" 2>/dev/null; }

# --- PostgreSQL ----------------------------------------------------------------------------------
pg_bin() {
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$bin" ] && [ -x "$bin/initdb" ] ||
    die "no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql), or set DATABASE_URL"
  echo "$bin"
}
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
# PostgreSQL's own folder: <dir>/pg, unless the postgres user cannot reach <dir> (a home folder).
pg_dir() {
  if [ -f "$DIR/pg.dir" ] && [ -d "$(cat "$DIR/pg.dir")" ]; then
    cat "$DIR/pg.dir"
    return
  fi
  mkdir -p "$DIR/pg"
  if [ "$(id -u)" = 0 ]; then
    id -u postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user to run PostgreSQL as"
    chown postgres:postgres "$DIR/pg"
    chmod 700 "$DIR/pg"
    if ! runuser -u postgres -- test -w "$DIR/pg"; then
      local tmp
      tmp="$(mktemp -d /tmp/chronoverse-pg.XXXXXX)"
      chown postgres:postgres "$tmp"
      echo "$tmp" >"$DIR/pg.dir"
      log "the postgres user cannot reach $DIR: PostgreSQL's data goes to $tmp"
      echo "$tmp"
      return
    fi
  fi
  echo "$DIR/pg"
}
private_db_url() { echo "postgres://postgres@127.0.0.1:${P[postgresql]}/chronoverse"; }
external_db() { [ -f "$DIR/database.url" ]; }

start_postgres() {
  local bin pgd
  bin="$(pg_bin)"
  pgd="$(pg_dir)"
  if [ ! -f "$pgd/data/PG_VERSION" ]; then
    log "initdb $pgd/data"
    as_pg "$bin/initdb" -D "$pgd/data" -U postgres -A trust -E UTF8 --no-sync >"$pgd/initdb.log" 2>&1 ||
      {
        cat "$pgd/initdb.log" >&2
        die "initdb failed"
      }
  fi
  log "starting PostgreSQL on 127.0.0.1:${P[postgresql]}"
  as_pg "$bin/pg_ctl" -D "$pgd/data" -l "$pgd/server.log" -w -t 60 -o \
    "-p ${P[postgresql]} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200 -c synchronous_commit=off" \
    start >/dev/null || {
    tail -n 20 "$pgd/server.log" >&2 || true
    die "PostgreSQL did not start (log: $pgd/server.log)"
  }
  head -n 1 "$pgd/data/postmaster.pid" >"$PIDS/postgresql.pid"
  if [ -z "$("$bin/psql" -h 127.0.0.1 -p "${P[postgresql]}" -U postgres -d postgres -Atc \
    "select 1 from pg_database where datname = 'chronoverse'")" ]; then
    "$bin/psql" -q -h 127.0.0.1 -p "${P[postgresql]}" -U postgres -d postgres -c 'create database chronoverse'
  fi
}

stop_postgres() {
  local pgd=""
  if [ -f "$DIR/pg.dir" ]; then pgd="$(cat "$DIR/pg.dir")"; elif [ -d "$DIR/pg" ]; then pgd="$DIR/pg"; fi
  if alive postgresql && [ -n "$pgd" ]; then
    log "stopping PostgreSQL"
    as_pg "$(pg_bin)/pg_ctl" -D "$pgd/data" -m fast -w -t 60 stop >/dev/null || true
  fi
  kill_wait postgresql 10
}

# --- Redis ---------------------------------------------------------------------------------------
start_redis() {
  command -v redis-server >/dev/null 2>&1 || die "redis-server is missing (apt-get install redis-server)"
  mkdir -p "$DIR/redis"
  rm -f "$DIR/redis/redis.pid"
  log "starting Redis on 127.0.0.1:${P[redis]}"
  redis-server --port "${P[redis]}" --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR/redis" \
    --daemonize yes --pidfile "$DIR/redis/redis.pid" --logfile "$DIR/redis/redis.log" >/dev/null
  local reply
  for _ in $(seq 1 100); do
    reply="$( (exec 3<>"/dev/tcp/127.0.0.1/${P[redis]}" && printf 'PING\r\n' >&3 && IFS= read -r -t 1 line <&3 &&
      printf '%s' "${line%$'\r'}") 2>/dev/null || true)"
    if [ "$reply" = "+PONG" ] && [ -s "$DIR/redis/redis.pid" ]; then
      cp "$DIR/redis/redis.pid" "$PIDS/redis.pid"
      return 0
    fi
    sleep 0.1
  done
  tail -n 20 "$DIR/redis/redis.log" >&2 || true
  die "Redis did not answer on ${P[redis]} (log: $DIR/redis/redis.log)"
}

# --- Kafka ---------------------------------------------------------------------------------------
start_kafka() {
  log "starting Kafka on 127.0.0.1:${P[kafka]} (first run: resolving its jars from Maven Central)"
  bash "$ROOT/scripts/kafka-env.sh" "$DIR/kafka" "${P[kafka]}" >/dev/null ||
    die "Kafka did not start (log: $DIR/kafka/kafka.log)"
  cp "$DIR/kafka/kafka.pid" "$PIDS/kafka.pid"
}

stop_kafka() {
  if alive kafka; then
    log "stopping Kafka"
    kill -TERM "$(pid_of kafka)" 2>/dev/null || true
  fi
  kill_wait kafka 15
  [ -d "$DIR/kafka" ] && bash "$ROOT/scripts/kafka-env.sh" "$DIR/kafka" stop 2>/dev/null || true
}

# --- roles ---------------------------------------------------------------------------------------
write_env() {
  [ -f "$DIR/keys.env" ] || "$NODE" "$MAIN" keys generate >"$DIR/keys.env"
  local db
  if external_db; then db="$(cat "$DIR/database.url")"; else db="$(private_db_url)"; fi
  {
    echo "# Written by scripts/local-cluster.sh up: \`. $DIR/cluster.env\` points chronoverse and psql here."
    echo "export DATABASE_URL='$db'"
    echo "export REDIS_URL=redis://127.0.0.1:${P[redis]}/0 KAFKA_BROKERS=127.0.0.1:${P[kafka]}"
    echo "export CHRONOVERSE_USERS_URL=http://127.0.0.1:${P[users.rpc]}"
    echo "export CHRONOVERSE_WORKFLOWS_URL=http://127.0.0.1:${P[workflows.rpc]}"
    echo "export CHRONOVERSE_JOBS_URL=http://127.0.0.1:${P[jobs.rpc]}"
    echo "export CHRONOVERSE_NOTIFICATIONS_URL=http://127.0.0.1:${P[notifications.rpc]}"
    echo "export CHRONOVERSE_ANALYTICS_URL=http://127.0.0.1:${P[analytics.rpc]}"
    sed 's/^/export /' "$DIR/keys.env"
    echo "export GATEWAY_URL=http://127.0.0.1:${P[gateway.http]}"
    # The users role runs without a gateway beside it, so its automatic sign-up mode would be
    # "invite"; a cluster on this machine's loopback is a laptop's, open like the quick start.
    echo "export CHRONOVERSE_SIGNUP=${CHRONOVERSE_SIGNUP:-open}"
  } >"$DIR/cluster.env"
}

start_role() {
  local name="$1" roles="$2" kind="$3"
  local -a env=()
  case "$kind" in
    rpc) env=(CHRONOVERSE_RPC_HOST=127.0.0.1 "CHRONOVERSE_RPC_PORT=${P[$name.rpc]}"
      CHRONOVERSE_OPS_HOST=127.0.0.1 "CHRONOVERSE_OPS_PORT=${P[$name.ops]}") ;;
    http) env=("HOST=$GATEWAY_HOST" "PORT=${P[$name.http]}") ;;
    ops) env=(CHRONOVERSE_OPS_HOST=127.0.0.1 "CHRONOVERSE_OPS_PORT=${P[$name.ops]}") ;;
  esac
  printf '\n[local-cluster] %s starting (%s)\n' "$name" "$(date -u +%FT%TZ)" >>"$LOGS/$name.log"
  # setsid: in a session of its own, so closing the terminal leaves it running; $! is node itself.
  env "${env[@]}" setsid "$NODE" "$MAIN" start --role "$roles" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
}

ready_url() {
  local name="$1" kind="$2"
  if [ "$kind" = http ]; then echo "http://127.0.0.1:${P[$name.http]}/readyz"; else echo "http://127.0.0.1:${P[$name.ops]}/readyz"; fi
}

# Waits until every named role answers /readyz (all roles without arguments).
wait_ready() {
  local deadline=$((SECONDS + READY_TIMEOUT)) entry name roles kind
  local -a pending
  while :; do
    pending=()
    for entry in "${ROLES[@]}"; do
      read -r name roles kind <<<"$entry"
      if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
      if ! alive "$name"; then
        log "$name exited at start; last lines of $LOGS/$name.log:"
        tail -n 20 "$LOGS/$name.log" >&2 || true
        return 1
      fi
      http_ok "$(ready_url "$name" "$kind")" || pending+=("$name")
    done
    [ ${#pending[@]} -eq 0 ] && return 0
    if [ $SECONDS -ge $deadline ]; then
      log "not ready after ${READY_TIMEOUT} s: ${pending[*]} (logs in $LOGS)"
      return 1
    fi
    sleep 0.5
  done
}

# SIGKILL after `timeout` seconds; forgets the pid once the process is gone.
kill_wait() {
  local name="$1" timeout="$2" pid
  pid="$(pid_of "$name")"
  if [ -n "$pid" ] && alive "$name"; then
    for _ in $(seq 1 $((timeout * 10))); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) still runs after ${timeout} s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
    fi
  fi
  rm -f "$PIDS/$name.pid"
}

stop_roles() {
  local entry name roles kind pid
  for entry in "${ROLES[@]}"; do
    read -r name roles kind <<<"$entry"
    if alive "$name"; then
      pid="$(pid_of "$name")"
      log "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  for entry in "${ROLES[@]}"; do
    read -r name roles kind <<<"$entry"
    kill_wait "$name" "$STOP_TIMEOUT"
  done
}

do_down() {
  stop_roles
  stop_kafka
  if alive redis; then
    log "stopping Redis"
    kill -TERM "$(pid_of redis)" 2>/dev/null || true
  fi
  kill_wait redis 10
  stop_postgres
  log "stopped (data kept in $DIR)"
}

# --- commands ------------------------------------------------------------------------------------
do_up() {
  [ -n "$NODE" ] || die "node is missing: run npm ci first"
  command -v curl >/dev/null 2>&1 || die "curl is missing (apt-get install curl)"
  load_ports
  local entry name roles kind
  # A DATABASE_URL of your own, unless it is this cluster's (a shell that sourced cluster.env).
  if [ -n "${DATABASE_URL:-}" ] && { [ -z "${P[postgresql]:-}" ] || [ "$DATABASE_URL" != "$(private_db_url)" ]; }; then
    echo "$DATABASE_URL" >"$DIR/database.url"
  elif [ -z "${DATABASE_URL:-}" ]; then
    rm -f "$DIR/database.url"
  fi

  if any_alive; then
    log "some processes run already: starting the missing ones on the recorded ports"
    [ -n "${P[gateway.http]:-}" ] || die "no recorded ports in $DIR; run down first"
  else
    # Preferred: the recorded ports (same URLs as last time), and 8080 for the gateway.
    local -a want=()
    if [ -n "${PORT_ENV:-}" ]; then
      want+=("gateway.http!=$PORT_ENV")
    else
      want+=("gateway.http=${P[gateway.http]:-8080}")
    fi
    external_db || want+=("postgresql=${P[postgresql]:-0}")
    want+=("redis=${P[redis]:-0}" "kafka=${P[kafka]:-0}")
    for entry in "${ROLES[@]}"; do
      read -r name roles kind <<<"$entry"
      case "$kind" in
        rpc) want+=("$name.rpc=${P[$name.rpc]:-0}" "$name.ops=${P[$name.ops]:-0}") ;;
        ops) want+=("$name.ops=${P[$name.ops]:-0}") ;;
      esac
    done
    local k v
    while IFS='=' read -r k v; do
      [ -n "$v" ] || die "PORT=$PORT_ENV is taken; unset PORT to use a free port"
      P[$k]="$v"
    done < <(pick_ports "${want[@]}")
    [ -n "${P[redis]:-}" ] || die "could not pick free ports (node: $NODE)"
    save_ports
  fi

  if ! external_db && ! alive postgresql; then start_postgres; fi
  alive redis || start_redis
  alive kafka || start_kafka
  write_env
  # shellcheck disable=SC1091
  . "$DIR/cluster.env"
  export DATABASE_URL REDIS_URL KAFKA_BROKERS
  log "migrating the database"
  "$NODE" "$MAIN" migrate >>"$LOGS/migrate.log" 2>&1 || {
    tail -n 20 "$LOGS/migrate.log" >&2
    die "chronoverse migrate failed (log: $LOGS/migrate.log)"
  }
  GATEWAY_HOST="${HOST:-127.0.0.1}"
  local started=0 ok=1
  # The outbox relay first: every role creates the Kafka topics it lacks at start, and a dozen
  # processes doing so at once on a fresh broker can trip over each other's half-created topics.
  if ! alive outbox-relay; then
    log "starting outbox-relay first (it creates the Kafka topics)"
    start_role outbox-relay outbox-relay ops
    started=1
    wait_ready outbox-relay || ok=0
  fi
  if [ $ok = 1 ]; then
    for entry in "${ROLES[@]}"; do
      read -r name roles kind <<<"$entry"
      if ! alive "$name"; then
        start_role "$name" "$roles" "$kind"
        started=$((started + 1))
      fi
    done
    log "started $started role processes; waiting for every /readyz"
    wait_ready || ok=0
  fi
  if [ $ok = 0 ]; then
    log "up failed; stopping the cluster (data and logs stay in $DIR)"
    do_down
    exit 1
  fi
  local rel="$DIR" shown_dir=""
  case "$DIR" in "$PWD"/*) rel="${DIR#"$PWD"/}" ;; esac
  [ -z "$DIR_ARG" ] || shown_dir=" $rel"
  cat <<EOF
Chronoverse is up (roles, Kafka, Redis, PostgreSQL; ${SECONDS} s):
  gateway      $GATEWAY_URL  (API $GATEWAY_URL/api/v1, docs $GATEWAY_URL/api/docs)
  environment  . $rel/cluster.env   (DATABASE_URL, REDIS_URL, KAFKA_BROKERS, service URLs and keys, GATEWAY_URL)
  logs         $rel/logs/<role>.log
  status       bash scripts/local-cluster.sh status$shown_dir
  stop         bash scripts/local-cluster.sh down$shown_dir
EOF
}

do_status() {
  load_ports
  if ! compgen -G "$PIDS/*.pid" >/dev/null; then
    echo "nothing started in $DIR"
    exit 3
  fi
  local dead=0 entry name roles kind state pid ports
  printf '%-20s %-8s %-6s %s\n' NAME PID STATE PORTS
  local -a rows=("postgresql - -" "redis - -" "kafka - -" "${ROLES[@]}")
  for entry in "${rows[@]}"; do
    read -r name roles kind <<<"$entry"
    pid="$(pid_of "$name")"
    case "$name" in
      postgresql)
        if external_db; then
          printf '%-20s %-8s %-6s %s\n' postgresql - extern "$(sed -E 's#//[^@/]*@#//#' "$DIR/database.url")"
          continue
        fi
        ports="${P[postgresql]:-}"
        ;;
      redis | kafka) ports="${P[$name]:-}" ;;
      *)
        case "$kind" in
          rpc) ports="rpc ${P[$name.rpc]:-}, ops ${P[$name.ops]:-}" ;;
          http) ports="http ${P[$name.http]:-}" ;;
          ops) ports="ops ${P[$name.ops]:-}" ;;
        esac
        ;;
    esac
    if alive "$name"; then state=alive; else
      state=dead
      dead=$((dead + 1))
    fi
    printf '%-20s %-8s %-6s %s\n' "$name" "${pid:--}" "$state" "$ports"
  done
  [ $dead -eq 0 ]
}

case "$CMD" in
  up) do_up ;;
  down) do_down ;;
  status) do_status ;;
esac
