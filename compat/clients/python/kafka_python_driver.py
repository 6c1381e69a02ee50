"""Driver for kafka-python (compat/PROTOCOL.md), run by the compat venv's python.
Its snappy, lz4 and zstd codecs come from optional packages (requirements.txt);
a codec whose package is missing is reported as unsupported."""

import logging
import os
import re
import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the work tree
import driver_common as common  # noqa: E402
from driver_common import StepError, Unsupported  # noqa: E402
from kafka_errors import error_name  # noqa: E402

CLIENT_NAME = os.environ.get("KSTACK_COMPAT_CLIENT", "kafka-python")
try:
    common.require_installed()
    import kafka
    import kafka.codec
    import kafka.errors
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import ConfigResource, ConfigResourceType, OffsetSpec
    from kafka.protocol.metadata import MetadataRequest
    from kafka.structs import OffsetAndMetadata
except ImportError as missing:
    common.not_installed_main({"name": CLIENT_NAME, "version": None, "library": None}, str(missing))
    sys.exit(0)

logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
CODECS = {
    "none": (None, lambda: True),
    "gzip": ("gzip", kafka.codec.has_gzip),
    "snappy": ("snappy", kafka.codec.has_snappy),
    "lz4": ("lz4", kafka.codec.has_lz4),
    "zstd": ("zstd", kafka.codec.has_zstd),
}
TIMESTAMP_TYPES = {0: "CreateTime", 1: "LogAppendTime"}


def map_error(exception):
    if isinstance(exception, kafka.errors.KafkaTimeoutError):
        return "CLIENT_TIMEOUT", str(exception)
    errno = getattr(exception, "errno", None)
    if isinstance(exception, kafka.errors.KafkaError) and isinstance(errno, int):
        return error_name(errno), str(exception)[:500]
    return "CLIENT_ERROR", "%s: %s" % (type(exception).__name__, exception)


def raise_error_code(code, message=""):
    if code:
        raise StepError(error_name(code), message or "")


def raise_error_text(text):
    """kafka-python reports some per-item outcomes as text: "OK", an error class name
    ("GroupIdNotFoundError") or an error's text ("[Error 69] GroupIdNotFoundError: …")."""
    if not text or text == "OK":
        return
    code = re.match(r"\[Error (-?\d+)\]", text)
    if code:
        raise StepError(error_name(int(code.group(1))), text)
    errno = getattr(getattr(kafka.errors, text, None), "errno", None)
    raise StepError(error_name(errno) if isinstance(errno, int) else "CLIENT_ERROR", text)


def client_info():
    return {"name": CLIENT_NAME, "version": kafka.__version__, "library": "kafka-python %s" % kafka.__version__}


def timeout_ms(step):
    return int(common.step_timeout_seconds(step) * 1000)


def admin_client(context, step):
    if "admin" not in context.clients:
        context.clients["admin"] = KafkaAdminClient(
            bootstrap_servers=context.bootstrap,
            client_id=context.client_id,
            request_timeout_ms=timeout_ms(step),
            **common.kafka_python_security()
        )
    return context.clients["admin"]


# --- Topics -----------------------------------------------------------------


def create_topic(context, step):
    spec = {
        "num_partitions": step.get("partitions", 1),
        "replication_factor": step.get("replicationFactor", -1),
        "configs": step.get("configs") or {},
    }
    admin = admin_client(context, step)
    validate_only = step.get("validateOnly", False)
    response = admin.create_topics({step["topic"]: spec}, timeout_ms=timeout_ms(step), validate_only=validate_only, raise_errors=False)
    for topic in response["topics"]:
        raise_error_code(topic["error_code"], topic.get("error_message"))
    if not validate_only:
        # kafka-python's own wait until the new topic is in the brokers' metadata (as kafkajs's waitForLeaders).
        admin.wait_for_topics([step["topic"]], timeout_ms=timeout_ms(step))


def cluster_metadata(context, step, topics, allow_auto_create=False):
    """A Metadata request through the admin client's connection manager: its public
    describe_topics never asks for automatic creation."""
    admin = admin_client(context, step)
    request_topics = None if topics is None else [MetadataRequest.MetadataRequestTopic(name=t) for t in topics]
    request = MetadataRequest(topics=request_topics, allow_auto_topic_creation=allow_auto_create)

    async def send():
        return (await admin._manager.send(request)).to_dict()

    return admin._manager.run(send)


def describe_topic(context, step):
    topic = cluster_metadata(context, step, [step["topic"]])["topics"][0]
    raise_error_code(topic["error_code"])
    partitions = [
        {"partition": p["partition_index"], "leader": p["leader_id"], "replicas": list(p["replica_nodes"]), "isr": sorted(p["isr_nodes"])}
        for p in sorted(topic["partitions"], key=lambda p: p["partition_index"])
    ]
    return {"topic": topic["name"], "internal": topic["is_internal"], "partitions": partitions}


def list_topics(context, step):
    topics = cluster_metadata(context, step, None)["topics"]
    return sorted(t["name"] for t in topics if step.get("includeInternal") or not t["is_internal"])


def delete_topic(context, step):
    response = admin_client(context, step).delete_topics([step["topic"]], timeout_ms=timeout_ms(step), raise_errors=False)
    for topic in response["topics"]:
        raise_error_code(topic["error_code"], topic.get("error_message"))


def create_partitions(context, step):
    response = admin_client(context, step).create_partitions(
        {step["topic"]: step["count"]}, timeout_ms=timeout_ms(step), raise_errors=False
    )
    for result in response.to_dict()["results"] if hasattr(response, "to_dict") else response["results"]:
        raise_error_code(result["error_code"], result.get("error_message"))


def describe_configs(context, step):
    """Sends kafka-python's own DescribeConfigs request and reads the per-resource
    error, which its public describe_configs drops (an unknown topic comes back as {})."""
    admin = admin_client(context, step)
    resource = ConfigResource(ConfigResourceType.TOPIC, step["topic"])
    request = admin._describe_configs_request([resource], False)

    async def send():
        return await admin._manager.send(request)

    response = admin._manager.run(send)
    for result in response.to_dict()["results"]:
        raise_error_code(result["error_code"], result.get("error_message"))
    entries = admin._describe_configs_process_responses([response], "all").get("topic", {}).get(step["topic"], {})
    names = step.get("names")
    return {name: (None if entry["is_sensitive"] else entry["value"]) for name, entry in entries.items() if names is None or name in names}


def alter_configs(context, step):
    configs = {name: ("SET", value) for name, value in (step.get("set") or {}).items()}
    configs.update({name: ("DELETE", None) for name in step.get("delete") or []})
    resource = ConfigResource(ConfigResourceType.TOPIC, step["topic"], configs=configs)
    response = admin_client(context, step).alter_configs(
        [resource], validate_only=step.get("validateOnly", False), raise_on_unknown=False, incremental=True
    )
    raise_error_text(response.get("topic", {}).get(step["topic"], "OK"))


def metadata_op(context, step):
    wanted = step.get("topics")
    metadata = cluster_metadata(context, step, wanted, bool(step.get("allowAutoCreate", False)))
    topics = metadata["topics"]
    if wanted is None:
        topics = sorted(topics, key=lambda t: t["name"])
    return {
        "brokers": [
            {"id": b["node_id"], "host": b["host"], "port": b["port"]} for b in sorted(metadata["brokers"], key=lambda b: b["node_id"])
        ],
        "topics": [
            {"topic": t["name"], "error": error_name(t["error_code"]) if t["error_code"] else None, "partitions": len(t["partitions"])}
            for t in topics
        ],
    }


# --- Produce ----------------------------------------------------------------


def make_producer(context, step):
    compression = step.get("compression", "none")
    codec, available = CODECS.get(compression, (compression, lambda: False))
    if not available():
        raise Unsupported("kafka-python has no %s codec here (its optional package is missing)" % compression)
    acks = common.acks_setting(step)
    budget_ms = timeout_ms(step)
    options = {
        "bootstrap_servers": context.bootstrap,
        "client_id": context.client_id,
        "acks": "all" if acks == -1 else acks,
        "compression_type": codec,
        "enable_idempotence": bool(step.get("idempotent", False)),
        "linger_ms": step.get("lingerMs", 0),
        "request_timeout_ms": max(min(budget_ms // 2, 30000), 500),
        # kafka-python requires delivery_timeout_ms > linger_ms + request_timeout_ms.
        "delivery_timeout_ms": max(budget_ms - 500, min(budget_ms // 2, 30000) + step.get("lingerMs", 0) + 1),
        "max_block_ms": max(budget_ms // 2, 500),
    }
    if "clientMaxBytes" in step:
        options["max_request_size"] = int(step["clientMaxBytes"]) + 4096
    if step.get("retries") is not None:
        options["retries"] = int(step["retries"])
    options.update(common.kafka_python_security())
    return KafkaProducer(**options)


def produce(context, step):
    messages = step["messages"]
    if any(h.get("value") is None for m in messages for h in m.get("headers") or []):
        raise Unsupported("kafka-python cannot send a null header value")
    if any(m.get("key") is None and m.get("value") is None for m in messages):
        raise Unsupported("kafka-python refuses a record whose key and value are both null")
    producer = make_producer(context, step)
    futures = [send_one(producer, step, message) for message in messages]
    producer.flush(timeout=common.step_timeout_seconds(step))
    outcomes = [outcome_of(future, common.acks_setting(step)) for future in futures]
    producer.close(timeout=1)
    failed = [o for o in outcomes if "error" in o]
    if failed:
        raise StepError(
            failed[0]["error"], failed[0].get("message", ""), [{k: v for k, v in o.items() if k != "message"} for o in outcomes]
        )
    return outcomes


def send_one(producer, step, message):
    partition = message.get("partition", step.get("partition"))
    try:
        return producer.send(
            step["topic"],
            value=common.decode_bytes(message.get("value")),
            key=common.decode_bytes(message.get("key")),
            headers=common.message_headers(message) or None,
            partition=partition,
            timestamp_ms=message.get("timestamp"),
        )
    except kafka.errors.MessageSizeTooLargeError as exception:
        return {"error": "CLIENT_MESSAGE_TOO_LARGE", "message": str(exception)}
    except ValueError as exception:
        # "Unrecognized partition": decided from the broker's metadata (PROTOCOL.md section 6).
        if "partition" in str(exception):
            return {"error": "UNKNOWN_TOPIC_OR_PARTITION", "message": str(exception)}
        return {"error": "CLIENT_INVALID_ARGUMENT", "message": str(exception)}
    except Exception as exception:  # noqa: BLE001 - reported per message
        error, text = map_error(exception)
        return {"error": error, "message": text}


def outcome_of(future, acks):
    if isinstance(future, dict):
        return future
    if not future.is_done:
        return {"error": "CLIENT_TIMEOUT", "message": "no delivery report within the step's budget"}
    if future.failed():
        error, text = map_error(future.exception)
        return {"error": error, "message": text}
    metadata = future.value
    # With acks=0 kafka-python makes up offsets from the batch; the client cannot know them.
    known = acks != 0 and metadata.offset >= 0
    return {"partition": metadata.partition, "offset": metadata.offset if known else -1}


# --- Consume ----------------------------------------------------------------


def record_of(record):
    result = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "key": common.encode_bytes(record.key),
        "value": common.encode_bytes(record.value),
        "headers": common.encode_headers(record.headers),
        "timestamp": record.timestamp,
    }
    if record.timestamp_type in TIMESTAMP_TYPES:
        result["timestampType"] = TIMESTAMP_TYPES[record.timestamp_type]
    return result


def make_consumer(context, step, **options):
    settings = {
        "bootstrap_servers": context.bootstrap,
        "client_id": context.client_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "none",  # an out-of-range offset raises instead of resetting
        "allow_auto_create_topics": False,
        "request_timeout_ms": max(min(timeout_ms(step), 30000), 1000),
    }
    settings.update(options)
    settings.update(common.kafka_python_security())
    return KafkaConsumer(**settings)


def topic_partitions(context, step, topic, wanted=None):
    metadata = cluster_metadata(context, step, [topic])["topics"][0]
    raise_error_code(metadata["error_code"])
    present = sorted(p["partition_index"] for p in metadata["partitions"])
    missing = [p for p in wanted or [] if p not in present]
    if missing:
        raise StepError("UNKNOWN_TOPIC_OR_PARTITION", "no partition %s in %s" % (missing, topic))
    return present if wanted is None else list(wanted)


def position(consumer, step, partitions):
    start = step.get("from", "beginning")
    if start == "beginning":
        consumer.seek_to_beginning(*partitions)
    elif start == "end":
        consumer.seek_to_end(*partitions)
    elif "offset" in start:
        for tp in partitions:
            consumer.seek(tp, int(start["offset"]))
    else:
        found = consumer.offsets_for_times({tp: int(start["timestamp"]) for tp in partitions})
        for tp in partitions:
            if found.get(tp) is None:
                consumer.seek_to_end(tp)  # no record at or after that time
            else:
                consumer.seek(tp, found[tp].offset)


def consume(context, step):
    deadline = time.monotonic() + common.step_timeout_seconds(step)
    topic = step["topic"]
    partitions = [TopicPartition(topic, p) for p in topic_partitions(context, step, topic, step.get("partitions"))]
    consumer = make_consumer(context, step)
    consumer.assign(partitions)
    position(consumer, step, partitions)
    try:
        return common.sort_records(poll_records(consumer, step["count"], deadline))
    finally:
        consumer.close(autocommit=False)


def poll_records(consumer, count, deadline):
    records = []
    while len(records) < count and time.monotonic() < deadline:
        wait_ms = int(min(500, max((deadline - time.monotonic()) * 1000, 10)))
        try:
            batches = consumer.poll(timeout_ms=wait_ms, max_records=count - len(records))
        except kafka.errors.KafkaError as exception:
            error, text = map_error(exception)
            if isinstance(exception, kafka.errors.OffsetOutOfRangeError):
                error = "OFFSET_OUT_OF_RANGE"
            raise StepError(error, text, common.sort_records(records)) from exception
        for batch in batches.values():
            records += [record_of(r) for r in batch]
    return records


def list_offsets(context, step):
    spec = step["spec"]
    if spec == "earliest":
        wanted = OffsetSpec.EARLIEST
    elif spec == "latest":
        wanted = OffsetSpec.LATEST
    else:
        wanted = int(spec["timestamp"])
    partition = TopicPartition(step["topic"], step.get("partition", 0))
    found = admin_client(context, step).list_partition_offsets({partition: wanted}, timeout_ms=timeout_ms(step))[partition]
    value = {"offset": found.offset if found.offset >= 0 else -1}
    if isinstance(spec, dict) and found.offset >= 0 and found.timestamp >= 0:
        value["timestamp"] = found.timestamp
    return value


# --- Consumer groups --------------------------------------------------------


def group_consume(context, step):
    deadline = time.monotonic() + common.step_timeout_seconds(step)
    commit = step.get("commit", "sync")
    options = {
        "group_id": step["group"],
        "auto_offset_reset": step.get("reset", "earliest"),
        "enable_auto_commit": commit == "auto",
        "auto_commit_interval_ms": 1000,
        "session_timeout_ms": step.get("sessionTimeoutMs", 10000),
    }
    if step.get("instanceId"):
        options["group_instance_id"] = step["instanceId"]
    consumer = make_consumer(context, step, **options)
    consumer.subscribe(step["topics"])
    records = poll_records(consumer, step["count"], deadline)
    if commit == "sync" and records:
        consumer.commit(next_offsets(records))
    assignment = sorted(
        ({"topic": tp.topic, "partition": tp.partition} for tp in consumer.assignment()), key=lambda a: (a["topic"], a["partition"])
    )
    if step.get("exit") != "crash":
        consumer.close(autocommit=commit == "auto")
    return {"records": common.sort_records(records), "assignment": assignment}


def next_offsets(records):
    last = {}
    for record in records:
        key = (record["topic"], record["partition"])
        last[key] = max(last.get(key, -1), record["offset"])
    return {TopicPartition(t, p): OffsetAndMetadata(offset + 1, "", -1) for (t, p), offset in last.items()}


def commit_offsets(context, step):
    offsets = {TopicPartition(o["topic"], o["partition"]): OffsetAndMetadata(o["offset"], "", -1) for o in step["offsets"]}
    results = admin_client(context, step).alter_group_offsets(step["group"], offsets)
    for error_class in results.values():
        if error_class is not kafka.errors.NoError:
            raise StepError(error_name(error_class.errno), error_class.__name__)


def list_groups(context, step):
    groups = admin_client(context, step).list_groups()
    return sorted(({"group": g["group_id"], "state": g["group_state"]} for g in groups), key=lambda g: g["group"])


def describe_group(context, step):
    group = admin_client(context, step).describe_groups([step["group"]])[step["group"]]
    if group.get("error"):
        raise_error_text(getattr(group["error"], "__name__", str(group["error"])))
    members = []
    for member in group["members"]:
        assignment = (member.get("member_assignment") or {}).get("assigned_partitions") or []
        partitions = sorted(
            ({"topic": a["topic"], "partition": p} for a in assignment for p in a["partitions"]), key=lambda a: (a["topic"], a["partition"])
        )
        members.append({"clientId": member["client_id"], "instanceId": member["group_instance_id"], "assignment": partitions})
    return {
        "group": group["group_id"],
        "state": group["group_state"],
        "protocolType": group["protocol_type"],
        "protocol": group["protocol_data"],
        "members": sorted(members, key=lambda m: (m["instanceId"] or "", m["clientId"])),
    }


def delete_group(context, step):
    results = admin_client(context, step).delete_groups([step["group"]])
    raise_error_text(results[step["group"]])


def group_offsets(context, step):
    admin = admin_client(context, step)
    topic = step.get("topic")
    request = None
    if topic is not None:
        request = [TopicPartition(topic, p) for p in topic_partitions(context, step, topic)]
    committed = admin.list_group_offsets({step["group"]: request})[step["group"]]
    if topic is not None:
        committed = {tp: committed.get(tp) for tp in request}
    partitions = sorted(committed, key=lambda tp: (tp.topic, tp.partition))
    ends = admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in partitions}, timeout_ms=timeout_ms(step)) if partitions else {}
    rows = []
    for tp in partitions:
        entry = committed[tp]
        offset = entry.offset if entry is not None and entry.offset >= 0 else -1
        end = ends[tp].offset
        rows.append(
            {
                "topic": tp.topic,
                "partition": tp.partition,
                "offset": offset,
                "logEndOffset": end,
                "lag": end - offset if offset >= 0 else end,
            }
        )
    return rows


OPS = {
    "createTopic": create_topic,
    "describeTopic": describe_topic,
    "listTopics": list_topics,
    "deleteTopic": delete_topic,
    "createPartitions": create_partitions,
    "describeConfigs": describe_configs,
    "alterConfigs": alter_configs,
    "metadata": metadata_op,
    "produce": produce,
    "consume": consume,
    "listOffsets": list_offsets,
    "groupConsume": group_consume,
    "commitOffsets": commit_offsets,
    "listGroups": list_groups,
    "describeGroup": describe_group,
    "deleteGroup": delete_group,
    "groupOffsets": group_offsets,
    "clientInfo": lambda _context, _step: client_info(),
    "sleep": common.sleep_op,
}

if __name__ == "__main__":
    common.run_driver(client_info(), OPS, map_error)
