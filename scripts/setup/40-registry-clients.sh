#!/usr/bin/env bash
# Schema Registry clients for test/registry, installed outside the work tree:
# - PyPI: confluent-kafka's SchemaRegistryClient and its Avro, JSON Schema and Protobuf serializers,
#   in a venv (~/.cache/kstack/venv-registry), rebuilt only when requirements.txt changes;
# - Go: franz-go's pkg/sr in test/registry/go, built to ~/.cache/kstack/bin/registry-go-driver
#   (rebuilt only when its sources change; Go's module cache);
# - npm: @confluentinc/schemaregistry, Confluent's Node client and serdes
#   (~/.cache/kstack/schemaregistry-js-<version>), not a project dependency because it pulls in
#   cloud KMS SDKs (283 packages, 168 MB); installed only when missing.
# Confluent's Java serializers are on Confluent's own Maven repository, not Maven Central, so they
# cannot be installed here. Caches: ~/.cache/pip, ~/.npm.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/setup/build-env.sh
. scripts/setup/node.sh
cache_dir="${KSTACK_CACHE_DIR:-$HOME/.cache/kstack}"
mkdir -p "$cache_dir"

venv="$cache_dir/venv-registry"
requirements=test/registry/python/requirements.txt
stamp="$venv/.requirements.sha256"
wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  python="${KSTACK_PYTHON:-python3}"
  "$python" -m venv --clear "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
  echo "$wanted" >"$stamp"
fi

version=1.10.1
home="$cache_dir/schemaregistry-js-$version"
if [ ! -f "$home/.installed" ]; then
  rm -rf "$home"
  mkdir -p "$home"
  echo '{"private":true}' >"$home/package.json"
  (cd "$home" && npm install --no-fund --no-audit --ignore-scripts --loglevel=error \
    "@confluentinc/schemaregistry@$version" >/dev/null)
  touch "$home/.installed"
fi

binary="$cache_dir/bin/registry-go-driver"
binary_stamp="$binary.sha256"
wanted="$(cat test/registry/go/go.mod test/registry/go/go.sum test/registry/go/*.go | sha256sum | cut -d' ' -f1)"
if [ ! -x "$binary" ] || [ "$(cat "$binary_stamp" 2>/dev/null)" != "$wanted" ]; then
  mkdir -p "$cache_dir/bin"
  (cd test/registry/go && nice go build -trimpath -buildvcs=false -o "$binary" .)
  echo "$wanted" >"$binary_stamp"
fi
