"""What every Python driver shares: reading the job, the Bytes encodings, the step
loop with its per-step budget, and writing the result (compat/PROTOCOL.md).

A driver module gives `run_driver` a table of op functions. An op function takes
(context, step) and returns the step's value, or raises StepError / Unsupported.
"""

import base64
import hashlib
import json
import os
import re
import sys
import threading
import time

PROTOCOL_VERSION = 1
DEFAULT_STEP_TIMEOUT_MS = 30000
# Large values are reported by size and digest, as the protocol allows.
INLINE_VALUE_BYTES_MAX = 64 * 1024
# Extra time a step may overrun its budget before the watchdog ends the job.
WATCHDOG_GRACE_SECONDS = 15
# Topics Kafka itself marks internal (clients that do not expose the flag use this list).
INTERNAL_TOPICS = ("__consumer_offsets", "__transaction_state", "__share_group_state")


class StepError(Exception):
    """A step that failed with a normalised error name (PROTOCOL.md section 6)."""

    def __init__(self, error, message="", value=None):
        super().__init__(message or error)
        self.error = error
        self.message = message
        self.value = value


class Unsupported(Exception):
    """The client cannot do what the step asks; the text is the reason."""


class Context:
    def __init__(self, job):
        self.job = job
        self.bootstrap = job.get("bootstrap", "")
        self.client_id = "kstack-compat-" + re.sub(r"[^A-Za-z0-9._-]", "_", str(job.get("jobId", "job")))
        self.notes = []
        # Client handles a driver keeps for the whole job, by its own keys.
        self.clients = {}

    def note(self, message):
        """A remark for humans on the current step (an emulation, a substitution)."""
        self.notes.append(message)


def step_timeout_seconds(step):
    return float(step.get("timeoutMs", DEFAULT_STEP_TIMEOUT_MS)) / 1000.0


def decode_bytes(data):
    """A protocol Bytes value (null, text, base64 or fill) as Python bytes or None."""
    if data is None:
        return None
    if isinstance(data, str):
        return data.encode("utf-8")
    if "base64" in data:
        return base64.b64decode(data["base64"])
    fill = data["fill"].encode("utf-8")
    size = int(data["size"])
    return (fill * (size // max(len(fill), 1) + 1))[:size]


def encode_bytes(data):
    """Python bytes as a protocol Bytes value: text when UTF-8, else base64; large ones by digest."""
    if data is None:
        return None
    if len(data) > INLINE_VALUE_BYTES_MAX:
        return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def encode_headers(headers):
    return [{"key": key, "value": encode_bytes(value)} for key, value in (headers or [])]


def message_headers(message):
    return [(header["key"], decode_bytes(header.get("value"))) for header in message.get("headers") or []]


def acks_setting(step):
    """The step's acks as the number Kafka uses: 0, 1 or -1 (all)."""
    acks = step.get("acks", "all")
    return -1 if acks in ("all", -1) else int(acks)


def sort_records(records):
    return sorted(records, key=lambda record: (record["partition"], record["offset"]))


def unsupported_result(step, reason):
    return {"id": step.get("id"), "op": step.get("op"), "status": "unsupported", "reason": reason}


def error_result(step, error, message=""):
    result = {"id": step.get("id"), "op": step.get("op"), "status": "error", "value": None, "error": error}
    if message:
        result["message"] = message
    return result


def take_stdout():
    """Keeps the real stdout for the result and sends everything else written to fd 1
    (native libraries' prints included) to stderr."""
    result_stream = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return result_stream


def write_result(stream, client, results):
    stream.write(json.dumps({"protocol": PROTOCOL_VERSION, "client": client, "results": results}))
    stream.write("\n")
    stream.flush()


def read_job():
    return json.loads(sys.stdin.read())


def require_installed():
    """The launcher sets KSTACK_COMPAT_NOT_INSTALLED when the client's environment is missing."""
    reason = os.environ.get("KSTACK_COMPAT_NOT_INSTALLED")
    if reason:
        raise ImportError(reason)


def not_installed_main(client, message):
    """Answers every step with CLIENT_NOT_INSTALLED (PROTOCOL.md section 2)."""
    stream = take_stdout()
    job = read_job()
    results = [error_result(step, "CLIENT_NOT_INSTALLED", message) for step in job.get("steps", [])]
    write_result(stream, client, results)


def run_step(context, step, ops, map_error):
    op = ops.get(step.get("op"))
    if op is None:
        return unsupported_result(step, "this driver does not know op %r" % step.get("op"))
    started = time.monotonic()
    context.notes = []
    try:
        result = {"id": step["id"], "op": step["op"], "status": "ok", "value": op(context, step)}
    except Unsupported as reason:
        return unsupported_result(step, str(reason))
    except StepError as failure:
        result = error_result(step, failure.error, failure.message)
        result["value"] = failure.value
    except Exception as exception:  # noqa: BLE001 - every client error is normalised here
        error, message = map_error(exception)
        result = error_result(step, error, message)
    if context.notes and "message" not in result:
        result["message"] = "; ".join(context.notes)
    result["durationMs"] = int((time.monotonic() - started) * 1000)
    return result


def start_watchdog(stream, client, job, results):
    """Ends the process with a valid result if a step overruns its budget by far:
    a driver must never hang (PROTOCOL.md section 1)."""
    state = {"step": None, "deadline": None}

    def watch():
        while True:
            time.sleep(0.5)
            deadline = state["deadline"]
            if deadline is not None and time.monotonic() > deadline:
                done = len(results)
                rest = job["steps"][done:]
                timed_out = [error_result(rest[0], "CLIENT_TIMEOUT", "the client did not return")] if rest else []
                timed_out += [error_result(step, "CLIENT_ERROR", "not run: an earlier step hung") for step in rest[1:]]
                write_result(stream, client, results + timed_out)
                os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
    return state


def run_driver(client, ops, map_error):
    """Reads the job, runs its steps in order, writes the result, exits."""
    stream = take_stdout()
    job = read_job()
    steps = job.get("steps", [])
    if job.get("protocol") != PROTOCOL_VERSION:
        message = "driver speaks protocol %d" % PROTOCOL_VERSION
        write_result(stream, client, [error_result(step, "CLIENT_ERROR", message) for step in steps])
        return
    context = Context(job)
    results = []
    watchdog = start_watchdog(stream, client, job, results)
    for step in steps:
        watchdog["deadline"] = time.monotonic() + step_timeout_seconds(step) + WATCHDOG_GRACE_SECONDS
        results.append(run_step(context, step, ops, map_error))
        watchdog["deadline"] = None
        if step.get("exit") == "crash":
            write_result(stream, client, results)
            os._exit(0)
    write_result(stream, client, results)
    stream.close()
    os._exit(0)  # native client threads must not keep the process alive


def sleep_op(context, step):
    time.sleep(float(step.get("ms", 0)) / 1000.0)


def security_settings():
    """The security profile's client settings (compat/runner/security.ts): KSTACK_COMPAT_SECURITY
    holds {"protocol", "mechanism"?, "username"?, "password"?, "caFile"?}; None means PLAINTEXT."""
    raw = os.environ.get("KSTACK_COMPAT_SECURITY", "")
    return json.loads(raw) if raw else None


def unsecured_jws(subject, lifetime_seconds=3600):
    """An unsecured JWS (alg none, no signature) naming `subject`: what Kafka's default
    OAUTHBEARER validator takes (local testing only)."""
    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    now = int(time.time())
    return "%s.%s." % (part({"alg": "none"}), part({"sub": subject, "iat": now, "exp": now + lifetime_seconds}))


def librdkafka_security():
    """The security settings as librdkafka properties (kcat -X, confluent-kafka). OAUTHBEARER:
    librdkafka's own unsecured JWT (sasl.oauthbearer.config principal=<username>)."""
    settings = security_settings()
    if not settings:
        return {}
    config = {"security.protocol": settings["protocol"]}
    if settings.get("mechanism") == "OAUTHBEARER":
        config.update({
            "sasl.mechanisms": "OAUTHBEARER",
            "enable.sasl.oauthbearer.unsecure.jwt": "true",
            "sasl.oauthbearer.config": "principal=%s" % settings["username"],
        })
    elif "mechanism" in settings:
        config.update({
            "sasl.mechanisms": settings["mechanism"],
            "sasl.username": settings["username"],
            "sasl.password": settings["password"],
        })
    if "caFile" in settings:
        config["ssl.ca.location"] = settings["caFile"]
    return config


def unsecured_token_provider(subject):
    """kafka-python's sasl_oauth_token_provider (an AbstractTokenProvider, which it checks): an
    unsecured JWS built here, as kafka-python has no token of its own."""
    from kafka.net.sasl.oauth import AbstractTokenProvider

    class UnsecuredTokenProvider(AbstractTokenProvider):
        def token(self):
            return unsecured_jws(subject)

    return UnsecuredTokenProvider()


def kafka_python_security():
    """The security settings as kafka-python keyword arguments."""
    settings = security_settings()
    if not settings:
        return {}
    options = {"security_protocol": settings["protocol"]}
    if settings.get("mechanism") == "OAUTHBEARER":
        options.update({
            "sasl_mechanism": "OAUTHBEARER",
            "sasl_oauth_token_provider": unsecured_token_provider(settings["username"]),
        })
    elif "mechanism" in settings:
        options.update({
            "sasl_mechanism": settings["mechanism"],
            "sasl_plain_username": settings["username"],
            "sasl_plain_password": settings["password"],
        })
    if "caFile" in settings:
        options["ssl_cafile"] = settings["caFile"]
    return options
