#!/usr/bin/env bash
# A throwaway single-node Apache Kafka (KRaft: broker and controller in one JVM) for tests and
# local use. No Docker: the broker's jars come from Maven Central (scripts/kafka/pom.xml).
#
#   scripts/kafka-env.sh libs              resolve the jars (once; cached), print the libs folder
#   scripts/kafka-env.sh <dir> <port>      start a broker on 127.0.0.1:<port> with data in <dir>
#                                          (idempotent; the last stdout line is 127.0.0.1:<port>)
#   scripts/kafka-env.sh <dir> stop        kill the broker started in <dir> (its data stays)
#
# The first start writes <dir>/server.properties (the controller gets a second free port, kept
# for later starts) and formats <dir>/data; later starts reuse both, so a stopped broker comes
# back with its topics, offsets and ports. <dir>/kafka.log is the broker's log, <dir>/kafka.pid
# its process. The script returns once the port accepts connections; callers that need the
# broker to answer metadata requests check that themselves (test/helpers/kafka-broker.ts).
#
# Environment: KAFKA_VERSION (default below), KAFKA_LIBS_DIR (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/chronoverse/kafka-<version>/libs), KAFKA_HEAP (-Xmx512m),
# KAFKA_RANDOM_SOURCE (bytes of the cluster id; default /dev/urandom).
# Installs java 17 and maven with apt-get when they are missing. Progress goes to stderr.
set -euo pipefail

KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/chronoverse"
LIBS="${KAFKA_LIBS_DIR:-$CACHE_ROOT/kafka-$KAFKA_VERSION/libs}"
HEAP="${KAFKA_HEAP:--Xmx512m -Xms128m}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { printf '[kafka-env] %s\n' "$*" >&2; }

usage() {
  echo "usage: $0 libs | $0 <dir> <port> | $0 <dir> stop" >&2
  exit 2
}

# --- tools and jars ------------------------------------------------------------------------------
ensure_tools() {
  local missing=()
  command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq >&2
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
}

ensure_libs() {
  if [ -f "$LIBS/.complete" ]; then return 0; fi
  ensure_tools
  log "resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central into $LIBS"
  local tmp="$LIBS.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  mvn -B -q -f "$HERE/kafka/pom.xml" \
    -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DoutputDirectory="$tmp" >&2
  ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null
  touch "$tmp/.complete"
  # Another run may have won the race; either copy is complete.
  mkdir -p "$(dirname "$LIBS")"
  if ! mv -T "$tmp" "$LIBS" 2>/dev/null; then rm -rf "$tmp"; fi
  [ -f "$LIBS/.complete" ]
}

# --- broker --------------------------------------------------------------------------------------
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null ||
    node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# A KRaft cluster id: 16 random bytes in base64url, as Kafka's Uuid prints them. One id in 64
# would start with '-', which kafka-storage's argument parser takes for an option ("--cluster-id:
# expected one argument"; it failed one CI run in two once). Kafka's own Uuid.randomUuid() skips
# such ids for the same reason; here the first character is replaced, which keeps the id valid
# base64url of 16 bytes. KAFKA_RANDOM_SOURCE (default /dev/urandom) lets a test supply the bytes.
new_cluster_id() {
  local id
  id="$(head -c 16 "${KAFKA_RANDOM_SOURCE:-/dev/urandom}" | base64 | tr '+/' '-_' | tr -d '=')"
  printf '%s\n' "${id/#-/A}"
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

alive() {
  local pid
  [ -f "$PIDFILE" ] || return 1
  pid="$(cat "$PIDFILE")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

stop_broker() {
  if alive; then
    local pid
    pid="$(cat "$PIDFILE")"
    log "killing broker (pid $pid)"
    kill -9 "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
  fi
  rm -f "$PIDFILE"
}

write_config() {
  local port="$1" controller
  controller="$(free_port)"
  cat >"$DIR/server.properties" <<EOF
# Written by scripts/kafka-env.sh: one node, broker and controller, for tests and local use.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$DIR/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# A killed broker's old registration expires fast, so a restart is not held up for 9 s.
broker.session.timeout.ms=2000
broker.heartbeat.interval.ms=500
auto.create.topics.enable=false
log.segment.bytes=16777216
log.retention.hours=24
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.flush.interval.messages=9223372036854775807
EOF
}

write_log_config() {
  cat >"$DIR/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $DIR/kafka.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = info
logger.controller.name = state.change.logger
logger.controller.level = warn
EOF
}

if [ $# -eq 1 ] && [ "$1" = "libs" ]; then
  ensure_libs
  echo "$LIBS"
  exit 0
fi
[ $# -eq 2 ] || usage
mkdir -p "$1"
DIR="$(cd "$1" && pwd)"
PIDFILE="$DIR/kafka.pid"

if [ "$2" = "stop" ]; then
  stop_broker
  exit 0
fi
PORT="$2"
[[ "$PORT" =~ ^[0-9]+$ ]] || usage

if alive && listening "$PORT"; then
  echo "127.0.0.1:$PORT"
  exit 0
fi
stop_broker
ensure_libs

if [ ! -f "$DIR/server.properties" ] || ! grep -q "PLAINTEXT://127.0.0.1:$PORT," "$DIR/server.properties"; then
  rm -rf "$DIR/data"
  write_config "$PORT"
fi
write_log_config
CP="$LIBS/*"
JAVA_OPTS=(-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$DIR/log4j2.properties" "-Dkafka.logs.dir=$DIR")
if [ ! -f "$DIR/data/meta.properties" ]; then
  log "formatting $DIR/data"
  # shellcheck disable=SC2086
  java $HEAP "${JAVA_OPTS[@]}" -cp "$CP" kafka.tools.StorageTool format \
    --config "$DIR/server.properties" --cluster-id "$(new_cluster_id)" \
    --ignore-formatted >"$DIR/format.log" 2>&1 || {
    cat "$DIR/format.log" >&2
    exit 1
  }
fi

log "starting broker on 127.0.0.1:$PORT"
# setsid + redirected streams: the JVM outlives this script and holds none of its pipes.
# shellcheck disable=SC2086
setsid java $HEAP "${JAVA_OPTS[@]}" -cp "$CP" kafka.Kafka "$DIR/server.properties" \
  >>"$DIR/kafka.out" 2>&1 </dev/null &
echo $! >"$PIDFILE"

for _ in $(seq 1 600); do
  if listening "$PORT"; then
    echo "127.0.0.1:$PORT"
    exit 0
  fi
  if ! alive; then
    log "the broker exited at start; last lines of $DIR/kafka.out and kafka.log:"
    tail -n 30 "$DIR/kafka.out" >&2 || true
    tail -n 30 "$DIR/kafka.log" >&2 || true
    exit 1
  fi
  sleep 0.1
done
log "the broker did not listen on $PORT within 60 s"
exit 1
