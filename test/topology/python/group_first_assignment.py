"""Time from subscribe to the first assignment of a 3-member consumer group (PyPI confluent-kafka).

Usage: group_first_assignment.py BOOTSTRAP TOPIC GROUP [MEMBERS]
Three consumers in one process, each polling in its own thread, subscribe at the same moment;
prints one JSON line: the milliseconds until the first member got partitions (firstMs) and
until every member had them (allMs), and the partitions each member holds.
"""
import json
import sys
import threading
import time

from confluent_kafka import Consumer

TIMEOUT_S = 60.0


def main() -> None:
    bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
    members = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    assigned_at: dict[int, float] = {}
    held: dict[int, list[int]] = {}
    lock = threading.Lock()
    start = threading.Event()
    t0 = [0.0]

    def run(index: int) -> None:
        consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "client.id": f"member-{index}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )

        def on_assign(_consumer, partitions):
            with lock:
                held[index] = sorted(p.partition for p in partitions)
                if partitions and index not in assigned_at:
                    assigned_at[index] = time.monotonic()

        start.wait()
        consumer.subscribe([topic], on_assign=on_assign)
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            consumer.poll(0.05)
            with lock:
                if len(assigned_at) == members:
                    break
        consumer.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(members)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # let every thread reach start.wait(): the clients are built before t0
    t0[0] = time.monotonic()
    start.set()
    for thread in threads:
        thread.join()
    if len(assigned_at) < members:
        print(json.dumps({"error": f"only {len(assigned_at)} of {members} members assigned in {TIMEOUT_S} s"}))
        sys.exit(1)
    times = sorted((at - t0[0]) * 1000 for at in assigned_at.values())
    print(json.dumps({"firstMs": round(times[0]), "allMs": round(times[-1]), "held": held}))


if __name__ == "__main__":
    main()
