"""Access keys never reach a log: every log record of a full run (root, our loggers, uvicorn's and
SQLAlchemy's, at DEBUG) and the stderr of a real ``grafana-proxy serve`` are searched for every
secret, whole and for its secret part after the key id."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from grafana_proxy.app import create_app
from grafana_proxy.deps import runtime_of
from grafana_proxy.logs import JsonFormatter, TextFormatter, request_id_var
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from grafana_proxy.stores.engine import close_stores, open_stores
from grafana_proxy.targets.base import QueryContext, Target
from tests.http_fixtures import PREFIX
from tests.security.conftest import Secrets, seed_hostile

FORMS = ("X-V3io-Session-Key", "X-V3io-Access-Key", "Authorization")
CLIENT_LOGGERS = ("httpx", "httpcore")


def key_headers(key: str, form: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if form == "Authorization" else {form: key}


def fragments(secret: str) -> list[str]:
    """The whole secret and its random part (``gp_<id>_<random>``): neither may be logged."""
    return [secret, secret.split("_", 2)[-1]]


def assert_clean(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        for fragment in fragments(secret):
            assert fragment not in text, f"secret fragment {fragment[:12]}... found in the logs"


class Capture(logging.Handler):
    """Formats every record both ways (text and JSON), exceptions included."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.json = JsonFormatter()
        self.text = TextFormatter("%(name)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(CLIENT_LOGGERS):
            return  # the test's own HTTP client logs the URLs it calls; the server is what is checked
        self.lines.append(self.text.format(record))
        self.lines.append(self.json.format(record))
        self.lines.append(repr(record.__dict__))  # raw args and extras, before any formatter


@pytest.fixture
def capture() -> Iterator[Capture]:
    handler = Capture()
    names = [
        "",
        "grafana_proxy",
        "grafana_proxy.access",
        "uvicorn",
        "uvicorn.error",
        "uvicorn.access",
        "sqlalchemy",
        "sqlalchemy.engine",
        "httpx",
        "fastapi",
    ]
    loggers = [logging.getLogger(name) for name in names]
    saved = [(lg.level, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)  # on each: some of them do not propagate to the root
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
    try:
        yield handler
    finally:
        for lg, (level, disabled) in zip(loggers, saved, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)
            lg.disabled = disabled


def _boom(_ctx: QueryContext) -> list[str]:
    raise RuntimeError("a target failed unexpectedly")


def test_in_process_run_logs_no_secret(stores: Stores, tmp_path: Path, capture: Capture) -> None:
    secrets: Secrets = seed_hostile(stores)
    every = [
        secrets.all_read,
        secrets.all_write,
        secrets.alpha_read,
        secrets.alpha_write,
        secrets.beta_read,
        secrets.revoked,
    ]
    app = create_app(Runtime.build(Settings(data_dir=tmp_path, max_body_bytes=50_000), stores))
    runtime_of(app).targets.register(Target("explode", "raises", ("project",), search=_boom))
    calls = [
        ("GET", PREFIX, None),
        ("POST", PREFIX + "/query", {"targets": [{"target": "target_endpoint=list_endpoints;project=alpha"}]}),
        ("POST", PREFIX + "/query", {"targets": [{"target": "target_endpoint=list_endpoints;project=beta"}]}),
        ("POST", PREFIX + "/query", {"targets": [{"target": "target_endpoint=bogus"}]}),
        ("POST", PREFIX + "/search", {"target": "target_endpoint=explode"}),  # a 500 with a stack trace
        ("POST", PREFIX + "/query", b"{not json"),
        ("POST", PREFIX + "/query", b"x" * 60_000),  # 413
        ("GET", PREFIX + "/rows?target=target_endpoint%3Dlist_projects", None),
        ("PUT", "/api/v1/projects/alpha/model-endpoints/ep1", {"name": "x"}),
        ("PUT", "/api/v1/projects/alpha/model-endpoints/ep1", {"error_count": "many"}),  # 422
        ("DELETE", "/api/v1/projects/beta/model-endpoints/ep9", None),
        ("GET", "/metrics", None),
        ("GET", "/nope", None),
    ]
    with TestClient(app, raise_server_exceptions=False) as client:
        statuses = set()
        for index, secret in enumerate(every):
            for form in FORMS:
                for method, path, body in calls:
                    content = body if isinstance(body, bytes) else (None if body is None else json.dumps(body))
                    headers = {**key_headers(secret, form), "X-Request-Id": secret, "Content-Type": "application/json"}
                    statuses.add(client.request(method, path, content=content, headers=headers).status_code)
            # Keys in places they do not belong: the query string and the path.
            client.get(f"{PREFIX}/rows?target=target_endpoint%3Dlist_projects&key={secret}")
            # (an alpha-only key: refused before any SQL, whose DEBUG echo would show the project value)
            client.get(
                f"/api/v1/projects/{secret}/model-endpoints", headers=key_headers(secrets.alpha_read, FORMS[index % 3])
            )
    assert {200, 400, 401, 403, 404, 413, 422, 500} <= statuses, statuses
    text = "\n".join(capture.lines)
    assert "a target failed unexpectedly" in text  # the 500's stack trace was captured...
    assert "SELECT" in text  # ...and so were SQLAlchemy's statements
    assert_clean(text, every)
    assert request_id_var.get() is None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_served_process_logs_no_secret(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "GRAFANA_PROXY_DATA_DIR": str(tmp_path / "data"),
        "GRAFANA_PROXY_LOG_JSON": "true",
        "GRAFANA_PROXY_LOG_LEVEL": "DEBUG",
    }
    env.pop("GRAFANA_PROXY_DB_URL", None)
    cli = [sys.executable, "-m", "grafana_proxy.cli.main"]
    created = subprocess.run(
        [*cli, "keys", "create", "--project", "alpha"], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("gp_")
    assert_clean(created.stderr, [secret])  # shown once on stdout, never on stderr
    stores = open_stores(Settings(data_dir=tmp_path / "data"))
    try:
        seed_hostile(stores)
        wrong = stores.keys.create("beta", ["beta"], "read")[1]
    finally:
        close_stores(stores)
    port = _free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start")
        with httpx.Client(base_url=base, timeout=10) as http:
            for key in (secret, wrong, secret[:-3], "gp_00000000_" + secret[12:]):
                for form in FORMS:
                    headers = {**key_headers(key, form), "X-Request-Id": "req-" + form.lower()}
                    http.get(PREFIX, headers=headers)
                    http.post(
                        PREFIX + "/query",
                        headers=headers,
                        json={"targets": [{"target": "target_endpoint=list_endpoints;project=alpha"}]},
                    )
                    http.post(PREFIX + "/query", headers=headers, content=b"{broken")
                    http.get(
                        f"{PREFIX}/rows",
                        headers=headers,
                        params={"target": "target_endpoint=list_projects", "key": key},
                    )
                    http.get("/metrics", headers=headers)
            ok = http.post(
                PREFIX + "/search",
                headers={"X-V3io-Session-Key": secret},
                json={"target": "target_endpoint=list_projects"},
            )
            assert ok.json() == ["alpha"]
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert_clean(stderr, [secret, wrong])
    ours = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    access = [line for line in ours if line.get("logger") == "grafana_proxy.access"]
    assert len(access) >= 4 * 3 * 5, stderr[-2000:]
    assert {"req-x-v3io-session-key", "req-authorization"} <= {line.get("request_id") for line in access}
