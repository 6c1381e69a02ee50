#!/usr/bin/env bash
# Runs the Java client driver: compiles Driver.java against the reference Kafka jars once per source
# version (into ~/.cache/kstack/java-driver/<hash>), then runs it. The jars come from reference/pom.xml.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$root/reference/pom.xml")"
libs="${KSTACK_KAFKA_LIBS:-$HOME/.cache/kstack/kafka-$version/libs}"
if [ ! -f "$libs/kafka-clients-$version.jar" ]; then
  # Answer per the protocol: every step fails with CLIENT_NOT_INSTALLED.
  exec node -e '
    const job = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const message = process.argv[1];
    const results = job.steps.map((s) => ({ id: s.id, op: s.op, status: "error", error: "CLIENT_NOT_INSTALLED", message, value: null }));
    process.stdout.write(JSON.stringify({ protocol: 1, client: { name: "java", version: "missing" }, results }) + "\n");
  ' "kafka-clients $version is not in $libs: run bash scripts/setup/30-reference.sh"
fi
hash="$(cat "$here/Driver.java" "$root/reference/pom.xml" | sha256sum | cut -c1-16)"
classes="$HOME/.cache/kstack/java-driver/$hash"
if [ ! -f "$classes/Driver.class" ]; then
  mkdir -p "$classes.tmp.$$"
  javac -nowarn -d "$classes.tmp.$$" -cp "$libs/*" "$here/Driver.java" >&2
  rm -rf "$classes" && mv "$classes.tmp.$$" "$classes"
fi
# KSTACK_JAVA_LOG4J2=FILE replaces the quiet logging (warnings to stderr) with another log4j2
# configuration, e.g. debug-log4j2.properties here: group coordination and every request at DEBUG.
exec java -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto \
  -Dlog4j2.configurationFile="${KSTACK_JAVA_LOG4J2:-$root/reference/tools-log4j2.properties}" \
  -cp "$classes:$libs/*" Driver
