"""Produce N keyed messages with headers through confluent_kafka (librdkafka) with a codec,
read them back by assignment (no group), and check them byte for byte, in order per partition.
usage: roundtrip.py BOOTSTRAP TOPIC CODEC COUNT PARTITIONS
Prints a JSON summary; exit 0 when every message came back identical."""
import json
import os
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def expected(i, partitions):
    key = b"key-%08d" % i
    value = (b"value-%08d-" % i) + bytes((i * 7 + j) % 256 for j in range(i % 97))
    headers = [("h-index", b"%d" % i), ("h-bin", bytes([i % 256, 0, 255]))]
    return i % partitions, key, value, headers


def main():
    bootstrap, topic, codec, count, partitions = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    verify_only = os.environ.get("VERIFY_ONLY") == "1"
    if not verify_only:
        admin = AdminClient({"bootstrap.servers": bootstrap})
        futures = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
        for f in futures.values():
            f.result(30)
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "compression.codec": codec,
        "linger.ms": 5,
        "batch.num.messages": 1000,
        "acks": "all",
        "enable.idempotence": False,
    })
    failures = []

    def report(err, _msg):
        if err is not None:
            failures.append(str(err))

    started = time.time()
    for i in range(0 if verify_only else count):
        partition, key, value, headers = expected(i, partitions)
        while True:
            try:
                producer.produce(topic, value=value, key=key, headers=headers, partition=partition, on_delivery=report)
                break
            except BufferError:
                producer.poll(0.05)
    remaining = producer.flush(60)
    produced_s = time.time() - started
    if remaining or failures:
        print(json.dumps({"ok": False, "stage": "produce", "remaining": remaining, "failures": failures[:5]}))
        return 1
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "roundtrip-unused",
        "enable.auto.commit": False,
        "enable.partition.eof": False,
        "fetch.wait.max.ms": 100,
    })
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    next_index = {p: p for p in range(partitions)}
    seen = 0
    deadline = time.time() + 120
    while seen < count and time.time() < deadline:
        for msg in consumer.consume(num_messages=1000, timeout=1.0):
            if msg.error():
                print(json.dumps({"ok": False, "stage": "consume", "error": str(msg.error())}))
                return 1
            p = msg.partition()
            i = next_index[p]
            _, key, value, headers = expected(i, partitions)
            got_headers = [(k, bytes(v) if v is not None else None) for k, v in (msg.headers() or [])]
            if msg.key() != key or msg.value() != value or got_headers != headers:
                print(json.dumps({"ok": False, "stage": "compare", "partition": p, "index": i, "offset": msg.offset()}))
                return 1
            next_index[p] = i + partitions
            seen += 1
    consumer.close()
    ok = seen == count
    print(json.dumps({"ok": ok, "seen": seen, "count": count, "produceSeconds": round(produced_s, 2)}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
