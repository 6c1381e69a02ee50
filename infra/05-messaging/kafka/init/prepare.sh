#!/bin/sh
# kafka-prepare (runs as root, once, before the brokers):
# 1. Broker data folders: bind mounts created by the Docker daemon belong to
#    root, but the Confluent images run as uid 1000. Create one folder per
#    broker and hand it to uid 1000 so the brokers can format and write them.
# 2. The JMX exporter agent: fetched once from Maven Central into the jmx-agent
#    volume and checked against the SHA-1 published beside it.
set -eu

for broker in kafka-1 kafka-2 kafka-3; do
  mkdir -p "/data/kafka/$broker"
  chown 1000:1000 "/data/kafka/$broker"
done

version="${JMX_EXPORTER_VERSION:?JMX_EXPORTER_VERSION is required}"
jar=/opt/jmx-exporter/jmx_prometheus_javaagent.jar
stamp=/opt/jmx-exporter/version
if [ -f "$jar" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  echo "kafka-prepare: JMX exporter agent $version already present"
  exit 0
fi
url="https://repo1.maven.org/maven2/io/prometheus/jmx/jmx_prometheus_javaagent/$version/jmx_prometheus_javaagent-$version.jar"
curl -fsSL --retry 3 -o "$jar.tmp" "$url"
expected="$(curl -fsSL --retry 3 "$url.sha1" | cut -c1-40)"
echo "$expected  $jar.tmp" | sha1sum -c -
mv "$jar.tmp" "$jar"
chmod 0644 "$jar"
echo "$version" > "$stamp"
echo "kafka-prepare: JMX exporter agent $version installed"
