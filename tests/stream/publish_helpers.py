"""What the publishing tests share: an api role (a real uvicorn server) in stream mode, batches, and
reading the stream back as it is (no consumer that could take messages off the work queue)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats

from grafana_proxy.app import create_app
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from tests.servers import serve_in_thread

EVENTS = "/api/v1/projects/{project}/events"
NOW_MS = 1_767_225_600_000  # 2026-01-01: inside the accepted time range


@dataclass(frozen=True)
class StoredMessage:
    seq: int
    subject: str
    data: bytes
    msg_id: str


def events(first: int, count: int, tag: str = "r") -> list[dict[str, Any]]:
    return [
        {
            "endpoint_id": "ep1",
            "timestamp": NOW_MS + i,
            "request_id": f"{tag}{i}",
            "inputs": [[float(i), 1.0]],
            "feature_names": ["a", "b"],
            "outputs": [i % 2],
            "latency": 900.0,
        }
        for i in range(first, first + count)
    ]


@contextmanager
def api_server(tmp_path: Path, **settings: Any) -> Iterator[tuple[str, Runtime]]:
    """The api role's app on a real uvicorn server, with these settings (e.g. the stream's)."""
    config = Settings(data_dir=tmp_path / "data", auth="none", **settings)
    runtime = Runtime.build(config)
    try:
        with serve_in_thread(create_app(runtime)) as url:
            yield url, runtime
    finally:
        runtime.close()


def stored(url: str, stream: str) -> list[StoredMessage]:
    """Every message the stream holds, in order."""

    async def read() -> list[StoredMessage]:
        client = await nats.connect(url, connect_timeout=2)
        try:
            js = client.jetstream()
            state = (await js.stream_info(stream)).state
            out = []
            for seq in range(state.first_seq, state.last_seq + 1) if state.messages else ():
                msg = await js.get_msg(stream, seq)
                assert msg.subject is not None and msg.data is not None and msg.seq is not None
                out.append(StoredMessage(msg.seq, msg.subject, msg.data, (msg.headers or {}).get("Nats-Msg-Id", "")))
            return out
        finally:
            await client.close()

    return asyncio.run(read())
