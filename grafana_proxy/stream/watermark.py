"""The ingest watermark of the JetStream event log: the acceptance time of the oldest batch no ingest
process has finished with yet.

The stream's retention is a work queue: a message leaves it only when an ingest process acknowledges it
(after the database commit and the archive flush holding its events, or after moving it to the
dead letters), or when it outlives ``stream_max_age_hours``. So the stream's first message is the oldest
batch not yet archived, whatever the consumer's state: not delivered yet, held by a worker, waiting for
redelivery after a killed worker's ``ack_wait``, or published before any ingest process ever made the
consumer. Its stored time is when JetStream took it, that is when the api role accepted it (the 202
follows the PubAck)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from grafana_proxy.stream.config import StreamConfig
from grafana_proxy.stream.errors import StreamUnavailable
from grafana_proxy.stream.jetstream import connect

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 3.0  # for the whole question: connecting, the stream's state, its first message
ATTEMPTS = 5  # the first message may be acknowledged between reading the state and reading it


class JetStreamWatermark:
    """Asks JetStream on every call (one short connection: a controller asks once per pass)."""

    def __init__(self, config: StreamConfig, timeout_seconds: float = TIMEOUT_SECONDS) -> None:
        self.config = config
        self.timeout_seconds = timeout_seconds

    def archived_until(self, now: int) -> int:
        oldest = self.oldest_waiting()
        return now if oldest is None else min(now, oldest)

    def oldest_waiting(self) -> int | None:
        """Epoch ms at which the oldest message still in the stream was stored; None: the stream is empty
        (or not made yet: nothing was ever accepted). ``StreamUnavailable`` when NATS does not answer."""
        try:
            return asyncio.run(asyncio.wait_for(self._oldest(), self.timeout_seconds))
        except TimeoutError:
            raise StreamUnavailable(
                f"NATS at {self.config.stream_url} did not answer within {self.timeout_seconds:g} s"
            ) from None
        except StreamUnavailable:
            raise
        except Exception as error:  # nats-py raises several kinds (connection closed, no responders)
            raise StreamUnavailable(f"NATS at {self.config.stream_url}: {type(error).__name__} {error}") from None

    async def _oldest(self) -> int | None:
        # One more try per server, then the question fails: the next pass asks again.
        nc = await connect(self.config, "grafana-proxy-controller-watermark", error_cb=_quiet, max_reconnect_attempts=1)
        try:
            return await oldest_stored(nc.jetstream(), self.config.stream_name)
        finally:
            await nc.close()


async def oldest_stored(js: JetStreamContext, stream_name: str) -> int | None:
    """Epoch ms at which the oldest message still in ``stream_name`` was stored; None when it is empty
    (or not made yet). Raises what nats-py raises when NATS does not answer."""
    for _ in range(ATTEMPTS):
        try:
            state = (await js.stream_info(stream_name)).state
        except NotFoundError:
            return None
        if not state.messages:
            return None
        try:
            stored = (await js.get_msg(stream_name, state.first_seq)).time
        except NotFoundError:
            continue  # acknowledged meanwhile: the next one is the oldest now
        return None if stored is None else _epoch_ms(stored)
    raise StreamUnavailable(f"the first message of stream {stream_name} kept moving")


async def _quiet(error: Exception) -> None:
    """nats-py's default logs a traceback for every failed connection attempt; the controller logs once."""
    log.debug("nats: %s", error)


def _epoch_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)
