"""``grafana-proxy demo-model`` and ``gateway`` bind to GRAFANA_PROXY_HOST unless --host says otherwise
(compose sets it to 0.0.0.0 so the containers reach each other). 127.0.0.2 is loopback too, so a server
bound there answers on it and not on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port

HOST = "127.0.0.2"


@contextmanager
def _command(args: list[str], env: dict[str, str], probe: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "grafana_proxy.cli.main", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
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
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
        assert f"gateway on http://{HOST}:{gateway_port}" in gateway.communicate()[0].decode()
