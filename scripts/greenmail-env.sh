#!/usr/bin/env bash
# A throwaway GreenMail SMTP server (with its REST API to read received mail) for tests and local
# use. No Docker: the jar comes from Maven Central (scripts/greenmail/pom.xml); the shared steps are
# in scripts/lib/jar-server.sh.
#
#   scripts/greenmail-env.sh jar                             resolve the jar (once; cached), print its path
#   scripts/greenmail-env.sh <dir> <smtp port> <api port>    start GreenMail on 127.0.0.1 (idempotent;
#                                                            the last stdout line is 127.0.0.1:<smtp port>)
#   scripts/greenmail-env.sh <dir> stop                      kill the server started in <dir>
#
# The server accepts any sender, recipient and login (greenmail.auth.disabled) and keeps mail in
# memory: a restart loses it. <dir>/greenmail.out is its output, <dir>/greenmail.pid its process.
#
# Environment: GREENMAIL_VERSION (default below), GREENMAIL_LIBS_DIR (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/chronoverse/greenmail-<version>), GREENMAIL_HEAP (-Xmx128m).
# Installs java 17 and maven with apt-get when they are missing (scripts/lib/jar-server.sh).
set -euo pipefail

GREENMAIL_VERSION="${GREENMAIL_VERSION:-2.1.8}"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/chronoverse"
LIBS="${GREENMAIL_LIBS_DIR:-$CACHE_ROOT/greenmail-$GREENMAIL_VERSION}"
JAR="$LIBS/greenmail-standalone-$GREENMAIL_VERSION.jar"
HEAP="${GREENMAIL_HEAP:--Xmx128m -Xms32m}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

LOG_TAG=greenmail-env
# shellcheck source=lib/jar-server.sh
. "$HERE/lib/jar-server.sh"

usage() {
  echo "usage: $0 jar | $0 <dir> <smtp port> <api port> | $0 <dir> stop" >&2
  exit 2
}

ensure_jar() {
  jar_ensure "$HERE/greenmail/pom.xml" "$LIBS" "greenmail-standalone-$GREENMAIL_VERSION.jar" \
    -Dgreenmail.version="$GREENMAIL_VERSION"
}
listening() { jar_listening "$1"; }
alive() { jar_alive "$PIDFILE"; }
stop_server() { jar_stop "$PIDFILE" GreenMail; }

if [ $# -eq 1 ] && [ "$1" = "jar" ]; then
  ensure_jar
  echo "$JAR"
  exit 0
fi
[ $# -ge 2 ] || usage
mkdir -p "$1"
DIR="$(cd "$1" && pwd)"
PIDFILE="$DIR/greenmail.pid"

if [ "$2" = "stop" ]; then
  stop_server
  exit 0
fi
[ $# -eq 3 ] || usage
SMTP_PORT="$2"
API_PORT="$3"
[[ "$SMTP_PORT" =~ ^[0-9]+$ && "$API_PORT" =~ ^[0-9]+$ ]] || usage

if alive && listening "$SMTP_PORT" && listening "$API_PORT"; then
  echo "127.0.0.1:$SMTP_PORT"
  exit 0
fi
stop_server
ensure_jar

log "starting GreenMail: SMTP 127.0.0.1:$SMTP_PORT, API 127.0.0.1:$API_PORT"
# setsid + redirected streams: the JVM outlives this script and holds none of its pipes.
# shellcheck disable=SC2086
setsid java $HEAP -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
  -Dgreenmail.hostname=127.0.0.1 -Dgreenmail.smtp.port="$SMTP_PORT" \
  -Dgreenmail.api.hostname=127.0.0.1 -Dgreenmail.api.port="$API_PORT" \
  -Dgreenmail.auth.disabled -jar "$JAR" >>"$DIR/greenmail.out" 2>&1 </dev/null &
echo $! >"$PIDFILE"

jar_wait "$PIDFILE" "$DIR/greenmail.out" GreenMail "$SMTP_PORT" "$API_PORT"
echo "127.0.0.1:$SMTP_PORT"
