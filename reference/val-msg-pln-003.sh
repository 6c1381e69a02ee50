#!/usr/bin/env bash
# The seeds' VAL-MSG-PLN-003 smoke chain (topic create + produce + consume, AC-MSG-001) with Kafka's own
# tools from the reference jars, against any cluster: the seeds' command minus `docker exec` and minus
# `docker compose up`. Exit 0 when the consumer reads back the produced message.
#   usage: reference/val-msg-pln-003.sh [--bootstrap-server HOST:PORT] [--replication-factor N] [--topic T]
# Defaults: 127.0.0.1:9092, replication factor 3 and topic events-topic, as in the seeds
# (use --replication-factor 1 against a single broker).
set -euo pipefail
bin="$(cd "$(dirname "${BASH_SOURCE[0]}")/bin" && pwd)"
bootstrap=127.0.0.1:9092 rf=3 topic=events-topic
while [ $# -gt 0 ]; do
  case "$1" in
    --bootstrap-server) bootstrap="$2"; shift 2 ;;
    --replication-factor) rf="$2"; shift 2 ;;
    --topic) topic="$2"; shift 2 ;;
    *) echo "usage: $0 [--bootstrap-server HOST:PORT] [--replication-factor N] [--topic T]" >&2; exit 2 ;;
  esac
done
# The seeds filter with ripgrep; grep -F does the same where rg is missing.
match() { if command -v rg >/dev/null 2>&1; then rg -q "$1"; else grep -qF "$1"; fi; }
set -x
"$bin/kafka-topics" --bootstrap-server "$bootstrap" --create --if-not-exists --topic "$topic" \
    --partitions 1 --replication-factor "$rf" \
  && echo "hello" | "$bin/kafka-console-producer" --bootstrap-server "$bootstrap" --topic "$topic" >/dev/null \
  && "$bin/kafka-console-consumer" --bootstrap-server "$bootstrap" --topic "$topic" --from-beginning \
    --max-messages 1 --timeout-ms 10000 | match "hello"
