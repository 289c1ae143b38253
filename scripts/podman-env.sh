#!/usr/bin/env bash
# A throwaway Podman engine for the container tests: a Docker-compatible API on a unix socket,
# with its own storage, config and a tiny local busybox image (no registry is needed).
#
#   scripts/podman-env.sh <dir>        start it (idempotent); the last stdout line is the socket URL
#   scripts/podman-env.sh <dir> stop   stop the service started in <dir>
#
# Everything lives under <dir>: containers.conf, storage.conf, storage/, run/, podman.sock,
# podman.pid, service.log. Installs podman (apt) when it is missing. Progress goes to stderr so
# stdout carries only the socket URL.
set -euo pipefail

IMAGE="localhost/chronoverse-test/busybox:latest"
APPLETS="sh ash echo cat sleep ls head tail yes seq dd printf true false env pwd tr wc grep sed awk \
  id kill mkdir rm touch date uname hostname nproc ps tee sort uniq cut expr test [ basename dirname \
  stat timeout ln cp mv chmod"

usage() {
  echo "usage: $0 <dir> [stop]" >&2
  exit 2
}

[ $# -ge 1 ] && [ $# -le 2 ] || usage
mkdir -p "$1"
DIR="$(cd "$1" && pwd)"
SOCK="$DIR/podman.sock"
PIDFILE="$DIR/podman.pid"
URL="unix://$SOCK"

log() { printf '[podman-env] %s\n' "$*" >&2; }

alive() {
  local pid
  [ -f "$PIDFILE" ] || return 1
  pid="$(cat "$PIDFILE")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

answers() {
  [ -S "$SOCK" ] && [ "$(curl -s --max-time 2 --unix-socket "$SOCK" http://d/_ping 2>/dev/null || true)" = "OK" ]
}

stop_service() {
  if alive; then
    local pid
    pid="$(cat "$PIDFILE")"
    log "stopping podman service (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE" "$SOCK"
}

if [ "${2:-}" = "stop" ]; then
  stop_service
  exit 0
elif [ -n "${2:-}" ]; then
  usage
fi

# --- packages ------------------------------------------------------------------------------------
is_static_busybox() {
  [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1
}
missing=()
command -v podman >/dev/null 2>&1 || missing+=(podman runc uidmap slirp4netns)
is_static_busybox || missing+=(busybox-static)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
is_static_busybox || {
  echo "/bin/busybox is not a static binary (install busybox-static)" >&2
  exit 1
}

# --- configuration -------------------------------------------------------------------------------
mkdir -p "$DIR/run" "$DIR/storage" "$DIR/tmp"
cat >"$DIR/containers.conf" <<EOF
[containers]
default_ulimits = []
netns = "none"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$DIR/tmp"
EOF
cat >"$DIR/storage.conf" <<EOF
[storage]
driver = "vfs"
runroot = "$DIR/run"
graphroot = "$DIR/storage"
EOF
export CONTAINERS_CONF="$DIR/containers.conf"
export CONTAINERS_STORAGE_CONF="$DIR/storage.conf"

if alive && answers; then
  log "podman service already running (pid $(cat "$PIDFILE"))"
  echo "$URL"
  exit 0
fi
stop_service # a stale pid file or a service that no longer answers

# --- test image ----------------------------------------------------------------------------------
if ! podman image exists "$IMAGE" 2>/dev/null; then
  log "importing $IMAGE"
  rootfs="$(mktemp -d "$DIR/rootfs.XXXXXX")"
  mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/root" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev"
  mkdir -m 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $APPLETS; do
    ln -s busybox "$rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  tar -C "$rootfs" -c . | podman import - "$IMAGE" >&2
  rm -rf "$rootfs"
fi

# --- service -------------------------------------------------------------------------------------
log "starting podman system service on $URL"
rm -f "$SOCK"
# From inside $DIR: conmon drops marker files (e.g. "oom") in the service's working directory.
(cd "$DIR" && exec nohup podman system service --time=0 "$URL" >"$DIR/service.log" 2>&1 </dev/null) &
echo $! >"$PIDFILE"

for _ in $(seq 1 300); do
  if answers; then
    echo "$URL"
    exit 0
  fi
  alive || break
  sleep 0.1
done
echo "the podman service did not answer on $SOCK within 30 s; $DIR/service.log says:" >&2
tail -n 20 "$DIR/service.log" >&2 || true
stop_service
exit 1
