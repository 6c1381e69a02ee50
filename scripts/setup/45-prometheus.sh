#!/usr/bin/env bash
# Prometheus from Debian (prometheus and promtool): test/metrics scrapes the embedded
# broker's /metrics and `kstack exporter` with a real Prometheus and checks every
# endpoint with `promtool check metrics`. Only the binaries are used: the tests start
# their own Prometheus on their own port and data folder, so the package's service is
# not started (policy-rc.d-free way: we never call it, and stop it if the package did).
set -euo pipefail
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # RUNLEVEL=1 makes invoke-rc.d skip starting the packaged service in containers without systemd.
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
prometheus --version 2>&1 | head -1

# The JMX exporter agent (Maven Central), so test/metrics can run the reference Kafka with the
# Docker stack's rules and compare its metric names with kstack's. The stack pins 1.3.0, which
# the Maven mirror here does not serve; the rules behave the same on 1.0.1.
JMX_EXPORTER_VERSION=1.0.1
jmx_dir="$HOME/.cache/kstack/jmx-exporter"
jmx_jar="$jmx_dir/jmx_prometheus_javaagent-$JMX_EXPORTER_VERSION.jar"
if [ ! -f "$jmx_jar" ]; then
  command -v mvn >/dev/null || { echo "prometheus: maven is needed (scripts/setup/30-reference.sh installs it)" >&2; exit 1; }
  # The Maven cache follows $HOME, as in 30-reference.sh (Java reads user.home from the password database).
  mvn -q -B -Dstyle.color=never -Dmaven.repo.local="$HOME/.m2/repository" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    "-Dartifact=io.prometheus.jmx:jmx_prometheus_javaagent:$JMX_EXPORTER_VERSION" "-DoutputDirectory=$jmx_dir"
fi
echo "prometheus: JMX exporter agent in $jmx_jar"
