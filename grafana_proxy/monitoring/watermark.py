"""How far the ingest has got: the controller analyses a window only once every event accepted before
its end (plus the window delay, the clients' lateness) is in the database and the archive.

With the embedded spool the ingest is in the same machine and the window delay covers its lag
(``CaughtUp``). With the JetStream event log, batches wait in the stream until an ingest process has
folded and archived them, for as long as the ingest lags (a burst, a killed process whose messages come
again after ``stream_ack_wait_seconds``); ``grafana_proxy.stream.watermark.JetStreamWatermark`` tells
the controller the acceptance time of the oldest batch still waiting."""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger(__name__)

# Between passes while the watermark holds windows back: the held windows become due as soon as the
# ingest catches up, not a whole period later.
HELD_RETRY_MS = 5_000


class IngestWatermark(Protocol):
    def archived_until(self, now: int) -> int:
        """Epoch ms before which every accepted batch is folded and archived: ``now`` when nothing is
        waiting. Raises when it cannot be told (the event log unreachable): no window is analysed on a
        guess."""


class CaughtUp:
    """The embedded spool: the window delay covers the ingest's lag; nothing more to wait for."""

    def archived_until(self, now: int) -> int:
        return now


class IngestGate:
    """The watermark as one controller pass sees it: asked once per pass, an outage logged once (when it
    starts and when it ends), not on every pass."""

    def __init__(self, watermark: IngestWatermark) -> None:
        self.watermark = watermark
        self.error: str | None = None  # why the last question had no answer; None = it had one

    def ready_until(self, now: int) -> int | None:
        """The instant the pass may treat as "now" for the windows (at most ``now``); None: unknown."""
        try:
            until = min(now, self.watermark.archived_until(now))
        except Exception as error:  # any failure means the same: the ingest's progress is unknown
            if self.error is None:
                log.warning("ingest progress unknown (%s): no window is analysed until it is known again", error)
            self.error = str(error) or type(error).__name__
            return None
        if self.error is not None:
            log.info("ingest progress known again: windows are analysed again")
            self.error = None
        if until < now:
            log.debug("windows wait for the ingest: batches accepted since %d are not archived yet", until)
        return until
