#!/usr/bin/env bash
# kafka-init: create every topic listed in $TOPICS_FILE, idempotently.
# Line format: NAME PARTITIONS REPLICATION_FACTOR [CONFIG=VALUE ...]; '#' starts a comment.
set -euo pipefail

# The CLI must not inherit a JMX agent or a broker-sized heap.
export KAFKA_OPTS="" JMX_PORT="" KAFKA_JMX_OPTS=""
: "${BOOTSTRAP_SERVERS:?BOOTSTRAP_SERVERS is required}"
: "${TOPICS_FILE:?TOPICS_FILE is required}"

line_number=0
while IFS= read -r line || [[ -n "$line" ]]; do
  line_number=$((line_number + 1))
  line="${line%%#*}"
  read -r -a fields <<< "$line"
  [[ ${#fields[@]} -eq 0 ]] && continue
  if [[ ${#fields[@]} -lt 3 ]]; then
    echo "kafka-init: $TOPICS_FILE:$line_number: expected NAME PARTITIONS REPLICATION_FACTOR" >&2
    exit 1
  fi
  config_args=()
  for config in "${fields[@]:3}"; do
    config_args+=(--config "$config")
  done
  echo "kafka-init: topic ${fields[0]} (partitions ${fields[1]}, replication factor ${fields[2]})"
  kafka-topics --bootstrap-server "$BOOTSTRAP_SERVERS" --create --if-not-exists \
    --topic "${fields[0]}" --partitions "${fields[1]}" --replication-factor "${fields[2]}" \
    "${config_args[@]}"
done < "$TOPICS_FILE"
echo "kafka-init: done"
