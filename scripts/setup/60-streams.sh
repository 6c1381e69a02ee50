#!/usr/bin/env bash
# Kafka Streams for test/eos (the exactly-once tests): kafka-streams at the reference's Kafka version and
# the RocksDB JNI jar it depends on, resolved from Maven Central by Maven (strict checksums, cached in
# ~/.m2) and copied into ~/.cache/kstack/kafka-streams-<version>/libs. Its other dependencies
# (kafka-clients, slf4j, jackson) are among the reference's jars (30-reference.sh), which the tests put
# on the same class path. Idempotent: does nothing when the jars are already there.
set -euo pipefail
cd "$(dirname "$0")/../.."
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' reference/pom.xml)"
# kafka-streams 4.1.1's pom pins rocksdbjni 9.7.3.
rocksdb_version=9.7.3
libs="$HOME/.cache/kstack/kafka-streams-$version/libs"
marker="$libs/.complete-$rocksdb_version"
if [ -f "$marker" ]; then
  echo "streams: Kafka Streams $version already in $libs"
  exit 0
fi
command -v java >/dev/null || { echo "streams: java (17+) is required" >&2; exit 1; }
if ! command -v mvn >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq maven >/dev/null
fi
rm -rf "$libs"
mkdir -p "$libs"
for artifact in "org.apache.kafka:kafka-streams:$version" "org.rocksdb:rocksdbjni:$rocksdb_version"; do
  # Java takes user.home from the password database, not $HOME (see 30-reference.sh).
  mvn -q -B -C -Dstyle.color=never -Dmaven.repo.local="$HOME/.m2/repository" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="$artifact" -DoutputDirectory="$libs"
done
touch "$marker"
echo "streams: Kafka Streams $version in $libs ($(ls "$libs" | wc -l) jars)"
