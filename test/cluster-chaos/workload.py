"""Scenario 23's clients: librdkafka (confluent-kafka from PyPI, the compat venv) producing and
consuming, one JSON line on stdout per observation, for chaos.slow.ts to check.

  workload.py produce BOOTSTRAP TOPIC PARTITIONS NAME INTERVAL_MS
      acks=all with idempotence; value NAME.INSTANCE-SEQ to partition SEQ % PARTITIONS, one every
      INTERVAL_MS; {"t":"ack","s":session,"q":seq,"p":partition,"o":offset,"v":value} per
      acknowledged write, {"t":"fail",...} per write not acknowledged; a fatal producer error
      ends the instance (its session) and a new one goes on. "stop" on stdin: flush, then
      {"t":"done"} and exit.
  workload.py consume BOOTSTRAP TOPIC PARTITIONS NAME
      read_committed, every partition assigned from the beginning (no group: one session);
      {"t":"read","s":NAME,"p":...,"o":...,"v":...} per record in read order. "drain" on stdin:
      read on until each partition's position reaches its high watermark asked then (the
      producers have stopped), then {"t":"done"} and exit.
"""
import json
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

# Delivery timeout of one write: a fault held for seconds is ridden out, a dead cluster is not.
MESSAGE_TIMEOUT_MS = 60_000
# A write not yet delivered when the stop comes gets this long to be (then it is reported failed).
FLUSH_TIMEOUT_S = 90
WATERMARK_TIMEOUT_S = 10

out_lock = threading.Lock()


def emit(event):
    with out_lock:
        sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
        sys.stdout.flush()


class Commands:
    """The last line read from stdin ("stop", "drain"; EOF is "stop")."""

    def __init__(self):
        self.command = None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in sys.stdin:
            self.command = line.strip()
        self.command = "stop"


def produce(bootstrap, topic, partitions, name, interval_ms):
    commands = Commands()
    instance = 0
    sent = 0
    while commands.command is None:
        session = f"{name}.{instance}"
        fatal = []

        def on_error(err, fatal=fatal, session=session):
            if err.fatal():
                fatal.append(str(err))
                emit({"t": "fatal", "s": session, "e": str(err)})

        producer = Producer({
            "bootstrap.servers": bootstrap,
            "client.id": session,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 5,
            "message.timeout.ms": MESSAGE_TIMEOUT_MS,
            "error_cb": on_error,
        })
        seq = 0
        while commands.command is None and not fatal:
            value = f"{session}-{seq}"

            def on_delivery(err, msg, seq=seq, value=value, session=session):
                if err is None:
                    emit({"t": "ack", "s": session, "q": seq, "p": msg.partition(), "o": msg.offset(), "v": value})
                else:
                    emit({"t": "fail", "s": session, "q": seq, "v": value, "e": str(err)})

            try:
                producer.produce(topic, value=value.encode(), partition=seq % partitions, on_delivery=on_delivery)
            except BufferError:
                producer.poll(0.1)
                continue
            seq += 1
            sent += 1
            producer.poll(interval_ms / 1000)
        left = producer.flush(FLUSH_TIMEOUT_S)
        emit({"t": "flushed", "s": session, "sent": seq, "undelivered": left})
        instance += 1
    emit({"t": "done", "s": name, "sent": sent})


def high_watermarks(consumer, topic, partitions):
    marks = {}
    for partition in range(partitions):
        while True:
            try:
                _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=WATERMARK_TIMEOUT_S, cached=False)
                marks[partition] = high
                break
            except Exception as error:  # the cluster settling: ask again
                emit({"t": "error", "s": "watermarks", "e": str(error)})
                time.sleep(0.2)
    return marks


def consume(bootstrap, topic, partitions, name):
    commands = Commands()
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "client.id": name,
        "group.id": name,
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
        "auto.offset.reset": "earliest",
    })
    consumer.assign([TopicPartition(topic, p, -2) for p in range(partitions)])  # -2: OFFSET_BEGINNING
    next_offset = {p: 0 for p in range(partitions)}
    end = None
    while True:
        if end is None and commands.command == "drain":
            end = high_watermarks(consumer, topic, partitions)
            emit({"t": "end", "s": name, "high": end})
        if commands.command == "stop":
            break
        if end is not None and all(next_offset[p] >= end[p] for p in end):
            break
        for msg in consumer.consume(num_messages=500, timeout=0.2):
            if msg.error() is not None:
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    emit({"t": "error", "s": name, "e": str(msg.error())})
                continue
            next_offset[msg.partition()] = msg.offset() + 1
            emit({"t": "read", "s": name, "p": msg.partition(), "o": msg.offset(), "v": msg.value().decode()})
    consumer.close()
    emit({"t": "done", "s": name})


if __name__ == "__main__":
    mode, bootstrap, topic, partitions, name = sys.argv[1:6]
    if mode == "produce":
        produce(bootstrap, topic, int(partitions), name, int(sys.argv[6]))
    else:
        consume(bootstrap, topic, int(partitions), name)
