# Shared by scripts/greenmail-env.sh and scripts/s3mock-env.sh: a test server that is one jar from
# Maven Central, resolved once into a cache and run as a detached JVM whose pid is kept in a file.
# Source it after setting LOG_TAG; every function reports on stderr.
#
#   jar_ensure <pom> <libs dir> <jar name> [mvn -D…]   resolve the jar into <libs dir> (once)
#   jar_listening <port>                               is something listening on 127.0.0.1:<port>?
#   jar_alive <pidfile>                                is the process in <pidfile> running?
#   jar_stop <pidfile> <name>                          kill -9 it and wait until it is gone
#   jar_wait <pidfile> <out file> <name> <port>...     wait (60 s) until every port listens

log() { printf '[%s] %s\n' "${LOG_TAG:-jar-server}" "$*" >&2; }

# Installs java 17 and maven with apt-get when they are missing (as scripts/kafka-env.sh does).
jar_ensure_tools() {
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

jar_ensure() {
  local pom="$1" libs="$2" jar="$3"
  shift 3
  if [ -f "$libs/.complete" ]; then return 0; fi
  jar_ensure_tools
  log "resolving $jar from Maven Central into $libs"
  local tmp="$libs.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  mvn -B -q -f "$pom" "$@" dependency:copy-dependencies -DoutputDirectory="$tmp" >&2
  ls "$tmp/$jar" >/dev/null
  touch "$tmp/.complete"
  # Another run may have won the race; either copy is complete.
  mkdir -p "$(dirname "$libs")"
  if ! mv -T "$tmp" "$libs" 2>/dev/null; then rm -rf "$tmp"; fi
  [ -f "$libs/.complete" ]
}

jar_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

jar_alive() {
  local pid
  [ -f "$1" ] || return 1
  pid="$(cat "$1")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

jar_stop() {
  local pidfile="$1" name="$2"
  if jar_alive "$pidfile"; then
    local pid
    pid="$(cat "$pidfile")"
    log "killing $name (pid $pid)"
    kill -9 "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
  fi
  rm -f "$pidfile"
}

jar_wait() {
  local pidfile="$1" out="$2" name="$3"
  shift 3
  for _ in $(seq 1 600); do
    local all=1 port
    for port in "$@"; do jar_listening "$port" || all=0; done
    [ "$all" = 1 ] && return 0
    if ! jar_alive "$pidfile"; then
      log "$name exited at start; last lines of $out:"
      tail -n 30 "$out" >&2 || true
      return 1
    fi
    sleep 0.1
  done
  log "$name did not listen within 60 s"
  return 1
}
