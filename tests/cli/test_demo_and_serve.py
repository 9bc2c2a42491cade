"""``demo`` and ``serve`` block while serving: the preparation is tested as a function, the server
once as a real process on a free port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson

from grafana_proxy.demo.setup import DATASOURCE_PATH, KEY_HEADER, datasource_url, prepare_demo
from grafana_proxy.settings import Settings
from grafana_proxy.stores.engine import close_stores, open_stores

SMALL_DEMO = (("fraud-demo", 3), ("retail-demo", 2))


def test_prepare_demo_seeds_once_and_creates_a_read_key(tmp_path: Path) -> None:
    stores = open_stores(Settings(data_dir=tmp_path))
    try:
        info = prepare_demo(stores, "127.0.0.1", 8080, demo_projects=SMALL_DEMO, days=0.25)
        assert info.url == "http://127.0.0.1:8080/api/grafana-proxy/model-endpoints"
        assert info.projects == ["fraud-demo", "retail-demo"]
        assert [r.endpoints for r in info.seeded] == [3, 2]
        key = stores.keys.verify(info.key)
        assert key is not None and key.scope == "read" and key.key_id == info.key_id
        assert info.key in info.curl and info.url + "/query" in info.curl
        again = prepare_demo(stores, "0.0.0.0", 9000, demo_projects=SMALL_DEMO, days=0.25)
        assert again.seeded == [] and again.key != info.key  # not seeded twice; a fresh key each start
        assert again.url == "http://127.0.0.1:9000" + DATASOURCE_PATH
        assert len(stores.endpoints.uids("fraud-demo")) == 3
    finally:
        close_stores(stores)


def test_prepare_demo_without_seed_on_an_empty_store(tmp_path: Path) -> None:
    stores = open_stores(Settings(data_dir=tmp_path))
    try:
        info = prepare_demo(stores, "127.0.0.1", 8080, seed=False)
        assert info.seeded == [] and info.projects == [] and "list_projects" in info.curl
    finally:
        close_stores(stores)


def test_datasource_url_brackets_ipv6() -> None:
    assert datasource_url("::1", 80) == "http://[::1]:80" + DATASOURCE_PATH


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _serving(env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "grafana_proxy.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"serve exited early: {proc.communicate()[0].decode()}"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not answer /healthz within 30 s"
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAFANA_PROXY_")}
    env.update(GRAFANA_PROXY_DATA_DIR=str(data_dir), **extra)
    return env


def test_serve_answers_with_a_key_and_never_logs_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    stores = open_stores(Settings(data_dir=data_dir))
    try:
        info = prepare_demo(stores, "127.0.0.1", 0, demo_projects=SMALL_DEMO, days=0.25)
    finally:
        close_stores(stores)
    port = _free_port()
    url = datasource_url("127.0.0.1", port)
    with _serving(_env(data_dir), port) as proc:
        assert httpx.get(url, headers={KEY_HEADER: info.key}).status_code == 200
        assert httpx.get(url + "/", headers={KEY_HEADER: info.key}).status_code == 200
        assert httpx.get(url).status_code == 401
        assert httpx.get(url, headers={KEY_HEADER: info.key + "x"}).status_code == 401
        # The demo's curl line, run by a shell as a user would paste it (with this server's port).
        curl = shutil.which("curl")
        assert curl, "curl is needed to check the demo's curl line"
        line = info.curl.replace("http://127.0.0.1:0/", f"http://127.0.0.1:{port}/")
        answer = subprocess.run(["bash", "-c", line], capture_output=True, check=True, timeout=30)
        frames = orjson.loads(answer.stdout)
        assert frames[0]["type"] == "table" and len(frames[0]["rows"]) == 3
    output = proc.communicate()[0].decode()
    assert info.key not in output and info.key[-16:] not in output


def test_serve_warns_loudly_when_auth_is_off(tmp_path: Path) -> None:
    port = _free_port()
    with _serving(_env(tmp_path / "data", GRAFANA_PROXY_AUTH="none"), port) as proc:
        assert httpx.get(datasource_url("127.0.0.1", port)).status_code == 200
    output = proc.communicate()[0].decode()
    assert "WARNING" in output and "GRAFANA_PROXY_AUTH=none" in output


def test_serve_reports_an_unreachable_database(cli_env, invoke) -> None:
    cli_env["GRAFANA_PROXY_DB_URL"] = "postgresql+psycopg://nobody:s3cret@127.0.0.1:9/nothing"
    result = invoke("serve", "--port", "1", ok=False)
    assert result.exit_code == 1 and "database unavailable" in result.stderr
    assert "s3cret" not in result.output
