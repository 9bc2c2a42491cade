"""The events API in stream mode (``stream_url`` set): an accepted batch is in the JetStream stream, as
the spool record the consumer decodes, under its project's subject and with the batch's id; a re-sent
batch is stored once; a refused batch is not published; a batch beyond NATS' max_payload is split; a
stream with a layout we cannot use stops the api role at start with one line."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import nats
import orjson
from nats.js.api import StreamConfig as JsStreamConfig

from grafana_proxy.ingest.inbox import batch_id_of, raw_record
from tests.servers import free_port
from tests.stream.publish_helpers import EVENTS, api_server, events, stored

PROJECT = "shop"


def test_an_accepted_batch_is_in_the_stream_as_its_spool_record(
    tmp_path: Path, stream_settings: dict[str, str]
) -> None:
    batch = events(0, 3)
    body = orjson.dumps(batch)
    with api_server(tmp_path, **stream_settings) as (url, _runtime):
        answer = httpx.post(url + EVENTS.format(project=PROJECT), content=body, timeout=10)
        assert answer.status_code == 202, answer.text
        assert answer.json() == {"accepted": 3, "durable": True}
        messages = stored(stream_settings["stream_url"], stream_settings["stream_name"])
        metrics = httpx.get(url + "/metrics", timeout=10).text
    [message] = messages
    assert message.subject == f"{stream_settings['stream_subject_prefix']}.{PROJECT}"
    assert message.data == raw_record(PROJECT, body)  # the bytes the client sent, as the spool keeps them
    assert orjson.loads(message.data) == {"project": PROJECT, "batch": batch}
    assert message.msg_id == batch_id_of(PROJECT, ["r0", "r1", "r2"])
    assert "grafana_proxy_ingest_events_accepted_total 3.0" in metrics
    assert "grafana_proxy_stream_publish_failures_total 0.0" in metrics


def test_a_re_sent_batch_is_stored_once(tmp_path: Path, stream_settings: dict[str, str]) -> None:
    batch = events(0, 5)
    with api_server(tmp_path, **stream_settings) as (url, _runtime):
        post = f"{url}{EVENTS.format(project=PROJECT)}"
        statuses = [
            httpx.post(post, content=orjson.dumps(batch), timeout=10).status_code,
            httpx.post(post, content=orjson.dumps(batch), timeout=10).status_code,  # a client retry
            # The same request ids laid out differently: the same batch.
            httpx.post(
                post, content=orjson.dumps({"events": batch}, option=orjson.OPT_INDENT_2), timeout=10
            ).status_code,
        ]
        # Other request ids, or another project: other batches.
        statuses.append(httpx.post(post, content=orjson.dumps(events(5, 5)), timeout=10).status_code)
        statuses.append(
            httpx.post(f"{url}{EVENTS.format(project='other')}", content=orjson.dumps(batch), timeout=10).status_code
        )
    assert statuses == [202] * 5
    messages = stored(stream_settings["stream_url"], stream_settings["stream_name"])
    assert [m.msg_id for m in messages] == [
        batch_id_of(PROJECT, [f"r{i}" for i in range(5)]),
        batch_id_of(PROJECT, [f"r{i}" for i in range(5, 10)]),
        batch_id_of("other", [f"r{i}" for i in range(5)]),
    ]
    assert [m.subject.rsplit(".", 1)[1] for m in messages] == [PROJECT, PROJECT, "other"]


def test_a_refused_batch_is_not_published(tmp_path: Path, stream_settings: dict[str, str]) -> None:
    bad = events(0, 3)
    bad[1]["timestamp"] = "yesterday"
    with api_server(tmp_path, **stream_settings) as (url, _runtime):
        post = url + EVENTS.format(project=PROJECT)
        answer = httpx.post(post, content=orjson.dumps(bad), timeout=10)
        not_json = httpx.post(post, content=b"[{", timeout=10)
        empty = httpx.post(post, content=b"[]", timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid event" and answer.json()["index"] == 1
    assert not_json.status_code == 400 and not_json.json()["error"] == "invalid JSON"
    assert empty.status_code == 202 and empty.json()["accepted"] == 0
    assert stored(stream_settings["stream_url"], stream_settings["stream_name"]) == []


def test_a_batch_beyond_the_nats_max_payload_is_split_and_an_event_beyond_it_refused(
    tmp_path: Path, stream_settings: dict[str, str]
) -> None:
    big = events(0, 3000)
    for event in big:
        event["labels"] = {"pad": "x" * 500}  # about 1.9 MB in all: NATS takes 1 MB per message
    huge = events(0, 1, tag="huge")
    huge[0]["labels"] = {"pad": "x" * 1_100_000}
    with api_server(tmp_path, **stream_settings) as (url, _runtime):
        post = url + EVENTS.format(project=PROJECT)
        split = httpx.post(post, content=orjson.dumps(big), timeout=30)
        refused = httpx.post(post, content=orjson.dumps(huge), timeout=30)
    assert split.status_code == 202 and split.json()["accepted"] == 3000
    assert refused.status_code == 413, refused.text
    assert refused.json()["error"] == "event too large" and "max_payload" in refused.json()["message"]
    messages = stored(stream_settings["stream_url"], stream_settings["stream_name"])
    assert len(messages) >= 2
    parts = [orjson.loads(m.data) for m in messages]
    assert [e for part in parts for e in part["batch"]] == big
    for message, part in zip(messages, parts, strict=True):
        assert message.msg_id == batch_id_of(PROJECT, [e["request_id"] for e in part["batch"]])


def test_a_stream_of_another_layout_stops_the_api_role_in_one_line(
    tmp_path: Path, stream_settings: dict[str, str]
) -> None:
    async def squat() -> None:  # the stream's name, taken with other subjects
        client = await nats.connect(stream_settings["stream_url"])
        try:
            await client.jetstream().add_stream(
                JsStreamConfig(name=stream_settings["stream_name"], subjects=["squat.>"])
            )
        finally:
            await client.close()

    asyncio.run(squat())
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAFANA_PROXY_")}
    env.update({f"GRAFANA_PROXY_{k.upper()}": v for k, v in stream_settings.items()})
    env.update(GRAFANA_PROXY_DATA_DIR=str(tmp_path / "data"), GRAFANA_PROXY_AUTH="none")
    done = subprocess.run(
        [sys.executable, "-m", "grafana_proxy.cli.main", "run", "api", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 3, output
    assert len(output.splitlines()) == 1 and "Traceback" not in output, output
    assert stream_settings["stream_name"] in output and "subjects" in output
