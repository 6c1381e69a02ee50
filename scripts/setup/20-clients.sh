#!/usr/bin/env bash
# Client drivers of the compatibility matrix (compat/clients/): a Python venv with the
# pinned PyPI clients (confluent-kafka, kafka-python and its codecs) and the franz-go
# driver binary. Idempotent: the venv is rebuilt only when requirements.txt changes,
# the Go binary and the Go fixture's test build only when their sources change. Caches: ~/.cache/pip, Go's module cache.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/setup/build-env.sh
cache_dir="${KSTACK_CACHE_DIR:-$HOME/.cache/kstack}"
mkdir -p "$cache_dir/bin"

# PyPI clients, in a venv kept outside the work tree.
venv="$cache_dir/venv"
requirements=compat/clients/python/requirements.txt
stamp="$venv/.requirements.sha256"
wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  python="${KSTACK_PYTHON:-python3}"
  "$python" -m venv --clear "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
  echo "$wanted" >"$stamp"
fi

# franz-go driver, built from compat/clients/go (go.mod/go.sum pin kgo and kadm).
binary="$cache_dir/bin/franz-driver"
binary_stamp="$binary.sha256"
wanted="$(cat compat/clients/go/go.mod compat/clients/go/go.sum compat/clients/go/*.go | sha256sum | cut -d' ' -f1)"
if [ ! -x "$binary" ] || [ "$(cat "$binary_stamp" 2>/dev/null)" != "$wanted" ]; then
  (cd compat/clients/go && nice go build -trimpath -buildvcs=false -o "$binary" .)
  echo "$wanted" >"$binary_stamp"
fi

# The Go test fixture (examples/go, franz-go at the driver's versions): its test binary is
# compiled here, with build-env's settings and the same flags test/testing/fixtures.slow.ts
# passes, so the test finds every package in Go's build cache and needs no network. Without
# this the slow test compiled franz-go itself: 225 s in CI, 9 s with the cache warm.
fixture_stamp="$cache_dir/go-fixture.sha256"
wanted="$(cat examples/go/go.mod examples/go/go.sum examples/go/kstacktest/*.go | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$fixture_stamp" 2>/dev/null)" != "$wanted" ]; then
  (cd examples/go && nice go test -trimpath -buildvcs=false -c -o /dev/null ./kstacktest)
  echo "$wanted" >"$fixture_stamp"
fi
