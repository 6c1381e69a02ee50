#!/usr/bin/env bash
# The reference cluster's jars: Apache Kafka (broker, tools, Java client) pinned in reference/pom.xml,
# resolved from Maven Central by Maven (checksums checked, cached in ~/.m2) and copied into
# ~/.cache/kstack/kafka-<version>/libs. Idempotent: does nothing when the jars are already there.
set -euo pipefail
cd "$(dirname "$0")/../.."
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' reference/pom.xml)"
libs="$HOME/.cache/kstack/kafka-$version/libs"
marker="$libs/.complete-$(sha256sum reference/pom.xml | cut -c1-16)"
if [ -f "$marker" ]; then
  echo "reference: Apache Kafka $version already in $libs"
  exit 0
fi
command -v java >/dev/null || { echo "reference: java (17+) is required" >&2; exit 1; }
if ! command -v mvn >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq maven >/dev/null
fi
rm -rf "$libs"
# Java takes user.home from the password database, not $HOME: the Maven cache and the jars' folder are
# named from $HOME here, so a setup run with another HOME (scripts/setup/test) keeps to it.
mvn -q -B -Dstyle.color=never -Dmaven.repo.local="$HOME/.m2/repository" -Dkafka.libs.dir="$libs" \
  -f reference/pom.xml package
rm -rf reference/target
touch "$marker"
echo "reference: Apache Kafka $version in $libs ($(ls "$libs" | wc -l) jars)"
