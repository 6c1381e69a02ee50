"""Writes numbered messages to one partition as fast as possible until killed or the broker goes away;
prints the highest acknowledged sequence number on each line of stdout (for the kill -9 test).
usage: crash_writer.py BOOTSTRAP TOPIC"""
import sys

from confluent_kafka import Producer


def main():
    bootstrap, topic = sys.argv[1], sys.argv[2]
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 2, "acks": "1",
                         "message.timeout.ms": 3000, "enable.idempotence": False})
    acked = [-1]

    def report(err, msg):
        if err is None:
            seq = int(msg.value().split(b"-")[1])
            if seq > acked[0]:
                acked[0] = seq
    i = 0
    last_printed = -1
    while True:
        try:
            producer.produce(topic, value=b"seq-%09d-" % i + b"x" * 200, partition=0, on_delivery=report)
            i += 1
        except BufferError:
            producer.poll(0.01)
        if i % 1000 == 0:
            producer.poll(0)
            if acked[0] != last_printed:
                last_printed = acked[0]
                print(acked[0], flush=True)


if __name__ == "__main__":
    main()
