"""Confluent's Python serializers on the other side of the REST proxy.

usage: serdes.py consume BOOTSTRAP REGISTRY_URL FORMAT TOPIC COUNT
       serdes.py produce BOOTSTRAP REGISTRY_URL FORMAT TOPIC SCHEMA RECORDS_JSON

FORMAT: avro | json. consume reads COUNT records from the beginning with confluent-kafka's
deserializers (schemas fetched from the registry by the id in each record) and prints
{"ok": true, "records": [{"partition", "offset", "key", "value", "prefix"}]}; produce serializes
each record of RECORDS_JSON (a list of {"key", "value"}; key and value use SCHEMA) and prints
{"ok": true, "produced": N}. Errors print {"ok": false, "error": "..."}.
"""
import json
import sys
import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.serialization import MessageField, SerializationContext

CONSUME_TIMEOUT_S = 60


def serdes(fmt, client, schema):
    if fmt == "avro":
        from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
        return (AvroSerializer(client, schema) if schema else None), AvroDeserializer(client)
    from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
    return (JSONSerializer(schema, client) if schema else None), JSONDeserializer(None, schema_registry_client=client)


def consume(bootstrap, url, fmt, topic, count):
    client = SchemaRegistryClient({"url": url})
    _, deserializer = serdes(fmt, client, None)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{topic}-py-{time.time()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    records = []
    deadline = time.monotonic() + CONSUME_TIMEOUT_S
    while len(records) < count and time.monotonic() < deadline:
        message = consumer.poll(1.0)
        if message is None or message.error() is not None:
            continue
        value = message.value()
        records.append({
            "partition": message.partition(), "offset": message.offset(),
            "key": None if message.key() is None else deserializer(message.key(), SerializationContext(topic, MessageField.KEY)),
            "value": None if value is None else deserializer(value, SerializationContext(topic, MessageField.VALUE)),
            "prefix": None if value is None else value[:5].hex(),
        })
    consumer.close()
    return {"ok": len(records) == count, "records": records}


def produce(bootstrap, url, fmt, topic, schema, records):
    client = SchemaRegistryClient({"url": url})
    serializer, _ = serdes(fmt, client, schema)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for record in records:
        producer.produce(
            topic,
            key=serializer(record["key"], SerializationContext(topic, MessageField.KEY)) if record.get("key") is not None else None,
            value=serializer(record["value"], SerializationContext(topic, MessageField.VALUE)),
        )
    if producer.flush(30) != 0:
        raise RuntimeError("records not delivered within 30 s")
    return {"ok": True, "produced": len(records)}


try:
    mode = sys.argv[1]
    if mode == "consume":
        result = consume(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))
    else:
        result = produce(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], json.loads(sys.argv[7]))
except Exception as error:  # reported on stdout, so the test shows what failed
    result = {"ok": False, "error": f"{type(error).__name__}: {error}"}
print(json.dumps(result))
