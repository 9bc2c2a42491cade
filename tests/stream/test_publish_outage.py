"""NATS going away under load, and NATS down when the api role starts: the events API answers 503 JSON
within the publish timeout (never a 202 for a batch JetStream did not acknowledge), reads keep being
answered, and publishing resumes once NATS is back without restarting the process. Every batch that got
a 202 is in the stream."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

from grafana_proxy.ingest.inbox import batch_id_of
from tests.servers import PrivateNats
from tests.stream.publish_helpers import EVENTS, api_server, events, stored

PROJECT = "shop"
STREAM = "GP_OUTAGE"
TIMEOUT = 1.0  # stream_publish_timeout_seconds
MARGIN = 0.5  # for the HTTP round trip and scheduling on a shared machine
READ = "/api/grafana-proxy/model-endpoints/"


@dataclass(frozen=True)
class Answer:
    batch: int
    status: int
    seconds: float
    body: dict[str, object]


class Load:
    """Posts batches of 20 events from a few threads, each batch after the previous answer (batch ``n``
    has request ids ``b<n>-<i>``)."""

    def __init__(self, url: str, threads: int = 3) -> None:
        self._url = url + EVENTS.format(project=PROJECT)
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(t,), daemon=True) for t in range(threads)]
        for thread in self._threads:
            thread.start()

    def _run(self, first: int) -> None:
        with httpx.Client(timeout=30) as http:
            n = first * 1_000_000
            while not self._stop.is_set():
                body = orjson.dumps(events(0, 20, tag=f"b{n}-"))
                started = time.perf_counter()
                answer = http.post(self._url, content=body)
                self.answers.append(Answer(n, answer.status_code, time.perf_counter() - started, answer.json()))
                n += 1

    def wait_for(self, status: int, count: int, after: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while sum(a.status == status for a in self.answers[after:]) < count:
            assert time.monotonic() < deadline, f"no {count} answers {status} in {timeout} s: {self.statuses()}"
            time.sleep(0.05)

    def statuses(self) -> list[int]:
        return [a.status for a in self.answers]

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)


def _reads_answer(url: str) -> float:
    """The slowest of a few reads (a datasource route, liveness), each of which must answer 200."""
    slowest = 0.0
    for path in (READ, "/healthz", READ):
        started = time.perf_counter()
        assert httpx.get(url + path, timeout=10).status_code == 200
        slowest = max(slowest, time.perf_counter() - started)
    return slowest


def test_nats_outage_under_load_answers_503_in_bounded_time_and_loses_no_acknowledged_batch(
    tmp_path: Path, private_nats: PrivateNats
) -> None:
    settings = {"stream_url": private_nats.url, "stream_name": STREAM, "stream_publish_timeout_seconds": TIMEOUT}
    with api_server(tmp_path, **settings) as (url, _runtime):
        load = Load(url)
        try:
            load.wait_for(202, 5, 0, timeout=20)
            private_nats.stop()
            stopped = len(load.answers)
            load.wait_for(503, 5, stopped, timeout=20)
            read_seconds = _reads_answer(url)  # during the outage
            private_nats.start()
            back = len(load.answers)
            load.wait_for(202, 5, back, timeout=30)  # without restarting this process
        finally:
            load.stop()
        metrics = httpx.get(url + "/metrics", timeout=10).text
    answers = load.answers
    refused = [a for a in answers if a.status == 503]
    assert {a.status for a in answers} == {202, 503}, load.statuses()
    assert max(a.seconds for a in refused) <= TIMEOUT + MARGIN, [round(a.seconds, 3) for a in refused]
    assert read_seconds < 1.0
    for answer in refused:
        assert answer.body["error"] == "stream unavailable"
        assert private_nats.url in str(answer.body["message"]) and "send the batch again" in str(answer.body["message"])
    # Nothing acknowledged is lost: every 202's batch is in the stream (a refused one may be too: its
    # publish can reach NATS after the 503; the client's retry is then dropped as a duplicate).
    kept = {m.msg_id for m in stored(private_nats.url, STREAM)}
    acknowledged = [a.batch for a in answers if a.status == 202]
    missing = [n for n in acknowledged if batch_id_of(PROJECT, [f"b{n}-{i}" for i in range(20)]) not in kept]
    assert missing == [], f"{len(missing)} acknowledged batches are not in the stream"
    assert f"grafana_proxy_stream_publish_failures_total {float(len(refused))}" in metrics
    assert f"grafana_proxy_ingest_events_accepted_total {float(20 * len(acknowledged))}" in metrics


def test_nats_down_at_start_serves_reads_and_takes_events_once_it_is_up(
    tmp_path: Path, private_nats: PrivateNats
) -> None:
    private_nats.stop()
    settings = {"stream_url": private_nats.url, "stream_name": STREAM, "stream_publish_timeout_seconds": TIMEOUT}
    body = orjson.dumps(events(0, 10))
    with api_server(tmp_path, **settings) as (url, _runtime):
        assert _reads_answer(url) < 1.0
        started = time.perf_counter()
        down = httpx.post(url + EVENTS.format(project=PROJECT), content=body, timeout=10)
        down_seconds = time.perf_counter() - started
        private_nats.start()
        deadline = time.monotonic() + 30
        while (up := httpx.post(url + EVENTS.format(project=PROJECT), content=body, timeout=10)).status_code != 202:
            assert up.status_code == 503 and time.monotonic() < deadline, up.text
    assert down.status_code == 503 and down.json()["error"] == "stream unavailable"
    assert "not connected yet" in down.json()["message"] or "cannot reach NATS" in down.json()["message"]
    assert down_seconds <= TIMEOUT + MARGIN
    # The stream was made on the first connection, and holds the batch once (the 503s' publishes never
    # left this process: it was not connected).
    assert [m.msg_id for m in stored(private_nats.url, STREAM)] == [batch_id_of(PROJECT, [f"r{i}" for i in range(10)])]
