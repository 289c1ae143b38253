#!/usr/bin/env bash
# buf, the protobuf compiler, from npm at a pinned version. Not a dev dependency: its package lists
# optional binaries for every platform, and the registry this project installs from lacks the macOS
# and Windows ones, so a lock file with it never satisfies `npm ci`. npx installs it (and only the
# binary for this platform) into npm's cache on first use.
set -euo pipefail
exec npx --yes @bufbuild/buf@1.75.0 "$@"
