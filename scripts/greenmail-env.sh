#!/usr/bin/env bash
# A throwaway GreenMail SMTP server (with its REST API to read received mail) for tests and local
# use. No Docker: the jar comes from Maven Central (scripts/greenmail/pom.xml).
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
# Installs java 17 and maven with apt-get when they are missing (as scripts/kafka-env.sh does).
set -euo pipefail

GREENMAIL_VERSION="${GREENMAIL_VERSION:-2.1.8}"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/chronoverse"
LIBS="${GREENMAIL_LIBS_DIR:-$CACHE_ROOT/greenmail-$GREENMAIL_VERSION}"
JAR="$LIBS/greenmail-standalone-$GREENMAIL_VERSION.jar"
HEAP="${GREENMAIL_HEAP:--Xmx128m -Xms32m}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { printf '[greenmail-env] %s\n' "$*" >&2; }

usage() {
  echo "usage: $0 jar | $0 <dir> <smtp port> <api port> | $0 <dir> stop" >&2
  exit 2
}

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

ensure_jar() {
  if [ -f "$LIBS/.complete" ]; then return 0; fi
  ensure_tools
  log "resolving com.icegreen:greenmail-standalone:$GREENMAIL_VERSION from Maven Central into $LIBS"
  local tmp="$LIBS.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  mvn -B -q -f "$HERE/greenmail/pom.xml" \
    -Dgreenmail.version="$GREENMAIL_VERSION" \
    dependency:copy-dependencies -DoutputDirectory="$tmp" >&2
  ls "$tmp/greenmail-standalone-$GREENMAIL_VERSION.jar" >/dev/null
  touch "$tmp/.complete"
  # Another run may have won the race; either copy is complete.
  mkdir -p "$(dirname "$LIBS")"
  if ! mv -T "$tmp" "$LIBS" 2>/dev/null; then rm -rf "$tmp"; fi
  [ -f "$LIBS/.complete" ]
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

alive() {
  local pid
  [ -f "$PIDFILE" ] || return 1
  pid="$(cat "$PIDFILE")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

stop_server() {
  if alive; then
    local pid
    pid="$(cat "$PIDFILE")"
    log "killing GreenMail (pid $pid)"
    kill -9 "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
  fi
  rm -f "$PIDFILE"
}

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

for _ in $(seq 1 600); do
  if listening "$SMTP_PORT" && listening "$API_PORT"; then
    echo "127.0.0.1:$SMTP_PORT"
    exit 0
  fi
  if ! alive; then
    log "GreenMail exited at start; last lines of $DIR/greenmail.out:"
    tail -n 30 "$DIR/greenmail.out" >&2 || true
    exit 1
  fi
  sleep 0.1
done
log "GreenMail did not listen within 60 s"
exit 1
