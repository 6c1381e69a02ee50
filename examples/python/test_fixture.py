"""The kstack pytest fixture (conftest.py) with confluent-kafka: isolation by reset, namespaces,
snapshots and the manual clock."""

import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import KstackError

TIMEOUT_S = 30


@pytest.fixture(scope="session")
def kstack_args():
    return ["--clock", "manual"]


def admin(kafka):
    return AdminClient({"bootstrap.servers": kafka.bootstrap_servers})


def create_topic(kafka, name, config=None):
    client = admin(kafka)  # kept until the answer: a collected client cancels its futures
    client.create_topics([NewTopic(name, 1, 1, config=config or {})])[name].result(timeout=TIMEOUT_S)


def produce(kafka, topic, *values):
    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers, "acks": "all"})
    failures = []
    for value in values:
        producer.produce(topic, value.encode(), on_delivery=lambda err, _msg: err and failures.append(err))
    assert producer.flush(TIMEOUT_S) == 0, "records left unsent"
    assert failures == []


def start_offset(kafka, topic):
    consumer = Consumer({"bootstrap.servers": kafka.bootstrap_servers, "group.id": kafka.namespace() + "probe"})
    try:
        low, _high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT_S)
        return low
    finally:
        consumer.close()


# Each run creates the same topic name; the reset after each must leave no trace of it.
@pytest.mark.parametrize("run", range(3))
def test_reset_isolates_tests(kafka, run):
    topics = admin(kafka).list_topics(timeout=TIMEOUT_S).topics
    assert "shared-name" not in topics, f"run {run} sees the topic of an earlier test"
    create_topic(kafka, "shared-name")
    produce(kafka, "shared-name", "x")


def test_snapshot_and_clock(kafka):
    topic = kafka.namespace() + "events"
    create_topic(kafka, topic, {"retention.ms": "60000"})
    produce(kafka, topic, "a", "b")
    kafka.snapshot("two-events")
    kafka.advance_clock(6 * 60_000 + 1)  # past retention.ms and the 5 min retention check
    deadline = time.monotonic() + TIMEOUT_S
    while start_offset(kafka, topic) != 2:
        assert time.monotonic() < deadline, "retention did not delete the records after the clock moved"
        time.sleep(0.05)
    kafka.restore("two-events")
    assert start_offset(kafka, topic) == 0


def test_bad_input_is_refused_by_name(kafka):
    with pytest.raises(KstackError) as refused:
        kafka.restore("no-such-snapshot")
    assert refused.value.status == 404
    assert refused.value.error_code == "SNAPSHOT_NOT_FOUND"
