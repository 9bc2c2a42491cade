"""The monitor gateway in stream mode: recorded calls are published to JetStream as event records; with
NATS down the calls are still answered, kept (in the queue, the request waiting for room when it is full)
and published once NATS is back: none is lost."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import orjson

from grafana_proxy.demo_model import create_demo_model_app
from grafana_proxy.gateway.run import build_gateway
from grafana_proxy.ingest.inbox import batch_id_of
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from tests.servers import PrivateNats, serve_in_thread
from tests.stream.publish_helpers import stored

STREAM = "GP_GATEWAY"
CALLS = 8


def _call(url: str, request_id: str, statuses: list[int]) -> None:
    rows = {"inputs": [[5.1, 3.5, 1.4, 0.2]]}
    answer = httpx.post(
        f"{url}/v2/models/classifier/infer", json=rows, headers={"x-request-id": request_id}, timeout=30
    )
    statuses.append(answer.status_code)


def test_gateway_calls_made_while_nats_is_down_are_published_once_it_is_back(
    tmp_path: Path, private_nats: PrivateNats
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        stream_url=private_nats.url,
        stream_name=STREAM,
        stream_publish_timeout_seconds=1,
        gateway_queue_size=2,  # so most calls meet a full queue, and the inline publish fails too
    )
    runtime = Runtime.build(settings)
    try:
        with serve_in_thread(create_demo_model_app()) as model:
            gateway = build_gateway(runtime, model, "gw", function="iris")
            with serve_in_thread(gateway.app) as url:
                _call(url, "before", [])
                private_nats.stop()
                statuses: list[int] = []
                for i in range(CALLS):  # one after another: the drain holds the first, two fill the queue
                    _call(url, f"down-{i}", statuses)
                    time.sleep(0.05)
                assert statuses == [200] * CALLS  # the model's answers are not held back by recording
                time.sleep(3 * settings.stream_publish_timeout_seconds)  # every publish attempt fails meanwhile
                private_nats.start()
                wanted = {"before"} | {f"down-{i}" for i in range(CALLS)}
                deadline = time.monotonic() + 30
                while (seen := _recorded(private_nats.url)) != wanted:
                    assert time.monotonic() < deadline, f"missing {sorted(wanted - seen)}"
                    time.sleep(0.2)
    finally:
        runtime.close()
    for message in stored(private_nats.url, STREAM):
        assert message.subject == f"{settings.stream_subject_prefix}.gw"
        ids = [event["request_id"] for event in orjson.loads(message.data)]
        assert message.msg_id == batch_id_of("gw", ids)


def _recorded(url: str) -> set[str]:
    try:
        messages = stored(url, STREAM)
    except Exception:  # NATS still starting, or the stream not made yet
        return set()
    return {event["request_id"] for m in messages for event in orjson.loads(m.data)}
