#!/usr/bin/env bash
# Schema Registry clients for test/registry: confluent-kafka's SchemaRegistryClient and its Avro,
# JSON Schema and Protobuf serializers, from PyPI, in a venv kept outside the work tree.
# (Confluent's Java serializers are on Confluent's own Maven repository, not Maven Central,
# so they cannot be installed here.) Idempotent: rebuilt only when requirements.txt changes.
# Cache: ~/.cache/pip.
set -euo pipefail
cd "$(dirname "$0")/../.."
cache_dir="${KSTACK_CACHE_DIR:-$HOME/.cache/kstack}"
venv="$cache_dir/venv-registry"
requirements=test/registry/python/requirements.txt
stamp="$venv/.requirements.sha256"
wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  mkdir -p "$cache_dir"
  python="${KSTACK_PYTHON:-python3}"
  "$python" -m venv --clear "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
  echo "$wanted" >"$stamp"
fi
