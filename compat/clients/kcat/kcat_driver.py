"""Driver for kcat (compat/PROTOCOL.md): runs the kcat command line (Debian's kcat
1.7.1, librdkafka 2.0.2) once or more per step and reads what it prints.

kcat has no admin API (topics, configs, groups, committed offsets), cannot set a
record's timestamp, and reports delivery only as "partition P (offset O)" lines;
those limits are reported as unsupported, never approximated silently."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the work tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import driver_common as common  # noqa: E402
from driver_common import StepError, Unsupported  # noqa: E402

KCAT = os.environ.get("KSTACK_KCAT", "kcat")
# Delimiters for kcat's producer input: byte strings a scenario's data does not contain.
KEY_DELIMITER = b"\x1e\x1fK\x1f\x1e"
MESSAGE_DELIMITER = b"\x1e\x1fM\x1f\x1e"
DELIVERED = re.compile(r"Message delivered to partition (-?\d+) \(offset (-?\d+)\)")
DELIVERY_FAILED = re.compile(r"Delivery failed for message: (.*)")
ASSIGNED = re.compile(r"rebalanced \(memberid [^)]*\): assigned: (.*)")
NO_ADMIN = "kcat has no admin API for %s"


def librdkafka_error_names():
    """librdkafka's error texts (as kcat prints them) to protocol names, read from
    Debian's python3-confluent-kafka, which carries the same librdkafka."""
    try:
        import confluent_kafka
    except ImportError:
        return {}
    from kafka_errors import ERROR_NAMES

    names = {confluent_kafka.KafkaError(code).str(): name for code, name in ERROR_NAMES.items() if code > 0}
    names["Local: Unknown partition"] = "UNKNOWN_TOPIC_OR_PARTITION"
    names["Local: Unknown topic"] = "UNKNOWN_TOPIC_OR_PARTITION"
    names["Local: Message timed out"] = "CLIENT_TIMEOUT"
    names["Local: Timed out"] = "CLIENT_TIMEOUT"
    return names


ERROR_NAMES_BY_TEXT = librdkafka_error_names()


def error_from_text(text):
    """The protocol error name for a librdkafka error text found in kcat's output."""
    for known, name in sorted(ERROR_NAMES_BY_TEXT.items(), key=lambda item: -len(item[0])):
        if known in text:
            return name
    if "Offset out of range" in text:
        return "OFFSET_OUT_OF_RANGE"
    return "CLIENT_ERROR"


def map_error(exception):
    return "CLIENT_ERROR", "%s: %s" % (type(exception).__name__, exception)


def kcat_version():
    try:
        text = subprocess.run([KCAT, "-V"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    version = re.search(r"Version (\S+)", text)
    library = re.search(r"librdkafka (\S+?)[ )]", text)
    return (version.group(1) if version else None), (library.group(1) if library else None)


def client_info():
    version, library = kcat_version()
    return {"name": "kcat", "version": version, "library": "librdkafka %s" % library if library else None}


def security_arguments():
    """The security profile's librdkafka properties as kcat -X arguments (none for PLAINTEXT)."""
    return [argument for key, value in common.librdkafka_security().items() for argument in ("-X", "%s=%s" % (key, value))]


def run_kcat(context, step, arguments, stdin=b"", seconds=None):
    """Runs kcat to completion or to the step's budget (then SIGTERM, which makes
    kcat close its consumer cleanly); returns (exit status, stdout, stderr)."""
    command = [KCAT, "-b", context.bootstrap, "-X", "client.id=" + context.client_id] + security_arguments() + arguments
    budget = seconds if seconds is not None else common.step_timeout_seconds(step)
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = process.communicate(stdin, timeout=budget)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)
        try:
            out, err = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
    sys.stderr.write(err.decode("utf-8", "replace")[-2000:])
    return process.returncode, out, err.decode("utf-8", "replace")


def json_lines(out):
    """kcat's -J output, one object a line; non-UTF-8 bytes pass through as surrogates."""
    text = out.decode("utf-8", "surrogateescape")
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def raw_bytes(text):
    return None if text is None else text.encode("utf-8", "surrogateescape")


# --- Metadata ---------------------------------------------------------------


def metadata_json(context, step, topic=None, allow_auto_create=False):
    arguments = ["-L", "-J", "-m", str(max(int(common.step_timeout_seconds(step)), 1))]
    arguments += ["-X", "allow.auto.create.topics=%s" % ("true" if allow_auto_create else "false")]
    if topic is not None:
        arguments += ["-t", topic]
    status, out, err = run_kcat(context, step, arguments)
    documents = json_lines(out)
    if status != 0 or not documents:
        raise StepError(error_from_text(err), err.strip()[-300:])
    return documents[0]


def topic_entry(metadata, topic):
    for entry in metadata["topics"]:
        if entry["topic"] == topic:
            if entry.get("error"):
                raise StepError(error_from_text(entry["error"]), entry["error"])
            return entry
    raise StepError("UNKNOWN_TOPIC_OR_PARTITION", "not in kcat's metadata listing")


def describe_topic(context, step):
    entry = topic_entry(metadata_json(context, step, step["topic"]), step["topic"])
    partitions = [
        {
            "partition": p["partition"],
            "leader": p["leader"],
            "replicas": [r["id"] for r in p["replicas"]],
            "isr": sorted(r["id"] for r in p["isrs"]),
        }
        for p in sorted(entry["partitions"], key=lambda p: p["partition"])
    ]
    # kcat's listing has no internal flag: Kafka's internal topics are a fixed set.
    return {"topic": step["topic"], "internal": step["topic"] in common.INTERNAL_TOPICS, "partitions": partitions}


def list_topics(context, step):
    names = [t["topic"] for t in metadata_json(context, step)["topics"]]
    return sorted(n for n in names if step.get("includeInternal") or n not in common.INTERNAL_TOPICS)


def metadata_op(context, step):
    allow = bool(step.get("allowAutoCreate", False))
    wanted = step.get("topics")
    if wanted is None:
        documents = [metadata_json(context, step, None, allow)]
        topics = sorted(documents[0]["topics"], key=lambda t: t["topic"])
    else:
        # kcat lists one topic (or all) per run.
        documents = [metadata_json(context, step, name, allow) for name in wanted]
        topics = [t for d, name in zip(documents, wanted) for t in d["topics"] if t["topic"] == name]
    brokers = []
    for broker in sorted(documents[0]["brokers"], key=lambda b: b["id"]):
        host, _, port = broker["name"].rpartition(":")
        brokers.append({"id": broker["id"], "host": host, "port": int(port)})
    return {
        "brokers": brokers,
        "topics": [
            {"topic": t["topic"], "error": error_from_text(t["error"]) if t.get("error") else None, "partitions": len(t["partitions"])}
            for t in topics
        ],
    }


# --- Produce ----------------------------------------------------------------


def producer_arguments(step):
    acks = common.acks_setting(step)
    seconds = common.step_timeout_seconds(step)
    arguments = [
        "-P",
        "-v",
        "-v",  # verbosity 3: one "Message delivered" line per message
        "-t",
        step["topic"],
        "-X",
        "acks=%s" % ("all" if acks == -1 else acks),
        "-X",
        "enable.idempotence=%s" % ("true" if step.get("idempotent") else "false"),
        "-X",
        "linger.ms=%d" % step.get("lingerMs", 0),
        "-X",
        "message.timeout.ms=%d" % max(int(seconds * 1000) - 1000, 1000),
    ]
    compression = step.get("compression", "none")
    if compression != "none":
        arguments += ["-z", compression]
    if "clientMaxBytes" in step:
        arguments += ["-X", "message.max.bytes=%d" % min(int(step["clientMaxBytes"]) + 4096, 1000000000)]
    if step.get("retries") is not None:
        arguments += ["-X", "message.send.max.retries=%d" % int(step["retries"])]
    return arguments


def check_producible(messages):
    for message in messages:
        if message.get("timestamp") is not None:
            raise Unsupported("kcat cannot set a record's timestamp")
        for header in message.get("headers") or []:
            value = common.decode_bytes(header.get("value"))
            if "=" in header["key"] or (value is not None and b"\x00" in value):
                raise Unsupported("kcat's -H name=value cannot carry this header")
        for data in (common.decode_bytes(message.get("key")), common.decode_bytes(message.get("value"))):
            if data is not None and (KEY_DELIMITER in data or MESSAGE_DELIMITER in data):
                raise Unsupported("the data contains this driver's kcat delimiters")
        key, value = common.decode_bytes(message.get("key")), common.decode_bytes(message.get("value"))
        if needs_null_mode(message) and b"" in (key, value):
            raise Unsupported("kcat -Z sends every empty key and value as null: it cannot mix null and empty")


def needs_null_mode(message):
    return message.get("key") is None or message.get("value") is None


def produce_runs(step):
    """Consecutive messages with the same headers, partition and null handling go
    to one kcat run (so they can share a batch); kcat takes these per run."""
    runs = []
    for message in step["messages"]:
        headers = tuple((h["key"], common.decode_bytes(h.get("value"))) for h in message.get("headers") or [])
        partition = message.get("partition", step.get("partition"))
        shape = (headers, partition, needs_null_mode(message))
        if runs and runs[-1][0] == shape:
            runs[-1][1].append(message)
        else:
            runs.append((shape, [message]))
    return runs


def run_arguments(step, shape):
    headers, partition, null_mode = shape
    arguments = producer_arguments(step) + ["-K", "\\x1e\\x1fK\\x1f\\x1e", "-D", "\\x1e\\x1fM\\x1f\\x1e"]
    if partition is not None:
        arguments += ["-p", str(partition)]
    if null_mode:
        arguments.append("-Z")  # empty keys and values are sent as null
    for key, value in headers:
        arguments += ["-H", key if value is None else "%s=%s" % (key, value.decode("utf-8", "surrogateescape"))]
    return arguments


def produce(context, step):
    check_producible(step["messages"])
    deadline = time.monotonic() + common.step_timeout_seconds(step)
    outcomes = []
    for shape, messages in produce_runs(step):
        payload = MESSAGE_DELIMITER.join(
            (common.decode_bytes(m.get("key")) or b"") + KEY_DELIMITER + (common.decode_bytes(m.get("value")) or b"") for m in messages
        )
        seconds = max(deadline - time.monotonic(), 1)
        status, _out, err = run_kcat(context, step, run_arguments(step, shape), payload, seconds)
        outcomes += delivery_outcomes(err, len(messages))
    if len({m.get("partition", step.get("partition")) for m in step["messages"]}) > 1 or step.get("partition") is None:
        context.note("kcat's delivery lines name no message: outcomes are in delivery order")
    failed = [o for o in outcomes if "error" in o]
    if failed:
        raise StepError(
            failed[0]["error"], failed[0].get("message", ""), [{k: v for k, v in o.items() if k != "message"} for o in outcomes]
        )
    return outcomes


def delivery_outcomes(err, count):
    """One outcome per message from kcat's delivery lines, in delivery order."""
    outcomes = []
    for line in err.splitlines():
        delivered, failed = DELIVERED.search(line), DELIVERY_FAILED.search(line)
        if delivered:
            offset = int(delivered.group(2))
            outcomes.append({"partition": int(delivered.group(1)), "offset": offset if offset >= 0 else -1})
        elif failed:
            outcomes.append({"error": error_from_text(failed.group(1)), "message": failed.group(1)})
    if len(outcomes) < count:
        problem = [line for line in err.splitlines() if "ERROR" in line]
        text = problem[-1] if problem else "kcat reported no delivery"
        name = "CLIENT_MESSAGE_TOO_LARGE" if "too large" in text.lower() and "Broker:" not in text else error_from_text(text)
        if name == "CLIENT_ERROR" and not problem:
            name = "CLIENT_TIMEOUT"
        outcomes += [{"error": name, "message": text}] * (count - len(outcomes))
    return outcomes[:count]


# --- Consume ----------------------------------------------------------------


def record_of(document):
    headers = document.get("headers") or []
    record = {
        "topic": document["topic"],
        "partition": document["partition"],
        "offset": document["offset"],
        "key": common.encode_bytes(raw_bytes(document.get("key"))),
        "value": common.encode_bytes(raw_bytes(document.get("payload"))),
        "headers": [{"key": headers[i], "value": common.encode_bytes(raw_bytes(headers[i + 1]))} for i in range(0, len(headers), 2)],
    }
    if document.get("tstype") in ("create", "logappend"):
        record["timestamp"] = document["ts"]
        record["timestampType"] = "CreateTime" if document["tstype"] == "create" else "LogAppendTime"
    return record


def start_argument(start):
    if start in ("beginning", "end"):
        return start
    if "offset" in start:
        return str(int(start["offset"]))
    return "s@%d" % int(start["timestamp"])


def consume(context, step):
    topic = step["topic"]
    entry = topic_entry(metadata_json(context, step, topic), topic)
    present = sorted(p["partition"] for p in entry["partitions"])
    wanted = step.get("partitions")
    if wanted is not None and any(p not in present for p in wanted):
        raise StepError("UNKNOWN_TOPIC_OR_PARTITION", "no such partition in %s" % topic)
    seconds = max(common.step_timeout_seconds(step) - 0.5, 0.5)
    base = ["-C", "-J", "-t", topic, "-o", start_argument(step.get("from", "beginning")), "-c", str(step["count"])]
    base += ["-X", "auto.offset.reset=error"]
    # kcat reads one partition (-p) or all of them per run; a subset takes one run each.
    runs = [base] if wanted is None else [base + ["-p", str(p)] for p in wanted]
    records = []
    for arguments in runs:
        status, out, err = run_kcat(context, step, arguments, seconds=seconds)
        records += [record_of(d) for d in json_lines(out)]
        if status != 0 and "ERROR" in err:
            text = [line for line in err.splitlines() if "ERROR" in line][-1]
            raise StepError(error_from_text(text), text, common.sort_records(records))
    return common.sort_records(records)[: step["count"]]


def list_offsets(context, step):
    spec = step["spec"]
    timestamp = -2 if spec == "earliest" else -1 if spec == "latest" else int(spec["timestamp"])
    target = "%s:%d:%d" % (step["topic"], step.get("partition", 0), timestamp)
    status, out, err = run_kcat(context, step, ["-Q", "-J", "-t", target])
    documents = json_lines(out)
    if status != 0 or not documents:
        raise StepError(error_from_text(err), err.strip()[-300:])
    entry = documents[0][step["topic"]][str(step.get("partition", 0))]
    if entry.get("err"):
        raise StepError(error_from_text(entry["err"]), entry["err"])
    if isinstance(spec, dict) and entry["offset"] >= 0:
        raise Unsupported("kcat -Q prints the offset only, not the found record's timestamp (offset found: %d)" % entry["offset"])
    return {"offset": entry["offset"] if entry["offset"] >= 0 else -1}


# --- Consumer groups --------------------------------------------------------


def group_arguments(step):
    commit = step.get("commit", "sync")
    arguments = ["-G", step["group"], "-J", "-X", "auto.offset.reset=%s" % step.get("reset", "earliest")]
    arguments += ["-X", "session.timeout.ms=%d" % step.get("sessionTimeoutMs", 10000)]
    if commit == "none":
        arguments += ["-X", "enable.auto.commit=false"]
    elif commit == "auto":
        arguments += ["-X", "auto.commit.interval.ms=1000"]
    else:
        # kcat commits what it consumed when it closes the consumer: no interval commits before.
        arguments += ["-X", "auto.commit.interval.ms=86400000"]
    if step.get("instanceId"):
        arguments += ["-X", "group.instance.id=%s" % step["instanceId"]]
    if step.get("exit") != "crash":
        arguments += ["-c", str(step["count"])]
    return arguments + list(step["topics"])


def group_consume(context, step):
    if step.get("exit") == "crash" and step.get("commit", "sync") == "sync":
        raise Unsupported("kcat commits only when it closes the consumer, so it cannot commit and then crash")
    if step.get("exit") == "crash":
        records, err = crash_after(context, step)
    else:
        _status, out, err = run_kcat(context, step, group_arguments(step))
        records = [record_of(d) for d in json_lines(out)]
    if step.get("commit", "sync") == "sync":
        context.note("kcat commits the consumed offsets synchronously when it closes the consumer")
    assigned = [ASSIGNED.search(line) for line in err.splitlines()]
    assigned = [m.group(1) for m in assigned if m]
    assignment = []
    if assigned:
        for topic, partition in re.findall(r"(\S+) \[(\d+)\]", assigned[-1]):
            assignment.append({"topic": topic, "partition": int(partition)})
    return {"records": common.sort_records(records), "assignment": sorted(assignment, key=lambda a: (a["topic"], a["partition"]))}


def crash_after(context, step):
    """Reads records as kcat prints them and kills it (SIGKILL, no LeaveGroup) once
    `count` arrived or the budget ran out."""
    command = [KCAT, "-b", context.bootstrap, "-X", "client.id=" + context.client_id, "-u"] + security_arguments() + group_arguments(step)
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + common.step_timeout_seconds(step)
    timer = threading.Timer(max(deadline - time.monotonic(), 0), process.kill)
    timer.start()
    records = []
    for line in process.stdout:
        if line.startswith(b"{"):
            records.append(record_of(json.loads(line.decode("utf-8", "surrogateescape"))))
        if len(records) >= step["count"]:
            break
    process.kill()
    timer.cancel()
    err = process.stderr.read().decode("utf-8", "replace")
    process.wait()
    sys.stderr.write(err[-2000:])
    return records, err


def no_admin(what):
    def unsupported(_context, _step):
        raise Unsupported(NO_ADMIN % what)

    return unsupported


OPS = {
    "createTopic": no_admin("topics"),
    "describeTopic": describe_topic,
    "listTopics": list_topics,
    "deleteTopic": no_admin("topics"),
    "createPartitions": no_admin("topics"),
    "describeConfigs": no_admin("configs"),
    "alterConfigs": no_admin("configs"),
    "metadata": metadata_op,
    "produce": produce,
    "consume": consume,
    "listOffsets": list_offsets,
    "groupConsume": group_consume,
    "commitOffsets": no_admin("committing offsets outside a consumer"),
    "listGroups": no_admin("groups"),
    "describeGroup": no_admin("groups"),
    "deleteGroup": no_admin("groups"),
    "groupOffsets": no_admin("committed offsets"),
    "clientInfo": lambda _context, _step: client_info(),
    "sleep": common.sleep_op,
}

if __name__ == "__main__":
    if not kcat_version()[0]:
        common.not_installed_main({"name": "kcat", "version": None, "library": None}, "kcat is missing: run npm run setup")
    else:
        common.run_driver(client_info(), OPS, map_error)
