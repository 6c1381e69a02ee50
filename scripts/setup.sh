#!/usr/bin/env bash
# Installs everything the test suite needs, idempotently: each scripts/setup/NN-*.sh
# checks what is already there before installing. Downloads are cached in the
# machine's usual places (~/.m2, ~/.cache, Go's module cache). Each step's time is
# printed, so a fresh machine's setup can be read stage by stage.
set -euo pipefail
cd "$(dirname "$0")/.."
for step in scripts/setup/[0-9][0-9]-*.sh; do
  [ -e "$step" ] || continue
  echo "setup: $step"
  started=$SECONDS
  bash "$step"
  echo "setup: $step done in $((SECONDS - started)) s"
done
