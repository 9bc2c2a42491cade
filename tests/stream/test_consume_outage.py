"""NATS going away under a real `grafana-proxy run ingest` process while it consumes: the process stays
up, resumes by itself once the server is back (same port and store), and every batch JetStream
acknowledged to its publisher is folded into the database exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from pathlib import Path

import nats
import pytest
from sqlalchemy import select

from grafana_proxy.settings import Settings
from grafana_proxy.stores import schema
from grafana_proxy.stores.base import Stores
from grafana_proxy.stores.engine import engine_of
from grafana_proxy.stream.config import StreamConfig
from grafana_proxy.stream.jetstream import ensure_stream
from tests.servers import PrivateNats
from tests.stream.helpers import (
    PROJECT,
    batch,
    buckets,
    consumer_backlog,
    expected,
    ingest_process,
    record,
    request_ids,
    settings_for,
    wait_for,
)

SIZE = 50
PUBLISH_EVERY = 0.05  # seconds between batches
OUTAGE_SECONDS = 3.0


class Publisher:
    """Publishes batch 0, 1, 2, ... in a thread of its own, each waiting for JetStream's acknowledgement
    (1 s at most); ``acknowledged`` are the numbers that got one. Goes on through the outage."""

    def __init__(self, settings: Settings) -> None:
        self.config = StreamConfig.from_settings(settings)
        self.acknowledged: list[int] = []
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()

    async def _run(self) -> None:
        async def quiet(_error: Exception) -> None:
            return None

        client = await nats.connect(
            self.config.servers, connect_timeout=2, max_reconnect_attempts=-1, reconnect_time_wait=0.2, error_cb=quiet
        )
        try:
            js = client.jetstream()
            await ensure_stream(js, self.config)
            while not self._stop.is_set():
                number, self.sent = self.sent, self.sent + 1
                try:
                    await js.publish(self.config.subject(PROJECT), record(batch(number, SIZE)), timeout=1.0)
                    self.acknowledged.append(number)
                except Exception:  # NATS down: not acknowledged (it may still be stored: a late PubAck)
                    pass
                await asyncio.sleep(PUBLISH_EVERY)
        finally:
            with contextlib.suppress(Exception):  # the server may be down when the test ends early
                await client.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)


def folded_batches(stores: Stores) -> dict[int, int]:
    """Batch number -> request ids of it in the database."""
    with engine_of(stores).connect() as conn:
        ids = conn.execute(select(schema.request_ids.c.request_id).where(schema.request_ids.c.project == PROJECT))
        out: dict[int, int] = {}
        for (request_id,) in ids:
            number = int(str(request_id).split("-")[0].removeprefix("b"))
            out[number] = out.get(number, 0) + 1
        return out


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_ingest_process_resumes_after_a_nats_outage_and_folds_every_acknowledged_batch_once(
    private_nats: PrivateNats, db_url: str, stores: Stores, tmp_path: Path
) -> None:
    stream = {
        "stream_url": private_nats.url,
        "stream_name": "GP_CONSUME_OUTAGE",
        "stream_subject_prefix": "gp-consume-outage",
        "stream_consumer": "gp-consume-outage",
    }
    settings = settings_for(stream, db_url, tmp_path / "data", archive_batch_seconds=1.0)
    log = tmp_path / "ingest.log"
    publisher = Publisher(settings)
    ingest = ingest_process(settings, tmp_path / "ingest", log)
    try:
        wait_for(lambda: request_ids(stores) >= 10 * SIZE, 30, "the fold to start")
        private_nats.stop()  # mid-consumption: messages folded but not yet acknowledged, others undelivered
        during = publisher.sent
        time.sleep(OUTAGE_SECONDS)
        assert ingest.poll() is None, "the ingest process exited during the outage"
        private_nats.start()
        wait_for(lambda: bool(publisher.acknowledged) and publisher.acknowledged[-1] > during + 10, 30, "publishing")
        publisher.stop()
        acknowledged = set(publisher.acknowledged)
        # Without restarting the ingest process: it reconnects and folds what came before and after.
        wait_for(
            lambda: acknowledged <= set(folded_batches(stores)) and consumer_backlog(settings) == 0, 40, "the fold"
        )
        assert ingest.poll() is None
    finally:
        publisher.stop()
        if ingest.poll() is None:
            ingest.send_signal(signal.SIGTERM)
            ingest.wait(20)
    folded = folded_batches(stores)
    assert any(n >= during for n in acknowledged), "batches were acknowledged after the outage"
    assert any(n < during for n in acknowledged) and len(acknowledged) < publisher.sent, "the outage refused some"
    # Each folded batch whole (a refused publish may still have been stored: it is folded too, once).
    assert set(folded.values()) == {SIZE}, log.read_text()[-3000:]
    assert buckets(stores) == expected(sorted(folded), SIZE)
