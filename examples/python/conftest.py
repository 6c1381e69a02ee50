"""pytest fixtures for a kstack test cluster (src/testing/serve.ts), driven over its HTTP control.

Copy this file into your tests' folder. One cluster per session, reset after every test:

    def test_orders(kafka):
        producer = Producer({"bootstrap.servers": kafka.bootstrap_servers})
        topic = kafka.namespace() + "orders"   # a prefix no other test gets
        ...

Options: override the ``kstack_args`` fixture (e.g. ``["--brokers", "3"]``,
``["--clock", "manual"]``, ``["--schema-registry"]`` for ``kafka.schema_registry_url``, a Schema
Registry emptied by every reset, or ``["--connect"]`` for ``kafka.connect_url``, Kafka's Connect
worker, whose connectors every reset removes: Java 17+, and a JVM start of 10-60 s); ``KSTACK_ROOT`` is the kstack checkout when the tests live outside it;
``node`` (Node 24) must be on PATH.
"""

import json
import os
import pathlib
import queue
import subprocess
import threading
import urllib.error
import urllib.request

import pytest

# Generous: CI machines are loaded.
READY_TIMEOUT_S = 60
# With --connect, ready waits for Kafka's Connect worker too (a JVM: 10-60 s on a loaded machine,
# over 240 s seen at load 60 with four JVMs starting at once; serve.ts gives up on the worker itself
# after 180 s and says why).
CONNECT_READY_TIMEOUT_S = 420
REQUEST_TIMEOUT_S = 120


def _repo_root():
    if os.environ.get("KSTACK_ROOT"):
        return pathlib.Path(os.environ["KSTACK_ROOT"])
    for folder in [pathlib.Path.cwd(), *pathlib.Path.cwd().parents, *pathlib.Path(__file__).parents]:
        if (folder / "src" / "testing" / "serve.ts").is_file():
            return folder
    raise RuntimeError("no src/testing/serve.ts above the working directory: set KSTACK_ROOT")


class KstackError(Exception):
    """The control endpoint refused a request: ``status``, Kafka/HTTP ``error_code`` and message."""

    def __init__(self, method, path, status, body):
        self.status = status
        self.error_code = body.get("error_code") if isinstance(body, dict) else None
        super().__init__(f"kstack: {method} {path}: {status} {body}")


class Kstack:
    """A running test cluster: ``bootstrap_servers``, ``control_url``, ``schema_registry_url``
    (None without ``--schema-registry``), ``connect_url`` (None without ``--connect``) and its operations."""

    def __init__(self, args):
        serve = _repo_root() / "src" / "testing" / "serve.ts"
        try:
            self._process = subprocess.Popen(
                ["node", str(serve), *args], stdout=subprocess.PIPE, text=True
            )
        except FileNotFoundError as error:
            raise RuntimeError("node not found: Node 24 must be first on PATH") from error
        lines = queue.Queue()
        threading.Thread(target=lambda: lines.put(self._process.stdout.readline()), daemon=True).start()
        ready_timeout_s = CONNECT_READY_TIMEOUT_S if "--connect" in args else READY_TIMEOUT_S
        try:
            line = lines.get(timeout=ready_timeout_s)
        except queue.Empty:
            self._process.kill()
            raise RuntimeError(f"serve.ts not ready after {ready_timeout_s} s") from None
        if not line:
            self._process.wait()
            raise RuntimeError(f"serve.ts exited ({self._process.returncode}) before it was ready")
        ready = json.loads(line)
        self.bootstrap_servers = ready["bootstrapServers"]
        self.control_url = ready["controlUrl"]
        self.schema_registry_url = ready.get("schemaRegistryUrl")
        self.connect_url = ready.get("connectUrl")

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.control_url + path, data=data, method=method)
        if data is not None:
            request.add_header("content-type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            text = error.read()
            try:
                answer = json.loads(text)
            except ValueError:
                answer = text.decode(errors="replace")
            raise KstackError(method, path, error.code, answer) from None

    def cluster(self):
        """``GET /cluster``: bootstrap servers, clock, snapshots (and brokers on three)."""
        return self._call("GET", "/cluster")

    def reset(self):
        """Back to the state right after start (topics, records, groups, offsets, transactions)."""
        return self._call("POST", "/reset")

    def namespace(self):
        """A new prefix for this test's topics, groups and transactional ids."""
        return self._call("POST", "/namespaces")["prefix"]

    def snapshot(self, name):
        return self._call("POST", f"/snapshots/{name}")

    def restore(self, name):
        return self._call("POST", f"/snapshots/{name}/restore")

    def advance_clock(self, ms):
        """Moves a manual clock (``--clock manual``) forward; the broker's time after it."""
        return self._call("POST", "/clock/advance", {"ms": ms})["nowMs"]

    def kill(self, node_id):
        """Three brokers only: kills one (a crash); ``restart(node_id)`` brings it back."""
        return self._call("POST", f"/brokers/{node_id}/kill")

    def restart(self, node_id):
        return self._call("POST", f"/brokers/{node_id}/restart")

    def stop(self):
        """SIGTERM: a clean stop; waits for the process."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=READY_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        return self._process.returncode


@pytest.fixture(scope="session")
def kstack_args():
    """serve.ts arguments; override in a conftest.py, e.g. ``return ["--brokers", "3"]``."""
    return []


@pytest.fixture(scope="session")
def kstack_cluster(kstack_args):
    """One cluster for the session, stopped at its end."""
    cluster = Kstack(kstack_args)
    yield cluster
    assert cluster.stop() == 0, "serve.ts did not stop cleanly"


@pytest.fixture
def kafka(kstack_cluster):
    """The session's cluster, reset when the test ends: the next test sees none of its data."""
    yield kstack_cluster
    kstack_cluster.reset()
