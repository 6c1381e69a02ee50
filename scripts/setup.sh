#!/usr/bin/env bash
# Installs everything the test suite needs, idempotently: each scripts/setup/NN-*.sh
# checks what is already there before installing. Downloads are cached in the
# machine's usual places (~/.m2, ~/.cache, Go's module cache). Each step's time is
# printed, so a fresh machine's setup can be read stage by stage.
#
# A run that starts with no ~/.cache/kstack (a fresh machine) and passes leaves
# setup-from-empty.json there: scripts/setup/test/from-empty.test.ts takes that run, made
# through the README's own path, as its proof instead of building everything a second time.
set -euo pipefail
cd "$(dirname "$0")/.."
cache_dir="${KSTACK_CACHE_DIR:-$HOME/.cache/kstack}"
started_from_empty=false
[ -e "$cache_dir" ] || started_from_empty=true
started_at=$(date +%s)
for step in scripts/setup/[0-9][0-9]-*.sh; do
  [ -e "$step" ] || continue
  echo "setup: $step"
  started=$SECONDS
  bash "$step"
  echo "setup: $step done in $((SECONDS - started)) s"
done
if $started_from_empty; then
  mkdir -p "$cache_dir"
  # npm_config_nodedir is what npm handed this run from the user's npm config (empty when unset).
  printf '{"startedAt":%s,"finishedAt":%s,"npmConfigNodedir":"%s"}\n' \
    "$started_at" "$(date +%s)" "${npm_config_nodedir:-}" >"$cache_dir/setup-from-empty.json"
fi
