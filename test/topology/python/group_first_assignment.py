"""Time from subscribe to the first assignment of a 3-member consumer group (PyPI confluent-kafka).

Usage: group_first_assignment.py BOOTSTRAP TOPIC GROUP [MEMBERS]
Three consumers in one process, each polling in its own thread, subscribe at the same moment;
prints one JSON line: the milliseconds until the first member got partitions (firstMs) and
until every member had them (allMs), and the partitions each member holds.
Before t0 the group's coordinator is found (an admin DescribeConsumerGroups, retried): a broker
creates `__consumer_offsets` on a group's first FindCoordinator, and on a loaded 3-node cluster
that took 2.5 s once, which is not what this measures (the first rebalance's delay is).
"""
import json
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

TIMEOUT_S = 60.0
COORDINATOR_TIMEOUT_S = 120.0


def wait_for_coordinator(bootstrap: str, group: str) -> None:
    """Until the group's coordinator answers DescribeConsumerGroups: an unknown group reads as Dead
    (DescribeGroups before v6) or GROUP_ID_NOT_FOUND (v6, KIP-1043); both come from the coordinator."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + COORDINATOR_TIMEOUT_S
    while True:
        try:
            admin.describe_consumer_groups([group], request_timeout=10)[group].result()
            return
        except KafkaException as error:
            if error.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND:
                return
            if time.monotonic() >= deadline:
                raise RuntimeError(f"no coordinator for group {group} in {COORDINATOR_TIMEOUT_S} s: {error}")
            time.sleep(0.1)


def main() -> None:
    bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
    members = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    wait_for_coordinator(bootstrap, group)
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
