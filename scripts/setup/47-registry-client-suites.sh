#!/usr/bin/env bash
# Jest, to run the integration tests @confluentinc/schemaregistry ships (dist/e2e/*.spec.js, Jest
# specs that take a registry URL) against kstack's registry: `node test/registry/client-suites.long.ts`.
# Installed outside the work tree (~/.cache/kstack/registry-suites-jest-<version>) only when missing;
# the package itself comes from 40-registry-clients.sh. Cache: ~/.npm.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/setup/node.sh
cache_dir="${KSTACK_CACHE_DIR:-$HOME/.cache/kstack}"
version=30.5.2
home="$cache_dir/registry-suites-jest-$version"
if [ ! -f "$home/.installed" ]; then
  rm -rf "$home"
  mkdir -p "$home"
  echo '{"private":true}' >"$home/package.json"
  (cd "$home" && npm install --no-fund --no-audit --ignore-scripts --loglevel=error "jest@$version" >/dev/null)
  touch "$home/.installed"
fi
