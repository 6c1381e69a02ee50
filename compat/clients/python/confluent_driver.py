"""Driver for the librdkafka Python clients (compat/PROTOCOL.md): Debian's
python3-confluent-kafka 1.7.0 (librdkafka 2.0.2, run by /usr/bin/python3) and
confluent-kafka from PyPI (run by the venv's python). The admin APIs the old
version lacks are reported as unsupported or emulated, as each op says."""

import concurrent.futures
import os
import struct
import sys
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the work tree
import driver_common as common  # noqa: E402
from driver_common import StepError, Unsupported  # noqa: E402
from kafka_errors import error_name  # noqa: E402

CLIENT_NAME = os.environ.get("KSTACK_COMPAT_CLIENT", "confluent-kafka")
try:
    common.require_installed()
    import confluent_kafka as ck
    from confluent_kafka import admin as ck_admin
except ImportError as missing:
    common.not_installed_main({"name": CLIENT_NAME, "version": None, "library": None}, str(missing))
    sys.exit(0)

# librdkafka's local error codes that stand for a broker error or a client condition.
LOCAL_ERRORS = {
    ck.KafkaError._TIMED_OUT: "CLIENT_TIMEOUT",
    ck.KafkaError._MSG_TIMED_OUT: "CLIENT_TIMEOUT",
    ck.KafkaError._UNKNOWN_TOPIC: "UNKNOWN_TOPIC_OR_PARTITION",
    ck.KafkaError._UNKNOWN_PARTITION: "UNKNOWN_TOPIC_OR_PARTITION",
    ck.KafkaError._INVALID_ARG: "CLIENT_INVALID_ARGUMENT",
    ck.KafkaError._AUTO_OFFSET_RESET: "OFFSET_OUT_OF_RANGE",
}
# Errors whose text shows the client decided from metadata that the topic has no partition.
NO_LEADER_TEXT = "No leaders found"
TIMESTAMP_TYPES = {ck.TIMESTAMP_CREATE_TIME: "CreateTime", ck.TIMESTAMP_LOG_APPEND_TIME: "LogAppendTime"}
# Kafka's group state names for the modern ListConsumerGroups/DescribeConsumerGroups results.
GROUP_STATES = {
    "EMPTY": "Empty",
    "STABLE": "Stable",
    "PREPARING_REBALANCING": "PreparingRebalance",
    "COMPLETING_REBALANCING": "CompletingRebalance",
    "DEAD": "Dead",
    "UNKNOWN": "Unknown",
}


def kafka_error_name(error):
    code = error.code()
    if code >= -1:
        return error_name(code)
    if code == ck.KafkaError._NOENT and NO_LEADER_TEXT in error.str():
        # ListOffsets on a topic the metadata does not have (PROTOCOL.md section 6).
        return "UNKNOWN_TOPIC_OR_PARTITION"
    return LOCAL_ERRORS.get(code, "CLIENT_ERROR")


def map_error(exception):
    if isinstance(exception, ck.KafkaException) and exception.args:
        error = exception.args[0]
        return kafka_error_name(error), error.str()
    if isinstance(exception, (concurrent.futures.TimeoutError, TimeoutError)):
        return "CLIENT_TIMEOUT", "no answer within the step's budget"
    return "CLIENT_ERROR", "%s: %s" % (type(exception).__name__, exception)


def client_info():
    # version() is a (text, number) pair in 1.x and the text alone in recent releases.
    version = ck.version()
    return {
        "name": CLIENT_NAME,
        "version": version if isinstance(version, str) else version[0],
        "library": "librdkafka %s" % ck.libversion()[0],
    }


def base_config(context, step, **extra):
    timeout_ms = int(common.step_timeout_seconds(step) * 1000)
    config = {
        "bootstrap.servers": context.bootstrap,
        "client.id": context.client_id,
        "socket.timeout.ms": max(timeout_ms, 10),
    }
    config.update(common.librdkafka_security())
    config.update(extra)
    return config


def admin_client(context, step, allow_auto_create=False):
    """One admin client per job (per auto-create setting): librdkafka fails the
    pending requests of a handle that is garbage-collected, so it must outlive them."""
    key = ("admin", allow_auto_create)
    if key not in context.clients:
        config = base_config(context, step, **{"allow.auto.create.topics": allow_auto_create})
        context.clients[key] = ck_admin.AdminClient(config)
    return context.clients[key]


def wait_future(future, step):
    return future.result(timeout=common.step_timeout_seconds(step))


def admin_timeouts(step):
    seconds = common.step_timeout_seconds(step)
    return {"request_timeout": seconds}


def topic_operation_timeouts(step):
    """For CreateTopics, DeleteTopics and CreatePartitions: librdkafka sends timeout_ms=0 by
    default; an operation timeout lets the broker wait for the change as the Java client asks."""
    seconds = common.step_timeout_seconds(step)
    return {"request_timeout": seconds, "operation_timeout": max(seconds - 1, 0.5)}


def has_admin(name):
    return hasattr(ck_admin.AdminClient, name)


# --- Topics -----------------------------------------------------------------


def create_topic(context, step):
    topic = ck_admin.NewTopic(
        step["topic"],
        num_partitions=step.get("partitions", 1),
        replication_factor=step.get("replicationFactor", -1),
        config=step.get("configs") or {},
    )
    futures = admin_client(context, step).create_topics(
        [topic], validate_only=step.get("validateOnly", False), **topic_operation_timeouts(step)
    )
    wait_future(futures[step["topic"]], step)


def topic_metadata(context, step, topic, allow_auto_create=False):
    client = admin_client(context, step, allow_auto_create)
    return client.list_topics(topic=topic, timeout=common.step_timeout_seconds(step))


def existing_topic(context, step, topic):
    metadata = topic_metadata(context, step, topic).topics.get(topic)
    if metadata is None:
        raise StepError("UNKNOWN_TOPIC_OR_PARTITION")
    if metadata.error is not None:
        raise ck.KafkaException(metadata.error)
    return metadata


def describe_topic(context, step):
    metadata = existing_topic(context, step, step["topic"])
    partitions = [
        {"partition": p.id, "leader": p.leader, "replicas": list(p.replicas), "isr": sorted(p.isrs)}
        for p in sorted(metadata.partitions.values(), key=lambda p: p.id)
    ]
    return {"topic": step["topic"], "internal": step["topic"] in common.INTERNAL_TOPICS, "partitions": partitions}


def list_topics(context, step):
    names = topic_metadata(context, step, None).topics.keys()
    return sorted(n for n in names if step.get("includeInternal") or n not in common.INTERNAL_TOPICS)


def delete_topic(context, step):
    futures = admin_client(context, step).delete_topics([step["topic"]], **topic_operation_timeouts(step))
    wait_future(futures[step["topic"]], step)


def create_partitions(context, step):
    request = ck_admin.NewPartitions(step["topic"], step["count"])
    futures = admin_client(context, step).create_partitions([request], **topic_operation_timeouts(step))
    wait_future(futures[step["topic"]], step)


def topic_configs(context, step, topic):
    resource = ck_admin.ConfigResource("topic", topic)
    futures = admin_client(context, step).describe_configs([resource], **admin_timeouts(step))
    return wait_future(futures[resource], step)


def describe_configs(context, step):
    entries = topic_configs(context, step, step["topic"])
    names = step.get("names")
    return {name: (None if entry.is_sensitive else entry.value) for name, entry in entries.items() if names is None or name in names}


def alter_configs(context, step):
    if has_admin("incremental_alter_configs"):
        return incremental_alter_configs(context, step)
    return legacy_alter_configs(context, step)


def incremental_alter_configs(context, step):
    set_op, delete_op = ck_admin.AlterConfigOpType.SET, ck_admin.AlterConfigOpType.DELETE
    entries = [ck_admin.ConfigEntry(n, v, incremental_operation=set_op) for n, v in (step.get("set") or {}).items()]
    entries += [ck_admin.ConfigEntry(n, None, incremental_operation=delete_op) for n in step.get("delete") or []]
    resource = ck_admin.ConfigResource("topic", step["topic"], incremental_configs=entries)
    futures = admin_client(context, step).incremental_alter_configs(
        [resource], validate_only=step.get("validateOnly", False), **admin_timeouts(step)
    )
    wait_future(futures[resource], step)


def legacy_alter_configs(context, step):
    """Only the legacy AlterConfigs exists here: describe, merge the topic's own
    (dynamic) configs with the change, and replace them all."""
    current = topic_configs(context, step, step["topic"])
    dynamic = ck_admin.ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    merged = {n: e.value for n, e in current.items() if e.source == dynamic}
    merged.update(step.get("set") or {})
    for name in step.get("delete") or []:
        merged.pop(name, None)
    resource = ck_admin.ConfigResource("topic", step["topic"], set_config=merged)
    futures = admin_client(context, step).alter_configs([resource], validate_only=step.get("validateOnly", False), **admin_timeouts(step))
    wait_future(futures[resource], step)
    context.note("emulated with describe + legacy AlterConfigs (this client has no IncrementalAlterConfigs)")


def metadata_op(context, step):
    wanted = step.get("topics")
    allow = bool(step.get("allowAutoCreate", False))
    if wanted is None:
        cluster = topic_metadata(context, step, None, allow)
        topics = [cluster.topics[name] for name in sorted(cluster.topics)]
    else:
        # librdkafka's list_topics asks for one topic (or all) at a time.
        clusters = [topic_metadata(context, step, name, allow) for name in wanted]
        cluster = clusters[0] if clusters else topic_metadata(context, step, None, allow)
        topics = [c.topics.get(name) for c, name in zip(clusters, wanted)]
    return {
        "brokers": [{"id": b.id, "host": b.host, "port": b.port} for b in sorted(cluster.brokers.values(), key=lambda b: b.id)],
        "topics": [
            {
                "topic": t.topic,
                "error": None if t.error is None else kafka_error_name(t.error),
                "partitions": len(t.partitions),
            }
            for t in topics
            if t is not None
        ],
    }


# --- Produce ----------------------------------------------------------------


def producer_config(context, step):
    timeout_ms = int(common.step_timeout_seconds(step) * 1000)
    acks = common.acks_setting(step)
    config = base_config(
        context,
        step,
        **{
            "acks": "all" if acks == -1 else acks,
            "compression.type": step.get("compression", "none"),
            "enable.idempotence": bool(step.get("idempotent", False)),
            "linger.ms": step.get("lingerMs", 0),
            "message.timeout.ms": max(timeout_ms - 1000, 1000),
            "request.timeout.ms": max(min(timeout_ms - 1000, 30000), 1000),
        },
    )
    if "clientMaxBytes" in step:
        # Room for the batch and record overhead above the largest message.
        config["message.max.bytes"] = min(int(step["clientMaxBytes"]) + 4096, 1000000000)
    if step.get("retries") is not None:
        config["message.send.max.retries"] = int(step["retries"])
    return config


def make_producer(context, step):
    try:
        return ck.Producer(producer_config(context, step))
    except ck.KafkaException as exception:
        if step.get("compression", "none") != "none" and "compression" in exception.args[0].str():
            raise Unsupported("this librdkafka cannot use %s: %s" % (step["compression"], exception.args[0].str()))
        raise


def produce(context, step):
    producer = make_producer(context, step)
    outcomes = []
    for message in step["messages"]:
        outcome = {}
        outcomes.append(outcome)
        try:
            producer.produce(step["topic"], **produce_arguments(step, message), on_delivery=delivery_recorder(outcome))
        except BufferError as exception:
            outcome["error"] = "CLIENT_ERROR"
            outcome["message"] = str(exception)
        except ck.KafkaException as exception:
            error = exception.args[0]
            too_large = error.code() == ck.KafkaError.MSG_SIZE_TOO_LARGE
            outcome["error"] = "CLIENT_MESSAGE_TOO_LARGE" if too_large else kafka_error_name(error)
        producer.poll(0)
    remaining = producer.flush(common.step_timeout_seconds(step))
    for outcome in outcomes:
        if not outcome:
            outcome["error"] = "CLIENT_TIMEOUT"
    value = [{k: v for k, v in o.items() if k != "message"} for o in outcomes]
    failed = [o for o in outcomes if "error" in o]
    if failed:
        raise StepError(failed[0]["error"], failed[0].get("message", "%d message(s) undelivered" % remaining), value)
    return value


def transactional_produce(context, step):
    if not hasattr(ck.Producer, "init_transactions"):
        raise Unsupported("this confluent-kafka has no transactional producer")
    timeout = common.step_timeout_seconds(step)
    config = producer_config(context, dict(step, idempotent=True))
    config["transactional.id"] = step["transactionalId"]
    producer = ck.Producer(config)
    producer.init_transactions(timeout)
    value = []
    for transaction in step["transactions"]:
        producer.begin_transaction()
        outcomes = []
        for message in transaction["messages"]:
            outcome = {}
            outcomes.append(outcome)
            producer.produce(step["topic"], **produce_arguments(step, message), on_delivery=delivery_recorder(outcome))
        producer.flush(timeout)
        if transaction["end"] == "commit":
            producer.commit_transaction(timeout)
        else:
            producer.abort_transaction(timeout)
        value.append([{k: v for k, v in o.items() if k != "message"} for o in outcomes])
    return value


def produce_arguments(step, message):
    arguments = {"value": common.decode_bytes(message.get("value")), "key": common.decode_bytes(message.get("key"))}
    headers = common.message_headers(message)
    if headers:
        arguments["headers"] = headers
    partition = message.get("partition", step.get("partition"))
    if partition is not None:
        arguments["partition"] = partition
    if message.get("timestamp") is not None:
        arguments["timestamp"] = message["timestamp"]
    return arguments


def delivery_recorder(outcome):
    def on_delivery(error, message):
        if error is not None:
            outcome["error"] = kafka_error_name(error)
            outcome["message"] = error.str()
        else:
            # acks=0: the client cannot know the offset (None here, or a negative sentinel).
            offset = message.offset()
            known = offset is not None and offset >= 0
            outcome.update({"partition": message.partition(), "offset": offset if known else -1})

    return on_delivery


# --- Consume ----------------------------------------------------------------


def record_of(message):
    timestamp_type, timestamp = message.timestamp()
    record = {
        "topic": message.topic(),
        "partition": message.partition(),
        "offset": message.offset(),
        "key": common.encode_bytes(message.key()),
        "value": common.encode_bytes(message.value()),
        "headers": common.encode_headers(message.headers()),
    }
    if timestamp_type in TIMESTAMP_TYPES:
        record["timestamp"] = timestamp
        record["timestampType"] = TIMESTAMP_TYPES[timestamp_type]
    return record


def plain_consumer(context, step, **extra):
    # A group id the consumer never joins: Consumer() of confluent-kafka 1.x requires one.
    config = base_config(
        context,
        step,
        **{
            "group.id": "kstack-compat-unused-" + context.client_id,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "error",
            "enable.partition.eof": False,
        },
    )
    config.update(extra)
    return ck.Consumer(config)


def topic_partitions(context, step, topic, wanted=None):
    present = sorted(existing_topic(context, step, topic).partitions)
    if wanted is None:
        return present
    missing = [p for p in wanted if p not in present]
    if missing:
        raise StepError("UNKNOWN_TOPIC_OR_PARTITION", "no partition %s in %s" % (missing, topic))
    return list(wanted)


def start_positions(consumer, step, topic, partitions):
    start = step.get("from", "beginning")
    if start == "beginning":
        return [ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in partitions]
    if start == "end":
        return [ck.TopicPartition(topic, p, ck.OFFSET_END) for p in partitions]
    if "offset" in start:
        return [ck.TopicPartition(topic, p, int(start["offset"])) for p in partitions]
    query = [ck.TopicPartition(topic, p, int(start["timestamp"])) for p in partitions]
    found = consumer.offsets_for_times(query, timeout=common.step_timeout_seconds(step))
    # No offset for that time: start at the end, as the protocol says.
    return [ck.TopicPartition(topic, tp.partition, tp.offset if tp.offset >= 0 else ck.OFFSET_END) for tp in found]


def consume(context, step):
    deadline = time.monotonic() + common.step_timeout_seconds(step)
    topic = step["topic"]
    partitions = topic_partitions(context, step, topic, step.get("partitions"))
    consumer = plain_consumer(context, step)
    consumer.assign(start_positions(consumer, step, topic, partitions))
    records = poll_records(consumer, step["count"], deadline)
    consumer.close()
    return common.sort_records(records)


def isolated_consume(context, step):
    isolation = step.get("isolation")
    if isolation not in ("read_committed", "read_uncommitted"):
        raise StepError("CLIENT_INVALID_ARGUMENT", "isolation must be read_committed or read_uncommitted")
    deadline = time.monotonic() + common.step_timeout_seconds(step)
    topic = step["topic"]
    partitions = topic_partitions(context, step, topic, step.get("partitions"))
    consumer = plain_consumer(context, step, **{"isolation.level": isolation})
    consumer.assign(start_positions(consumer, step, topic, partitions))
    records = poll_records(consumer, step["count"], deadline)
    consumer.close()
    return common.sort_records(records)


def poll_records(consumer, count, deadline, on_record=None):
    records = []
    while len(records) < count and time.monotonic() < deadline:
        message = consumer.poll(min(0.5, max(deadline - time.monotonic(), 0.01)))
        if message is None:
            continue
        if message.error() is not None:
            if message.error().code() == ck.KafkaError._PARTITION_EOF:
                continue
            raise StepError(kafka_error_name(message.error()), message.error().str(), common.sort_records(records))
        records.append(record_of(message))
    return records


def list_offsets(context, step):
    if has_admin("list_offsets"):
        return admin_list_offsets(context, step)
    return consumer_list_offsets(context, step)


def admin_list_offsets(context, step):
    spec = step["spec"]
    if spec == "earliest":
        offset_spec = ck_admin.OffsetSpec.earliest()
    elif spec == "latest":
        offset_spec = ck_admin.OffsetSpec.latest()
    else:
        offset_spec = ck_admin.OffsetSpec.for_timestamp(int(spec["timestamp"]))
    partition = ck.TopicPartition(step["topic"], step.get("partition", 0))
    futures = admin_client(context, step).list_offsets({partition: offset_spec}, **admin_timeouts(step))
    info = wait_future(futures[partition], step)
    value = {"offset": info.offset if info.offset >= 0 else -1}
    if isinstance(spec, dict) and info.offset >= 0 and info.timestamp >= 0:
        value["timestamp"] = info.timestamp
    return value


def consumer_list_offsets(context, step):
    """Without an admin ListOffsets: the consumer's watermarks and offsets_for_times.
    offsets_for_times does not expose the found record's timestamp, which the op
    reports, so a lookup by time that finds a record is unsupported."""
    topic, partition, spec = step["topic"], step.get("partition", 0), step["spec"]
    consumer = plain_consumer(context, step)
    seconds = common.step_timeout_seconds(step)
    try:
        if isinstance(spec, dict):
            query = ck.TopicPartition(topic, partition, int(spec["timestamp"]))
            found = consumer.offsets_for_times([query], timeout=seconds)[0]
            if found.error is not None:
                raise ck.KafkaException(found.error)
            if found.offset >= 0:
                raise Unsupported(
                    "confluent-kafka %s has no admin ListOffsets and its offsets_for_times does not return "
                    "the found record's timestamp (offset found: %d)" % (client_info()["version"], found.offset)
                )
            return {"offset": -1}
        low, high = consumer.get_watermark_offsets(ck.TopicPartition(topic, partition), timeout=seconds, cached=False)
        return {"offset": low if spec == "earliest" else high}
    finally:
        consumer.close()


# --- Consumer groups --------------------------------------------------------


def group_consume(context, step):
    deadline = time.monotonic() + common.step_timeout_seconds(step)
    commit = step.get("commit", "sync")
    config = base_config(
        context,
        step,
        **{
            "group.id": step["group"],
            "auto.offset.reset": step.get("reset", "earliest"),
            "enable.auto.commit": commit == "auto",
            "auto.commit.interval.ms": 1000,
            "session.timeout.ms": step.get("sessionTimeoutMs", 10000),
            "enable.partition.eof": False,
        },
    )
    if step.get("instanceId"):
        config["group.instance.id"] = step["instanceId"]
    consumer = ck.Consumer(config)
    assignment = []
    consumer.subscribe(
        step["topics"],
        on_assign=lambda _consumer, partitions: assignment.__setitem__(slice(None), partitions),
        on_revoke=lambda _consumer, _partitions: assignment.clear(),
    )
    records = poll_records(consumer, step["count"], deadline)
    if commit == "sync" and records:
        consumer.commit(offsets=next_offsets(records), asynchronous=False)
    value = {
        "records": common.sort_records(records),
        "assignment": sorted(
            ({"topic": tp.topic, "partition": tp.partition} for tp in assignment), key=lambda a: (a["topic"], a["partition"])
        ),
    }
    if step.get("exit") != "crash":
        consumer.close()
    return value


def next_offsets(records):
    last = {}
    for record in records:
        key = (record["topic"], record["partition"])
        last[key] = max(last.get(key, -1), record["offset"])
    return [ck.TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in sorted(last.items())]


def commit_offsets(context, step):
    consumer = plain_consumer(context, step, **{"group.id": step["group"]})
    try:
        offsets = [ck.TopicPartition(o["topic"], o["partition"], o["offset"]) for o in step["offsets"]]
        committed = consumer.commit(offsets=offsets, asynchronous=False)
        for tp in committed or []:
            if tp.error is not None:
                raise ck.KafkaException(tp.error)
    finally:
        consumer.close()


def list_groups(context, step):
    client = admin_client(context, step)
    if has_admin("list_consumer_groups"):
        result = wait_future(client.list_consumer_groups(**admin_timeouts(step)), step)
        groups = [{"group": g.group_id, "state": GROUP_STATES.get(g.state.name, g.state.name)} for g in result.valid]
    else:
        groups = [{"group": g.id, "state": g.state} for g in client.list_groups(timeout=common.step_timeout_seconds(step))]
    return sorted(groups, key=lambda g: g["group"])


def describe_group(context, step):
    client = admin_client(context, step)
    if has_admin("describe_consumer_groups"):
        futures = client.describe_consumer_groups([step["group"]], **admin_timeouts(step))
        description = wait_future(futures[step["group"]], step)
        members = [member_of(m.client_id, m.group_instance_id, m.assignment.topic_partitions) for m in description.members]
        return {
            "group": description.group_id,
            "state": GROUP_STATES.get(description.state.name, description.state.name),
            # librdkafka reports a group with an empty protocol type as "simple".
            "protocolType": "" if description.is_simple_consumer_group else "consumer",
            "protocol": description.partition_assignor,
            "members": sort_members(members),
        }
    return legacy_describe_group(client, step)


def legacy_describe_group(client, step):
    """librdkafka 2.0.2's list_groups(group) (DescribeGroups): assignments come as
    raw consumer-protocol bytes, and the instance id is not exposed (so omitted)."""
    groups = client.list_groups(group=step["group"], timeout=common.step_timeout_seconds(step))
    group = groups[0]
    if group.error is not None:
        raise ck.KafkaException(group.error)
    members = []
    for m in group.members:
        member = member_of(m.client_id, None, parse_assignment(m.assignment))
        del member["instanceId"]
        members.append(member)
    return {
        "group": group.id,
        "state": group.state,
        "protocolType": group.protocol_type,
        "protocol": group.protocol,
        "members": sorted(members, key=lambda m: m["clientId"]),
    }


def parse_assignment(data):
    """ConsumerProtocolAssignment: version int16, [topic string, [partition int32]], user data."""
    if not data:
        return []
    position, partitions = 2, []
    (topic_count,) = struct.unpack_from(">i", data, position)
    position += 4
    for _ in range(topic_count):
        (name_length,) = struct.unpack_from(">h", data, position)
        topic = data[position + 2 : position + 2 + name_length].decode("utf-8")
        position += 2 + name_length
        (partition_count,) = struct.unpack_from(">i", data, position)
        numbers = struct.unpack_from(">%di" % partition_count, data, position + 4)
        position += 4 + 4 * partition_count
        partitions += [ck.TopicPartition(topic, n) for n in numbers]
    return partitions


def member_of(client_id, instance_id, partitions):
    assignment = sorted(({"topic": tp.topic, "partition": tp.partition} for tp in partitions), key=lambda a: (a["topic"], a["partition"]))
    return {"clientId": client_id, "instanceId": instance_id, "assignment": assignment}


def sort_members(members):
    return sorted(members, key=lambda m: (m["instanceId"] or "", m["clientId"]))


def delete_group(context, step):
    if not has_admin("delete_consumer_groups"):
        raise Unsupported("confluent-kafka %s has no DeleteGroups admin API" % client_info()["version"])
    futures = admin_client(context, step).delete_consumer_groups([step["group"]], **admin_timeouts(step))
    wait_future(futures[step["group"]], step)


def group_offsets(context, step):
    consumer = plain_consumer(context, step, **{"group.id": step["group"]})
    try:
        committed = committed_offsets(context, step, consumer)
        seconds = common.step_timeout_seconds(step)
        rows = []
        for tp in sorted(committed, key=lambda tp: (tp.topic, tp.partition)):
            if tp.error is not None:
                raise ck.KafkaException(tp.error)
            offset = tp.offset if tp.offset >= 0 else -1
            if offset < 0 and step.get("topic") is None:
                continue
            _low, high = consumer.get_watermark_offsets(tp, timeout=seconds, cached=False)
            lag = high - offset if offset >= 0 else high
            rows.append({"topic": tp.topic, "partition": tp.partition, "offset": offset, "logEndOffset": high, "lag": lag})
        return rows
    finally:
        consumer.close()


def committed_offsets(context, step, consumer):
    """The group's committed offsets: the admin OffsetFetch for all partitions where
    the client has it, else the consumer's committed() over every topic's partitions."""
    topic = step.get("topic")
    if topic is not None:
        partitions = [ck.TopicPartition(topic, p) for p in topic_partitions(context, step, topic)]
        return consumer.committed(partitions, timeout=common.step_timeout_seconds(step))
    if has_admin("list_consumer_group_offsets"):
        request = [ck.ConsumerGroupTopicPartitions(step["group"])]
        futures = admin_client(context, step).list_consumer_group_offsets(request, **admin_timeouts(step))
        return wait_future(futures[step["group"]], step).topic_partitions
    cluster = topic_metadata(context, step, None)
    partitions = [
        ck.TopicPartition(name, p)
        for name, metadata in cluster.topics.items()
        if name not in common.INTERNAL_TOPICS
        for p in metadata.partitions
    ]
    return consumer.committed(partitions, timeout=common.step_timeout_seconds(step))


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
    "transactionalProduce": transactional_produce,
    "isolatedConsume": isolated_consume,
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
