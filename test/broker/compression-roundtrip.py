"""Produce with every codec into topics of every compression.type through confluent_kafka
(librdkafka), read everything back by assignment and check it byte for byte.
usage: compression-roundtrip.py BOOTSTRAP PREFIX COUNT
Creates PREFIX-<type> for each compression.type and PREFIX-lat (gzip, LogAppendTime).
Prints one JSON line: ok, and per topic the offset range each producer codec got."""
import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
TYPES = ["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"]
BASE_TS = int(time.time() * 1000) - 60_000


def expected(codec, i):
    key = b"k-%s-%d" % (codec.encode(), i)
    # Compressible (so librdkafka does compress) yet not uniform, with every byte value.
    value = (b"value-%s-%d|" % (codec.encode(), i)) * 30 + bytes(range(256))[i % 256:]
    headers = [("h-index", b"%d" % i), ("h-bin", bytes([i % 256, 0, 255])), ("h-null", None)]
    timestamp = BASE_TS + (i * 7) % 13  # not in order: the base timestamp is not the minimum
    return key, value, headers, timestamp


def main():
    bootstrap, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    topics = {f"{prefix}-{t}": ({} if t == "producer" else {"compression.type": t}) for t in TYPES}
    topics[f"{prefix}-lat"] = {"compression.type": "gzip", "message.timestamp.type": "LogAppendTime"}
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(t, num_partitions=1, replication_factor=1, config=c) for t, c in topics.items()])
    for f in futures.values():
        f.result(30)
    ranges = {t: {} for t in topics}
    errors = []
    started = int(time.time() * 1000)
    for codec in CODECS:
        producer = Producer({
            "bootstrap.servers": bootstrap,
            "compression.codec": codec,
            "linger.ms": 20,
            "acks": "all",
            "enable.idempotence": codec in ("gzip", "lz4"),
        })

        def report(err, msg, codec=codec):
            if err is not None:
                errors.append(f"{codec}: {err}")
                return
            r = ranges[msg.topic()].setdefault(codec, [msg.offset(), msg.offset()])
            r[0], r[1] = min(r[0], msg.offset()), max(r[1], msg.offset())

        for topic in topics:
            for i in range(count):
                key, value, headers, timestamp = expected(codec, i)
                producer.produce(topic, value=value, key=key, headers=headers, partition=0,
                                 timestamp=timestamp, on_delivery=report)
            producer.poll(0)
        left = producer.flush(60)
        if left:
            errors.append(f"{codec}: {left} messages not delivered")
    finished = int(time.time() * 1000)

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{prefix}-check",
                         "enable.auto.commit": False, "enable.partition.eof": True})
    consumer.assign([TopicPartition(t, 0, 0) for t in topics])
    seen = {t: [] for t in topics}
    eof = set()
    deadline = time.time() + 60
    while len(eof) < len(topics) and time.time() < deadline:
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == -191:  # _PARTITION_EOF
                if len(seen[msg.topic()]) >= count * len(CODECS):
                    eof.add(msg.topic())
                continue
            errors.append(str(msg.error()))
            continue
        seen[msg.topic()].append(msg)
    consumer.close()

    mismatches = []
    for topic, messages in seen.items():
        lat = topic.endswith("-lat")
        if len(messages) != count * len(CODECS):
            mismatches.append(f"{topic}: {len(messages)} messages, expected {count * len(CODECS)}")
            continue
        for n, msg in enumerate(messages):
            codec, i = CODECS[n // count], n % count
            key, value, headers, timestamp = expected(codec, i)
            ts_type, ts = msg.timestamp()
            if msg.key() != key or msg.value() != value or list(msg.headers() or []) != headers:
                mismatches.append(f"{topic} offset {msg.offset()}: content differs")
            elif lat and not (ts_type == 2 and started <= ts <= finished):
                mismatches.append(f"{topic} offset {msg.offset()}: timestamp {ts_type}/{ts}, expected log-append time")
            elif not lat and (ts_type, ts) != (1, timestamp):
                mismatches.append(f"{topic} offset {msg.offset()}: timestamp {ts_type}/{ts}, expected create time {timestamp}")
            if len(mismatches) > 20:
                break
    print(json.dumps({"ok": not errors and not mismatches, "errors": errors[:20], "mismatches": mismatches[:20],
                      "ranges": ranges}))


if __name__ == "__main__":
    main()
