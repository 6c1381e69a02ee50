#!/usr/bin/env bash
# libfaketime (Debian's faketime and libfaketime packages) for test/cluster-chaos: the chaos test
# starts kstack's nodes with LD_PRELOAD of libfaketime so a node's wall clock can jump ahead or
# back while it runs (facts scenario 23, clock skew). Idempotent: does nothing when the library
# is already installed.
set -euo pipefail
library=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
if [ -f "$library" ]; then
  echo "faketime: $library already installed"
  exit 0
fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq faketime libfaketime >/dev/null
[ -f "$library" ] || { echo "faketime: $library missing after installing libfaketime" >&2; exit 1; }
echo "faketime: $library installed"
