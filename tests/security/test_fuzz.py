"""Fuzzing the target grammar, the time parser and the JSON routes (hypothesis): bad input is a 4xx
with a JSON ``message``, never a 500, a hang or a stack trace; oversized bodies are a 413."""

from __future__ import annotations

import json
import math
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grafana_proxy.app import create_app
from grafana_proxy.protocol.timerange import parse_time
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from grafana_proxy.targets.base import TargetError
from grafana_proxy.targets.params import merge_payload, parse_target
from grafana_proxy.targets.registry import load_registry
from tests.http_fixtures import PREFIX
from tests.security.conftest import Secrets, seed_hostile

BODY_LIMIT = 200_000
SLOW_SECONDS = 10.0  # far above any honest answer here; a hang fails instead of blocking the suite
CLIENT_ERRORS = {400, 403, 404, 405, 413, 422}
TARGETS = sorted({*load_registry().names("query"), *load_registry().names("search"), "nope", ""})
KEYS = (
    "project",
    "endpoint_id",
    "uids",
    "metric",
    "agg",
    "from",
    "to",
    "features",
    "field",
    "format",
    "filter_router",
    "labels",
    "model",
    "function",
    "application",
    "name",
    "key",
    "x",
    "",
)
HOSTILE = st.sampled_from(
    [
        "alpha",
        "ep1",
        "latency_avg_5m",
        "'; DROP TABLE endpoints; --",
        '" OR 1=1 --',
        "%",
        "_",
        "\\",
        "\\\\",
        "ep1\\",
        "{alpha,beta}",
        "(a|b)",
        "a,b,,c",
        "now-6h",
        "now-99999999999d",
        "1e308",
        "-1e308",
        "1e999",
        "NaN",
        "inf",
        "-inf",
        "nan",
        "99999999999999999999999999",
        "-0",
        "0x10",
        "1_000",
        "2026-13-45T99:99:99Z",
        "9999-12-31T23:59:59Z",
        "0001-01-01",
        "😀",
        "ç",
        "\u202e",
        "\u0000",
        "\x7f",
        "\ud7ff",
        "true",
        "false",
        "avg",
        "last",
        "table",
        "series",
        "status",
        "a" * 5000,
        "=",
        ";",
        "==",
        "=;=",
    ]
)
VALUES = st.one_of(HOSTILE, st.text(max_size=40))
TARGET_STRINGS = st.one_of(
    st.text(max_size=200),
    st.lists(
        st.tuples(st.sampled_from(KEYS), st.sampled_from(["=", "", "=="]), VALUES).map(lambda t: "".join(t)),
        max_size=8,
    ).flatmap(lambda parts: st.sampled_from(TARGETS).map(lambda t: ";".join([f"target_endpoint={t}", *parts]))),
)
NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 2**63, -(2**63) - 1, 1e308]),
)
TIMES = st.one_of(NUMBERS, HOSTILE, st.none(), st.booleans(), st.lists(st.integers(), max_size=2))


def encode(body: Any) -> bytes:
    """The standard encoder: unlike orjson it writes integers beyond 64 bits and lone surrogates
    (as escapes), as a hostile client would."""
    return json.dumps(body).encode()


@contextmanager
def deadline(seconds: float = SLOW_SECONDS) -> Iterator[None]:
    """Fail, rather than hang, when one request takes too long (SIGALRM interrupts the wait)."""

    def expired(_signum: int, _frame: Any) -> None:
        raise TimeoutError(f"request took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check(response: httpx.Response, allowed: set[int] | None = None) -> None:
    allowed = allowed or {200, *CLIENT_ERRORS}
    assert response.status_code in allowed, f"{response.status_code}: {response.text[:300]}"
    assert "Traceback" not in response.text and 'File "' not in response.text
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body.get("message"), str) and body["message"], body


@pytest.fixture
def fuzz_client(stores: Stores, tmp_path: Path) -> Iterator[tuple[TestClient, Secrets]]:
    secrets = seed_hostile(stores)
    app = create_app(Runtime.build(Settings(data_dir=tmp_path, max_body_bytes=BODY_LIMIT), stores))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, secrets


# -- pure functions: many examples, no I/O -------------------------------------------------------------


@given(TARGET_STRINGS)
@settings(max_examples=600, deadline=None)
def test_parse_target_raises_only_target_error(text: str) -> None:
    try:
        params = parse_target(text)
    except TargetError as exc:
        assert exc.status == 400 and exc.message
        return
    assert all(isinstance(k, str) and k and isinstance(v, str) for k, v in params.items())
    assert all("\\" not in params.get(key, "") for key in ("endpoint_id", "uids"))


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=6))
@settings(max_examples=300, deadline=None)
def test_merge_payload_raises_only_target_error(payload: dict[str, Any]) -> None:
    try:
        merged = merge_payload({"target_endpoint": "metrics"}, payload)
    except TargetError:
        return
    assert all(isinstance(v, str) for v in merged.values())


@given(TIMES)
@settings(max_examples=500, deadline=None)
def test_parse_time_gives_a_storable_time_or_target_error(value: Any) -> None:
    try:
        ms = parse_time(value, now=1_700_000_000_000, field="from")
    except TargetError as exc:
        assert exc.message.startswith("from")
        return
    assert isinstance(ms, int) and -(2**63) < ms < 2**63


# -- through HTTP ----------------------------------------------------------------------------------------


@given(target=TARGET_STRINGS, start=TIMES, points=st.one_of(st.none(), NUMBERS), interval=st.one_of(st.none(), NUMBERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_query_never_fails_on_random_targets(
    fuzz_client: tuple[TestClient, Secrets], target: str, start: Any, points: Any, interval: Any
) -> None:
    client, secrets = fuzz_client
    body: dict[str, Any] = {"targets": [{"target": target, "refId": "A"}], "from": start}
    if points is not None:
        body["maxDataPoints"] = points
    if interval is not None:
        body["intervalMs"] = interval
    raw = encode(body)
    key = {"X-V3io-Session-Key": secrets.all_read, "Content-Type": "application/json"}
    with deadline():
        check(client.post(PREFIX + "/query", content=raw, headers=key))
        check(
            client.get(
                PREFIX + "/rows",
                params={
                    "target": target,
                    "from": str(start),
                    "intervalMs": str(interval),
                    "maxDataPoints": str(points),
                },
                headers=key,
            )
        )
        check(client.post(PREFIX + "/search", content=encode({"target": target}), headers=key))


@given(
    body=JSON_VALUES,
    path=st.sampled_from(
        [
            "/query",
            "/search",
            "/annotations",
            "/tag-values",
            "/metrics",
            "/metric-payload-options",
            "/variable",
            "/rows",
        ]
    ),
)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_datasource_routes_take_any_json(fuzz_client: tuple[TestClient, Secrets], body: Any, path: str) -> None:
    client, secrets = fuzz_client
    key = {"X-V3io-Access-Key": secrets.alpha_read, "Content-Type": "application/json"}
    with deadline():
        check(client.post(PREFIX + path, content=encode(body), headers=key))
        if isinstance(body, dict):
            check(client.post(PREFIX + path, content=encode({"targets": [body], "target": body}), headers=key))


HOSTILE_BODIES = [
    b"",
    b"null",
    b"[]",
    b'"x"',
    b"{",
    b'{"targets": NaN}',
    b'{"maxDataPoints": Infinity}',
    b'{"maxDataPoints": 1e999}',
    b'{"intervalMs": -1e308}',
    b"\xff\xfe",
    '{"target": "\ud800"}'.encode("utf-8", "surrogatepass"),
    b'{"targets": ' + b"[" * 2000 + b"]" * 2000 + b"}",
    b'{"targets": [{"target": "x", "payload": ' + b'{"a":' * 600 + b"1" + b"}" * 600 + b"}]}",
    b'{"targets": [{"target": "target_endpoint=metrics;project=alpha;metric=m"}], "range": {"from": 1e300}}',
    b'{"targets": [{"target": "target_endpoint=metrics;project=alpha;metric=m"}], "from": "now-9999999999999d"}',
    b'{"targets": [{"target": "target_endpoint=metrics;project=alpha;metric=m"}], "intervalMs": 1e300}',
    b'{"targets": [{"target": "target_endpoint=metrics;project=alpha;metric=m", "refId": {"a": 1}}]}',
    b'{"adhocFilters": [{"key": "endpoint_id", "operator": "=~", "value": "["}],'
    b' "targets": [{"target": "target_endpoint=list_endpoints;project=alpha"}]}',
]


@pytest.mark.parametrize("path", ["/query", "/search", "/annotations", "/variable", "/rows", "/tag-values"])
def test_hostile_bodies_are_client_errors(fuzz_client: tuple[TestClient, Secrets], path: str) -> None:
    client, secrets = fuzz_client
    for raw in HOSTILE_BODIES:
        with deadline():
            response = client.post(PREFIX + path, content=raw, headers={"Authorization": f"Bearer {secrets.all_read}"})
        check(response)


def _deep(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth):
        value = {"a": value}
    return value


WRITE_BODIES = [
    ("PUT", "", {"labels": _deep(300)}),
    ("PUT", "", {"labels": {"n": 2**70}}),
    ("PUT", "", {"name": "a\u0000b"}),
    ("PUT", "", {"feature_names": ["\ud800"]}),
    ("PUT", "", {"error_count": 10**30}),
    ("PUT", "", {"first_request": 10**30}),
    ("PUT", "", {"first_request": "now-99999999999d"}),
    ("PUT", "", {"drift_status": "2; DROP TABLE endpoints"}),
    ("POST", "/metrics", {"points": [{"name": "m", "timestamp": 1e300, "value": 1}]}),
    ("POST", "/metrics", {"points": [{"name": "m\u0000", "timestamp": 0, "value": 1}]}),
    ("POST", "/metrics", {"points": [{"name": "m", "timestamp": "-1e999", "value": 1}]}),
    ("POST", "/features", {"samples": [{"timestamp": 0, "values": {"\ud800": 1.0}}]}),
    (
        "POST",
        "/results",
        {
            "results": [
                {
                    "application": "a",
                    "name": "n",
                    "kind": 0,
                    "status": 0,
                    "value": 1,
                    "start_infer_time": 0,
                    "end_infer_time": 1,
                    "extra_data": _deep(400),
                }
            ]
        },
    ),
]


def test_write_api_refuses_what_it_could_not_store_or_read_back(
    fuzz_client: tuple[TestClient, Secrets],
) -> None:
    client, secrets = fuzz_client
    key = {"X-V3io-Session-Key": secrets.all_write, "Content-Type": "application/json"}
    for method, suffix, body in WRITE_BODIES:
        raw = encode(body)
        response = client.request(
            method, f"/api/v1/projects/alpha/model-endpoints/ep1{suffix}", content=raw, headers=key
        )
        check(response, {400, 422})
    # And nothing poisoned the project: its listing still answers.
    listing = client.get("/api/v1/projects/alpha/model-endpoints", headers=key)
    assert listing.status_code == 200 and len(listing.json()) == 2


def test_oversized_bodies_are_413_with_the_documented_limit(fuzz_client: tuple[TestClient, Secrets]) -> None:
    client, secrets = fuzz_client
    key = {"X-V3io-Session-Key": secrets.all_write}
    big = b"[" + b"1," * BODY_LIMIT + b"1]"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold while streaming too
        for start in range(0, len(big), 65_536):
            yield big[start : start + 65_536]

    for path in (PREFIX + "/query", "/api/v1/projects/alpha/model-endpoints/ep1/metrics", "/nope"):
        for content in (big, chunks()):
            started = time.perf_counter()
            response = client.post(path, content=content, headers=key)
            if path == "/nope" and not isinstance(content, bytes):
                assert response.status_code == 404  # answered without reading the body at all
                continue
            assert response.status_code == 413, (path, response.status_code)
            assert "GRAFANA_PROXY_MAX_BODY_BYTES" in response.json()["message"]
            assert str(BODY_LIMIT) in response.json()["message"]
            assert time.perf_counter() - started < SLOW_SECONDS
    # Just below the limit is read (and refused for its shape, not its size).
    fits = b'{"targets": [], "pad": "' + b"x" * (BODY_LIMIT - 100) + b'"}'
    assert client.post(PREFIX + "/query", content=fits, headers=key).status_code == 200
    assert math.isfinite(len(fits))
