#!/usr/bin/env bash
# A throwaway S3-compatible server (Adobe S3Mock) for tests and local use. No Docker: the jar
# comes from Maven Central (scripts/s3mock/pom.xml); the shared steps are in scripts/lib/jar-server.sh.
#
#   scripts/s3mock-env.sh jar                 resolve the jar (once; cached), print its path
#   scripts/s3mock-env.sh <dir> <port>        start S3Mock on 127.0.0.1:<port> over HTTP (idempotent;
#                                             the last stdout line is http://127.0.0.1:<port>)
#   scripts/s3mock-env.sh <dir> stop          kill the server started in <dir>
#
# S3Mock accepts any credentials and checks no signatures. Objects live under <dir>/root (gone
# with <dir>); <dir>/s3mock.out is its output, <dir>/s3mock.pid its process.
#
# Environment: S3MOCK_VERSION (default below), S3MOCK_LIBS_DIR (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/chronoverse/s3mock-<version>), S3MOCK_HEAP (-Xmx256m).
set -euo pipefail

S3MOCK_VERSION="${S3MOCK_VERSION:-4.7.0}"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/chronoverse"
LIBS="${S3MOCK_LIBS_DIR:-$CACHE_ROOT/s3mock-$S3MOCK_VERSION}"
JAR_NAME="s3mock-$S3MOCK_VERSION-exec.jar"
HEAP="${S3MOCK_HEAP:--Xmx256m -Xms32m}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOG_TAG=s3mock-env
# shellcheck source=lib/jar-server.sh
. "$HERE/lib/jar-server.sh"

usage() {
  echo "usage: $0 jar | $0 <dir> <port> | $0 <dir> stop" >&2
  exit 2
}

ensure_jar() { jar_ensure "$HERE/s3mock/pom.xml" "$LIBS" "$JAR_NAME" -Ds3mock.version="$S3MOCK_VERSION"; }

if [ $# -eq 1 ] && [ "$1" = "jar" ]; then
  ensure_jar
  echo "$LIBS/$JAR_NAME"
  exit 0
fi
[ $# -eq 2 ] || usage
mkdir -p "$1"
DIR="$(cd "$1" && pwd)"
PIDFILE="$DIR/s3mock.pid"

if [ "$2" = "stop" ]; then
  jar_stop "$PIDFILE" S3Mock
  exit 0
fi
PORT="$2"
[[ "$PORT" =~ ^[0-9]+$ ]] || usage

if jar_alive "$PIDFILE" && jar_listening "$PORT"; then
  echo "http://127.0.0.1:$PORT"
  exit 0
fi
jar_stop "$PIDFILE" S3Mock
ensure_jar

log "starting S3Mock on http://127.0.0.1:$PORT"
# setsid + redirected streams: the JVM outlives this script and holds none of its pipes. In S3Mock 4
# `server.port` is its HTTPS port (9191) and `com.adobe.testing.s3mock.httpPort` the HTTP one (9090):
# HTTP goes on <port>, HTTPS on an ephemeral port (0) so that parallel servers never collide.
# shellcheck disable=SC2086
setsid java $HEAP -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
  -jar "$LIBS/$JAR_NAME" --server.port=0 --com.adobe.testing.s3mock.httpPort="$PORT" --server.address=127.0.0.1 \
  --com.adobe.testing.s3mock.store.root="$DIR/root" \
  >>"$DIR/s3mock.out" 2>&1 </dev/null &
echo $! >"$PIDFILE"

jar_wait "$PIDFILE" "$DIR/s3mock.out" S3Mock "$PORT"
echo "http://127.0.0.1:$PORT"
