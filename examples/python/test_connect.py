"""Kafka Connect from a pytest suite: ``serve.ts --connect`` on one broker (its own cluster for this
module), a FileStream source connector reading a file into a topic, and ``reset()`` taking the
connector and its offsets away while the worker keeps its topics."""

import json
import time
import urllib.request

import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient

from conftest import Kstack

TIMEOUT_S = 120
LINES = ["first", "second", "third"]
WORKER_TOPICS = ["_connect-configs", "_connect-offsets", "_connect-status"]


@pytest.fixture(scope="module")
def connect_kafka():
    """A cluster of its own with the Connect worker (a JVM), for this module only."""
    cluster = Kstack(["--connect"])
    yield cluster
    assert cluster.stop() == 0, "serve.ts did not stop cleanly"


def rest(kafka, method, path, body=None):
    """One call of Connect's REST API; its JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(kafka.connect_url + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        return json.loads(response.read() or b"null")


def read_values(kafka, topic, count):
    """The topic's first ``count`` values, read from the start by a consumer of a new group."""
    consumer = Consumer(
        {
            "bootstrap.servers": kafka.bootstrap_servers,
            "group.id": kafka.namespace() + "reader",
            "auto.offset.reset": "earliest",
        }
    )
    values = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + TIMEOUT_S
        while len(values) < count and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                values.append(message.value().decode())
    finally:
        consumer.close()
    return values


def test_file_source_then_reset(connect_kafka, tmp_path):
    kafka = connect_kafka
    assert kafka.cluster()["connectUrl"] == kafka.connect_url
    lines = tmp_path / "lines.txt"
    lines.write_text("".join(f"{line}\n" for line in LINES))
    topic = kafka.namespace() + "lines"
    rest(
        kafka,
        "POST",
        "/connectors",
        {
            "name": "lines",
            "config": {
                "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
                "tasks.max": "1",
                "file": str(lines),
                "topic": topic,
                "value.converter": "org.apache.kafka.connect.storage.StringConverter",
            },
        },
    )
    assert read_values(kafka, topic, len(LINES)) == LINES

    kafka.reset()
    assert rest(kafka, "GET", "/connectors") == [], "no connector after reset()"
    topics = AdminClient({"bootstrap.servers": kafka.bootstrap_servers}).list_topics(timeout=TIMEOUT_S).topics
    assert topic not in topics, "the connector's topic is gone"
    for kept in WORKER_TOPICS:
        # One broker: the worker's own topics at replication factor 1.
        assert [len(p.replicas) for p in topics[kept].partitions.values()] == [1] * len(topics[kept].partitions)
