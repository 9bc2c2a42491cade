"""Misbehaving model services behind the gateway, as raw TCP servers (what tests/gateway does not cover:
it has an HTTP server that answers late and a closed port). Each answer is bounded in time, is a 502 or
504 with a JSON message, and the call is recorded as an error event."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from grafana_proxy.archive import read_window
from grafana_proxy.gateway.proxy import GatewayOptions, create_gateway_app
from grafana_proxy.gateway.recorder import CallRecorder
from grafana_proxy.ingest.config import IngestConfig
from grafana_proxy.ingest.events import endpoint_uid
from grafana_proxy.ingest.pipeline import IngestPipeline
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from tests.servers import serve_in_thread

CONNECT_TIMEOUT, READ_TIMEOUT = 0.5, 1.0
# Longest a gateway answer may take: both timeouts plus generous slack for a loaded CI machine. A gateway
# without a bound would hold the client for as long as the upstream misbehaves (here: the whole test).
BOUND = CONNECT_TIMEOUT + READ_TIMEOUT + 4.0

Behaviour = Callable[[socket.socket], None]


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk


def hangs(conn: socket.socket) -> None:
    """Accepts and reads the request, then never answers."""
    _read_request(conn)
    time.sleep(BOUND + 5)


def dies_mid_response(conn: socket.socket) -> None:
    """Promises 1000 bytes, sends a few, closes."""
    _read_request(conn)
    conn.sendall(b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"outp')
    conn.close()


def trickles(conn: socket.socket) -> None:
    """Answers the headers at once, then one body byte every 0.2 s: each read is quick, the answer never ends."""
    _read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n")
    deadline = time.monotonic() + BOUND + 5
    while time.monotonic() < deadline:
        try:
            conn.sendall(b" ")
        except OSError:
            return
        time.sleep(0.2)


def resets(conn: socket.socket) -> None:
    """Accepts, then resets the connection (RST) without a byte of answer."""
    _read_request(conn)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    conn.close()


@contextmanager
def raw_upstream(behaviour: Behaviour) -> Iterator[str]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=_serve_one, args=(conn,), daemon=True).start()

    def _serve_one(conn: socket.socket) -> None:
        try:
            behaviour(conn)
        except OSError:
            pass
        finally:
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


@contextmanager
def unaccepted_upstream() -> Iterator[str]:
    """A port whose listen queue is full and never served: SYNs are dropped, so connecting times out
    (what a host that silently drops packets looks like, without touching the firewall)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers = []
    for _ in range(4):  # fill the accept queue; later connects then wait for a SYN-ACK that never comes
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(address)
        fillers.append(filler)
    time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{address[1]}"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


CASES = {
    "hangs": (hangs, 504, "upstream timeout"),
    "trickles": (trickles, 504, "upstream timeout"),
    "dies_mid_response": (dies_mid_response, 502, "upstream unavailable"),
    "resets": (resets, 502, "upstream unavailable"),
}


def _gateway_round(
    tmp_path: Path, stores: Stores, upstream: Callable[[], object], name: str
) -> tuple[list[httpx.Response], list[float], object]:
    config = IngestConfig.from_settings(Settings(data_dir=tmp_path / name))
    pipeline = IngestPipeline(config, stores, name=f"gateway-{name}")
    recorder = CallRecorder(pipeline, "gw", "svc", "m", queue_size=100)
    replies, seconds = [], []
    with upstream() as service_url:  # type: ignore[attr-defined]
        options = GatewayOptions(service_url=service_url, connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT)
        with serve_in_thread(create_gateway_app(options, recorder)) as url:
            for i in range(2):
                started = time.monotonic()
                replies.append(
                    httpx.post(
                        f"{url}/v2/models/m/infer",
                        json={"inputs": [[1.0, 2.0]]},
                        headers={"x-request-id": f"{name}-{i}"},
                        timeout=BOUND + 10,
                    )
                )
                seconds.append(time.monotonic() - started)
    pipeline.drain()
    frame = read_window(config.archive_url, "gw", endpoint_uid("gw", "gw/svc", "m"), 0, 2**42)
    pipeline.stop()
    return replies, seconds, frame


@pytest.mark.parametrize("case", list(CASES))
def test_misbehaving_upstream_gives_bounded_json_error_and_is_recorded(
    case: str, tmp_path: Path, sqlite_stores: Stores
) -> None:
    behaviour, status, error = CASES[case]
    replies, seconds, frame = _gateway_round(tmp_path, sqlite_stores, lambda: raw_upstream(behaviour), case)
    for reply, took in zip(replies, seconds, strict=True):
        assert reply.status_code == status, reply.text
        assert reply.headers["content-type"] == "application/json"
        assert reply.json()["error"] == error and reply.json()["message"]
        assert took < BOUND, f"the gateway held the client {took:.1f} s"
    assert sorted(frame["request_id"]) == [f"{case}-0", f"{case}-1"]  # type: ignore[index]
    assert frame["error"].notna().all()  # type: ignore[index]


def test_upstream_that_never_completes_the_connection_is_502_within_the_connect_timeout(
    tmp_path: Path, sqlite_stores: Stores
) -> None:
    replies, seconds, frame = _gateway_round(tmp_path, sqlite_stores, unaccepted_upstream, "unaccepted")
    for reply, took in zip(replies, seconds, strict=True):
        # Settings: gateway_connect_timeout "seconds to connect to the model service (then 502)".
        assert reply.status_code == 502, reply.text
        assert reply.json()["error"] == "upstream unavailable" and reply.json()["message"]
        assert took < BOUND
    assert sorted(frame["request_id"]) == ["unaccepted-0", "unaccepted-1"]  # type: ignore[index]
    assert frame["error"].notna().all()  # type: ignore[index]
