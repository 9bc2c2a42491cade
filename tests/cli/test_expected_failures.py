"""Expected failures of the CLI are one line naming the fix, never a traceback; and no command leaves a key
behind that it did not print. Real processes, real sockets, a real second server."""

from __future__ import annotations

import http.server
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from grafana_proxy.settings import Settings
from grafana_proxy.stores.engine import close_stores, open_stores
from tests.cli.test_demo_and_serve import _env, _free_port, _serving

from .conftest import Invoke


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "grafana_proxy.cli.main", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def _one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for needle in needles:
        assert needle in errors[0], result.stderr  # the one line names what to fix


def test_serve_on_a_spool_held_by_another_serve(tmp_path: Path) -> None:
    env = _env(tmp_path / "data")
    with _serving(env, _free_port()) as first:
        second = _run(env, "serve", "--host", "127.0.0.1", "--port", str(_free_port()))
    first.communicate()  # reads and closes its output pipe
    _one_line_error(second, "spool", "in use by another process", "GRAFANA_PROXY_DATA_DIR")


def test_serve_on_a_taken_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run(_env(tmp_path / "data"), "serve", "--host", "127.0.0.1", "--port", str(port))
    _one_line_error(result, f"port {port}", "already in use", "--port")


@pytest.fixture
def not_grafana() -> Iterator[str]:
    """A real HTTP server that is not Grafana: 404 for the API, an HTML page at the root."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html>hello</html>" if self.path == "/" else b"not found"
            self.send_response(200 if self.path == "/" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_provision_against_a_server_that_is_not_grafana(tmp_path: Path, not_grafana: str) -> None:
    result = _run(_env(tmp_path / "data"), "provision", "--grafana-url", not_grafana, "--token", "t")
    _one_line_error(result, "does not answer like Grafana", "--grafana-url")


def test_reference_set_refuses_an_unknown_endpoint_unless_create(
    invoke: Invoke, cli_env: dict[str, str | None], tmp_path: Path
) -> None:
    training = tmp_path / "train.csv"
    training.write_text("age,visits\n1,2\n3,4\n5,6\n")
    typo = invoke("reference", "set", "--project", "p", "--endpoint", "typo", "--from-file", str(training), ok=False)
    assert typo.exit_code == 1 and "no endpoint 'typo'" in typo.stderr and "--create" in typo.stderr
    settings = Settings(data_dir=Path(str(cli_env["GRAFANA_PROXY_DATA_DIR"])))
    stores = open_stores(settings)
    try:
        assert stores.endpoints.get("p", "typo") is None  # no phantom endpoint
    finally:
        close_stores(stores)
    invoke("reference", "set", "--project", "p", "--endpoint", "ep1", "--from-file", str(training), "--create")
    stores = open_stores(settings)
    try:
        record = stores.endpoints.get("p", "ep1")
        assert record is not None and set(record.feature_stats) == {"age", "visits"}
    finally:
        close_stores(stores)
    bad = invoke("reference", "set", "--project", "p", "--endpoint", "../x", "--from-file", str(training), ok=False)
    assert bad.exit_code == 1 and "--endpoint" in bad.stderr


def test_a_demo_that_cannot_start_leaves_no_unprinted_key(tmp_path: Path) -> None:
    """A second demo on the same data directory (the first holds the spool) fails in one line, and the
    key store holds no key made by the failed run."""
    env = _env(tmp_path / "data")
    with _serving(env, _free_port()) as first:  # holds the serve spool, as a running demo does
        stores = open_stores(Settings(data_dir=tmp_path / "data"))
        try:
            before = {k.key_id for k in stores.keys.all() if k.revoked_at is None}
        finally:
            close_stores(stores)
        ports = [str(_free_port()) for _ in range(3)]
        result = _run(
            env,
            "demo",
            "--no-seed",
            "--port",
            ports[0],
            "--gateway-port",
            ports[1],
            "--model-port",
            ports[2],
        )
    first.communicate()  # reads and closes its output pipe
    _one_line_error(result, "in use by another process")
    stores = open_stores(Settings(data_dir=tmp_path / "data"))
    try:
        after = {k.key_id for k in stores.keys.all() if k.revoked_at is None}
    finally:
        close_stores(stores)
    assert after == before


def test_keys_create_refuses_a_project_name_that_is_not_an_identifier(invoke: Invoke) -> None:
    result = invoke("keys", "create", "--project", "alpha ", ok=False)
    assert result.exit_code == 1 and "--project" in result.stderr and result.stdout == ""
