#!/usr/bin/env bash
# Debian packages the tests use: real clients we did not write (kcat and
# python3-confluent-kafka carry librdkafka 2.0.2).
set -euo pipefail
packages=(kcat python3-confluent-kafka)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
