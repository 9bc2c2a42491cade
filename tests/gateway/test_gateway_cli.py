"""``grafana-proxy demo-model`` and ``gateway`` bind to GRAFANA_PROXY_HOST unless --host says otherwise
(compose sets it to 0.0.0.0 so the containers reach each other). 127.0.0.2 is loopback too, so a server
bound there answers on it and not on 127.0.0.1."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port

HOST = "127.0.0.2"


@dataclass
class _Running:
    proc: subprocess.Popen[bytes]
    output: str = ""  # everything the command printed, filled in when it has stopped


@contextmanager
def _command(args: list[str], env: dict[str, str], probe: str) -> Iterator[_Running]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "grafana_proxy.cli.main", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    running = _Running(proc)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.communicate()[0].decode()
            try:
                httpx.get(probe, timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"{args[0]} did not answer on {probe}"
                time.sleep(0.2)
        yield running
    finally:
        proc.terminate()
        try:
            output, _ = proc.communicate(timeout=15)  # also closes the pipe
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        running.output = (output or b"").decode()


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAFANA_PROXY_")}
    env.update(GRAFANA_PROXY_DATA_DIR=str(tmp_path / "data"), GRAFANA_PROXY_HOST=HOST)
    return env


def test_demo_model_and_gateway_bind_to_the_host_setting(tmp_path: Path) -> None:
    env = _env(tmp_path)
    model_port, gateway_port = free_port(), free_port()
    model = f"http://{HOST}:{model_port}"
    with _command(["demo-model", "--port", str(model_port)], env, f"{model}/healthz"):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{model_port}/healthz", timeout=2)
        gateway_args = ["gateway", "--service-url", model, "--project", "p", "--port", str(gateway_port)]
        with _command(gateway_args, env, f"http://{HOST}:{gateway_port}/healthz") as gateway:
            reply = httpx.post(
                f"http://{HOST}:{gateway_port}/v2/models/classifier/infer", json={"inputs": [[5.1, 3.5, 1.4, 0.2]]}
            )
            assert reply.status_code == 200 and reply.json()["outputs"] == [0]
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://127.0.0.1:{gateway_port}/healthz", timeout=2)
        assert f"gateway on http://{HOST}:{gateway_port}" in gateway.output


def test_gateway_reads_the_seed_variable_names_as_aliases(tmp_path: Path) -> None:
    """SERVICE_URL, TABLE_NAME and DB_URL (the monitor gateway's original names) configure a gateway
    started without any option for them: calls reach the model and land in the audit table."""
    env = _env(tmp_path)
    model_port, gateway_port = free_port(), free_port()
    model = f"http://{HOST}:{model_port}"
    audit = tmp_path / "audit.db"
    env.update(SERVICE_URL=model, TABLE_NAME="calls", DB_URL=f"sqlite:///{audit}")
    with _command(["demo-model", "--port", str(model_port)], env, f"{model}/healthz"):
        args = ["gateway", "--project", "p", "--port", str(gateway_port)]
        with _command(args, env, f"http://{HOST}:{gateway_port}/healthz"):
            reply = httpx.post(
                f"http://{HOST}:{gateway_port}/v2/models/classifier/infer", json={"inputs": [[5.1, 3.5, 1.4, 0.2]]}
            )
            assert reply.status_code == 200 and reply.json()["outputs"] == [0]
            deadline = time.monotonic() + 20
            while True:  # rows are written by the recorder, after the answer went out
                with sqlite3.connect(audit) as db:
                    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                    query = (
                        "SELECT path, status FROM calls WHERE path LIKE '/v2/%'"  # the probe's /healthz is recorded too
                    )
                    rows = db.execute(query).fetchall() if "calls" in tables else []
                db.close()
                if rows:
                    break
                assert time.monotonic() < deadline, "no row reached the audit table"
                time.sleep(0.2)
            assert rows == [("/v2/models/classifier/infer", 200)]


def test_gateway_without_a_service_url_says_how_to_give_one(tmp_path: Path) -> None:
    env = {k: v for k, v in _env(tmp_path).items() if k not in ("SERVICE_URL", "TABLE_NAME", "DB_URL")}
    done = subprocess.run(
        [sys.executable, "-m", "grafana_proxy.cli.main", "gateway", "--project", "p"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "--service-url" in done.stderr and "GRAFANA_PROXY_GATEWAY_SERVICE_URL" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
