"""Real processes of a grafana-proxy cluster for the scale-out tests: each role is ``grafana-proxy run
<role>`` in its own OS process, sharing only the database, the JetStream stream and the archive URL (each
has a data directory of its own, as on separate machines), and can be killed with SIGKILL and restarted.

The load: clients post batches of events through every api process, re-send some batches with the same
request ids, and move to another api when theirs fails; what got a 202 is the acknowledged set the test
checks the stores against."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.servers import free_port

PREFIX = "/api/grafana-proxy/model-endpoints"
PROJECT = "cluster"


def role_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "grafana_proxy.cli.main", *args]


class Role:
    """One role process; its output goes to ``<logs>/<name>.log`` (appended across restarts)."""

    def __init__(self, name: str, args: Sequence[str], env: dict[str, str], logs: Path, port: int | None = None):
        self.name, self.args, self.env, self.port = name, list(args), env, port
        self.log_path = logs / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                role_command(*self.args), env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self.starts += 1

    def wait_ready(self, timeout: float = 60) -> None:
        """For an api: until /readyz answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} not ready within {timeout} s:\n{self.tail()}")

    def kill9(self) -> None:
        assert self.process is not None and self.process.poll() is None, f"{self.name} is not running"
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no output)"


@dataclass
class Cluster:
    """Roles started with one environment (the cluster's settings) and a data directory each."""

    root: Path
    env: dict[str, str]
    roles: dict[str, Role] = field(default_factory=dict)

    def add(self, name: str, role: str, **extra: str) -> Role:
        data_dir = self.root / name
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {**self.env, "GRAFANA_PROXY_DATA_DIR": str(data_dir), **extra}
        port = free_port() if role == "api" else None
        args = ["run", role] + (["--port", str(port)] if port else [])
        self.roles[name] = Role(name, args, env, self.root, port)
        return self.roles[name]

    def stop(self) -> None:
        for role in self.roles.values():
            if role.alive() and role.process is not None:
                role.process.send_signal(signal.SIGTERM)
        for role in self.roles.values():
            role.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{role.tail()}" for name, role in self.roles.items())


def cluster_env(settings: dict[str, str]) -> dict[str, str]:
    """This environment without any GRAFANA_PROXY_* of the caller's, plus ``settings`` (setting names)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAFANA_PROXY_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update({f"GRAFANA_PROXY_{k.upper()}": v for k, v in settings.items()})
    return env


# -- the load --------------------------------------------------------------------------------------------------


@dataclass
class Load:
    """Batches of events posted by several clients through several api processes."""

    apis: Sequence[Role]
    key: str
    clients: int
    batches_per_client: int
    batch_size: int
    endpoints: int
    resend_every: int  # every Nth batch is posted a second time, same request ids, through another api
    acked: list[tuple[int, int]] = field(default_factory=list)  # (client, batch) that got a 202
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    timestamps: dict[str, int] = field(default_factory=dict)
    sent_events: int = 0

    def request_ids(self, client: int, batch: int) -> list[str]:
        return [f"c{client}-b{batch}-{i}" for i in range(self.batch_size)]

    def events(self, client: int, batch: int, now_ms: int) -> list[dict[str, Any]]:
        out = []
        for i, rid in enumerate(self.request_ids(client, batch)):
            out.append(
                {
                    "endpoint_id": f"ep-{(client + batch + i) % self.endpoints}",
                    "timestamp": now_ms,
                    "request_id": rid,
                    "inputs": [float(i % 97), float(batch % 13)],
                    "outputs": [float(i % 2)],
                    "latency": 1000 + i % 500,
                    **({"error": "boom"} if i % 50 == 0 else {}),
                }
            )
        return out

    def _post(self, http: httpx.Client, start: int, body: list[dict[str, Any]]) -> bool:
        """Post until one api acknowledges it (202), trying each api in turn; False when all failed
        for a minute."""
        deadline = time.monotonic() + 60
        for attempt in itertools.count():
            api = self.apis[(start + attempt) % len(self.apis)]
            try:
                reply = http.post(f"{api.url}/api/v1/projects/{PROJECT}/events", json=body)
                self.statuses[reply.status_code] += 1
                if reply.status_code == 202:
                    return True
                assert reply.status_code == 503, f"{api.name} answered {reply.status_code}: {reply.text}"
            except httpx.HTTPError as error:
                self.failures[type(error).__name__] += 1
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        raise AssertionError("unreachable")

    def client(self, client: int) -> None:
        headers = {"X-V3io-Session-Key": self.key}
        with httpx.Client(timeout=10, headers=headers) as http:
            for batch in range(self.batches_per_client):
                now_ms = int(time.time() * 1000)
                body = self.events(client, batch, now_ms)
                if self._post(http, client + batch, body):
                    self.acked.append((client, batch))
                    for rid in self.request_ids(client, batch):
                        self.timestamps[rid] = now_ms
                if self.resend_every and batch % self.resend_every == 0:
                    self._post(http, client + batch + 1, body)  # the same request ids again

    def run(self, during: Callable[[], None] | None = None) -> None:
        threads = [threading.Thread(target=self.client, args=(c,), name=f"client-{c}") for c in range(self.clients)]
        for thread in threads:
            thread.start()
        if during is not None:
            during()
        for thread in threads:
            thread.join()

    def done(self) -> int:
        return len(self.acked)


class QueryWatcher:
    """Asks one api a panel query in a loop from a thread and records every answer's status."""

    def __init__(self, api: Role, key: str) -> None:
        self.api, self.key = api, key
        self.statuses: Counter[int | str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watcher", daemon=True)

    def _run(self) -> None:
        body = {"targets": [{"target": f"target_endpoint=list_endpoints;project={PROJECT}"}]}
        with httpx.Client(timeout=10, headers={"X-V3io-Session-Key": self.key}) as http:
            while not self._stop.is_set():
                try:
                    self.statuses[http.post(f"{self.api.url}{PREFIX}/query", json=body).status_code] += 1
                except httpx.HTTPError as error:
                    self.statuses[type(error).__name__] += 1
                self._stop.wait(0.2)

    def __enter__(self) -> QueryWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(15)


def wait_until(condition: Callable[[], Any], timeout: float, what: str, cluster: Cluster) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout} s (last: {last!r}); logs:\n{cluster.logs()}")
