#!/usr/bin/env bash
# Debian packages the tests use: real clients we did not write (kcat and
# python3-confluent-kafka carry librdkafka 2.0.2), and what 25-confluent-js.sh builds
# @confluentinc/kafka-javascript's librdkafka and addon with (a compiler, and the -dev
# libraries it links instead of downloading their sources).
set -euo pipefail
packages=(kcat python3-confluent-kafka
  build-essential python3 pkg-config zlib1g-dev libssl-dev libzstd-dev liblz4-dev libsasl2-dev
  libcurl4-openssl-dev)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
