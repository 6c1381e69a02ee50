#!/usr/bin/env bash
# Kafka Connect beside the embedded cluster (src/connect): the worker runs from the reference's jars
# (connect-runtime, connect-json, connect-transforms are among them: scripts/setup/30-reference.sh);
# this adds the shipped plugins pinned in src/connect/pom.xml (FileStream source and sink,
# MirrorMaker 2's connectors), resolved from Maven Central by Maven (checksums checked, cached in
# ~/.m2) and copied into ~/.cache/kstack/connect-<version>/plugins/<plugin>/. Idempotent: does
# nothing when the plugins are already there.
set -euo pipefail
cd "$(dirname "$0")/../.."
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' src/connect/pom.xml)"
reference_version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' reference/pom.xml)"
if [ "$version" != "$reference_version" ]; then
  echo "connect: src/connect/pom.xml pins Kafka $version but reference/pom.xml pins $reference_version; they must match" >&2
  exit 1
fi
plugins="$HOME/.cache/kstack/connect-$version/plugins"
marker="$plugins/.complete-$(sha256sum src/connect/pom.xml | cut -c1-16)"
if [ -f "$marker" ]; then
  echo "connect: plugins for Kafka $version already in $plugins"
  exit 0
fi
command -v java >/dev/null || { echo "connect: java (17+) is required" >&2; exit 1; }
if ! command -v mvn >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq maven >/dev/null
fi
rm -rf "$plugins"
# Java takes user.home from the password database, not $HOME (see 30-reference.sh).
mvn -q -B -Dstyle.color=never -Dmaven.repo.local="$HOME/.m2/repository" -Dconnect.plugins.dir="$plugins" \
  -f src/connect/pom.xml package
rm -rf src/connect/target
touch "$marker"
echo "connect: plugins for Kafka $version in $plugins ($(find "$plugins" -name '*.jar' | wc -l) jars)"
