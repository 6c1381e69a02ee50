#!/usr/bin/env bash
# Docker Compose, built from the Go module proxy (scripts/setup/compose/go.mod pins it and its
# dependencies in go.sum). No Docker engine runs here, but `docker compose config` needs none: the
# seeds' VAL-MSG-001 (`COMPOSE_PROFILES=... docker compose --env-file .env.example config -q`) runs
# verbatim with the real Compose (test/validate/compose-cli.test.ts). The binary is also installed as
# a Docker CLI plugin in a folder of our own, used through DOCKER_CONFIG, so the user's ~/.docker is
# never touched. Idempotent: rebuilt only when go.mod or go.sum change.
# Cache: ~/.cache/kstack/bin/docker-compose, ~/.cache/kstack/docker/cli-plugins; Go's module cache.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/setup/build-env.sh
cache_dir="${KSTACK_CACHE_DIR:-$HOME/.cache/kstack}"
binary="$cache_dir/bin/docker-compose"
plugins="$cache_dir/docker/cli-plugins"
stamp="$binary.sha256"
wanted="$(cat scripts/setup/compose/go.mod scripts/setup/compose/go.sum | sha256sum | cut -d' ' -f1)"
if [ ! -x "$binary" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  mkdir -p "$cache_dir/bin"
  version="$(sed -n 's:^\tgithub.com/docker/compose/v5 \(v[^ ]*\).*:\1:p' scripts/setup/compose/go.mod)"
  [ -n "$version" ] || { echo "compose: no github.com/docker/compose/v5 version in scripts/setup/compose/go.mod" >&2; exit 1; }
  (cd scripts/setup/compose && nice go build -trimpath -buildvcs=false \
    -ldflags "-s -w -X github.com/docker/compose/v5/internal.Version=$version" \
    -o "$binary" github.com/docker/compose/v5/cmd)
  echo "$wanted" >"$stamp"
fi
mkdir -p "$plugins"
ln -sf "$binary" "$plugins/docker-compose"
