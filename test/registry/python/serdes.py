"""Confluent's own Python serializers against a Schema Registry and a Kafka cluster.

usage: serdes.py BOOTSTRAP REGISTRY_URL FORMAT TOPIC   (FORMAT: avro | json | protobuf)

Registers a schema through the serializer, produces records in Confluent's wire format, consumes
them back through the deserializer (which fetches the schema by id), then evolves the schema
compatibly and is refused an incompatible change. Prints one JSON line: {"ok": bool, ...}.
"""
import json
import sys
import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

COUNT = 5
CONSUME_TIMEOUT_S = 60

bootstrap, url, fmt, topic = sys.argv[1:5]
subject = f"{topic}-value"
client = SchemaRegistryClient({"url": url})
summary = {"ok": False, "format": fmt, "subject": subject}


def avro_case():
    from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer

    v1 = {"type": "record", "name": "User", "namespace": "kstack.test",
          "fields": [{"name": "name", "type": "string"}, {"name": "number", "type": "int"}]}
    v2 = dict(v1, fields=v1["fields"] + [{"name": "color", "type": "string", "default": "blue"}])
    bad = dict(v1, fields=v1["fields"] + [{"name": "size", "type": "long"}])
    serializer = AvroSerializer(client, json.dumps(v1))
    deserializer = AvroDeserializer(client)
    records = [{"name": f"user-{i}", "number": i} for i in range(COUNT)]
    return (serializer, deserializer, records, lambda r: r,
            Schema(json.dumps(v2), "AVRO"), Schema(json.dumps(bad), "AVRO"))


def json_case():
    from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer

    v1 = {"$schema": "http://json-schema.org/draft-07/schema#", "title": "Order", "type": "object",
          "properties": {"id": {"type": "integer"}, "item": {"type": "string"}},
          "required": ["id"], "additionalProperties": False}
    v2 = dict(v1, properties=dict(v1["properties"], note={"type": "string"}))
    bad = dict(v1, properties={"id": {"type": "string"}, "item": {"type": "string"}})
    serializer = JSONSerializer(json.dumps(v1), client)
    deserializer = JSONDeserializer(None, schema_registry_client=client)
    records = [{"id": i, "item": f"item-{i}"} for i in range(COUNT)]
    return (serializer, deserializer, records, lambda r: r,
            Schema(json.dumps(v2), "JSON"), Schema(json.dumps(bad), "JSON"))


def protobuf_case():
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer

    pool = descriptor_pool.DescriptorPool()
    fdp = descriptor_pb2.FileDescriptorProto(name="kstack_test_event.proto", package="kstack.test", syntax="proto3")
    event = fdp.message_type.add(name="Event")
    event.field.add(name="id", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
                    label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    event.field.add(name="name", number=2, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                    label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    # A second message, so that the message indexes of the wire format are not just [0].
    detail = fdp.message_type.add(name="Detail")
    detail.field.add(name="text", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                     label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool.Add(fdp)
    detail_class = message_factory.GetMessageClass(pool.FindMessageTypeByName("kstack.test.Detail"))
    serializer = ProtobufSerializer(detail_class, client, {"use.deprecated.format": False})
    deserializer = ProtobufDeserializer(detail_class, {"use.deprecated.format": False})
    records = [detail_class(text=f"detail-{i}") for i in range(COUNT)]
    v2 = 'syntax = "proto3"; package kstack.test; message Event { int64 id = 1; string name = 2; string more = 3; } message Detail { string text = 1; int32 extra = 2; }'
    bad = 'syntax = "proto3"; package kstack.test; message Event { int64 id = 1; string name = 2; } message Detail { repeated string text = 1; }'
    return (serializer, deserializer, records, lambda m: {"text": m.text},
            Schema(v2, "PROTOBUF"), Schema(bad, "PROTOBUF"))


def main():
    serializer, deserializer, records, as_dict, compatible, incompatible = {
        "avro": avro_case, "json": json_case, "protobuf": protobuf_case}[fmt]()
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    context = SerializationContext(topic, MessageField.VALUE)
    wire_prefixes = set()
    for record in records:
        value = serializer(record, context)
        wire_prefixes.add(value[:5].hex())
        if fmt == "protobuf":
            summary["message_indexes"] = value[5:7].hex()
        producer.produce(topic, value=value)
    if producer.flush(30) != 0:
        raise RuntimeError("records not delivered within 30 s")
    latest = client.get_latest_version(subject)
    summary["registered"] = {"id": latest.schema_id, "version": latest.version, "type": latest.schema.schema_type}
    summary["wire_prefixes"] = sorted(wire_prefixes)

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{topic}-reader",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    consumed = []
    deadline = time.monotonic() + CONSUME_TIMEOUT_S
    while len(consumed) < len(records) and time.monotonic() < deadline:
        message = consumer.poll(1.0)
        if message is None or message.error() is not None:
            continue
        consumed.append(as_dict(deserializer(message.value(), context)))
    consumer.close()
    summary["round_trip"] = consumed == [as_dict(r) for r in records]
    summary["consumed"] = len(consumed)

    evolved = client.register_schema(subject, compatible)
    summary["evolved_id"] = evolved
    try:
        client.register_schema(subject, incompatible)
        summary["refused"] = None
    except SchemaRegistryError as error:
        summary["refused"] = {"http_status": error.http_status_code, "error_code": error.error_code,
                              "message": error.error_message}
    summary["versions"] = client.get_versions(subject)
    summary["ok"] = (summary["round_trip"] and summary["refused"] is not None
                     and summary["refused"]["http_status"] == 409 and len(summary["versions"]) == 2)


try:
    main()
except Exception as error:  # reported in the summary line, so the test shows what failed
    summary["error"] = f"{type(error).__name__}: {error}"
print(json.dumps(summary))
