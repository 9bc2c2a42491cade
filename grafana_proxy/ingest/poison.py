"""Poison-pill isolation for the ingest fold: a record that cannot be applied must not stall the ones behind it.

When a group of spool records fails, the fold goes back to its snapshot and folds that stretch again one
record at a time; a single record that fails ``max_attempts`` times moves to the dead-letter store (its
bytes as spooled and the error) and is skipped from then on. Outages are not poison: a store that cannot
be reached (``StoreUnavailable``) or a full disk (``OSError``) only delays the fold, and no attempt is
counted, so an outage never dead-letters anything.

Window points (the per-endpoint metric series the fold emits) are retried in place and, when they still
fail, dead-lettered as a ``window`` letter whose replay writes the points."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, PendingRollbackError

from grafana_proxy.stores.base import Point, StoreUnavailable
from grafana_proxy.stores.deadletters import DeadLetter, DeadLetterStore

log = logging.getLogger(__name__)
Record = tuple[int, bytes]  # spool sequence number, payload
WINDOW_KIND = "window"


def is_transient(exc: BaseException) -> bool:
    """An outage (retry later, count nothing) rather than a record that cannot be applied: the database
    unreachable or its connection lost mid-statement, the disk full or read-only, a timeout."""
    if isinstance(exc, StoreUnavailable | OSError | TimeoutError):
        return True
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError | PendingRollbackError):
        return True
    return bool(getattr(exc, "connection_invalidated", False))


def error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def window_payload(project: str, uid: str, points: Sequence[Point]) -> bytes:
    return orjson.dumps(
        {
            "kind": WINDOW_KIND,
            "project": project,
            "uid": uid,
            "points": [[p.name, p.timestamp, p.value] for p in points],
        }
    )


def window_points(letter: DeadLetter) -> tuple[str, str, list[Point]] | None:
    """(project, uid, points) of a window letter; None for a spool record."""
    if not letter.position.startswith(WINDOW_KIND):
        return None
    data: dict[str, Any] = orjson.loads(letter.payload)
    return data["project"], data["uid"], [Point(n, int(t), float(v)) for n, t, v in data["points"]]


class PoisonGuard:
    """Attempt counts, the stretch folded record by record, and the records already dead-lettered."""

    def __init__(self, letters: DeadLetterStore, source: str, max_attempts: int) -> None:
        self.letters = letters
        self.source = source
        self.max_attempts = max_attempts
        self.isolate_until = 0  # records up to this sequence number are folded one at a time
        self.skipped: set[int] = set()  # dead-lettered sequence numbers the replay must pass over
        self.dead_lettered = 0  # since this process started (/metrics)
        self._attempts: dict[int, int] = {}

    def groups(self, records: Sequence[Record], group_bytes: int) -> list[list[Record]]:
        """Records in fold groups of about ``group_bytes``; inside the isolated stretch, one per group."""
        out: list[list[Record]] = []
        group: list[Record] = []
        size = 0
        for record in records:
            if record[0] <= self.isolate_until:
                if group:
                    out.append(group)
                    group, size = [], 0
                out.append([record])
                continue
            group.append(record)
            size += len(record[1])
            if size >= group_bytes:
                out.append(group)
                group, size = [], 0
        if group:
            out.append(group)
        return out

    def failed(self, group: Sequence[Record], exc: BaseException) -> int | None:
        """Note that folding ``group`` failed; the sequence number of a record now dead-lettered, if any."""
        if len(group) > 1:
            self.isolate_until = max(self.isolate_until, group[-1][0])
            log.warning(
                "ingest fold failed on spool records %d..%d; retrying them one by one", group[0][0], group[-1][0]
            )
            return None
        seq, payload = group[0]
        attempts = self._attempts.get(seq, 0) + 1
        self._attempts[seq] = attempts
        if attempts < self.max_attempts:
            log.warning("ingest fold failed on spool record %d (attempt %d of %d)", seq, attempts, self.max_attempts)
            return None
        letter_id = self.letters.add(self.source, str(seq), payload, error_text(exc), attempts)
        self._attempts.pop(seq, None)
        self.skipped.add(seq)
        self.dead_lettered += 1
        log.error(
            "spool record %d could not be applied after %d attempts (%s: %s); moved to dead letter %d, "
            "see `grafana-proxy deadletter show %d`",
            seq,
            attempts,
            type(exc).__name__,
            str(exc)[:200],
            letter_id,
            letter_id,
        )
        return seq

    def write_window(self, project: str, uid: str, points: Sequence[Point], write: Callable[[], int]) -> int:
        """``write()`` the window points, retried in place; dead-lettered when it keeps failing."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                return write()
            except Exception as exc:
                if is_transient(exc):
                    raise
                if attempt == self.max_attempts:
                    position = f"{WINDOW_KIND}:{project}/{uid}@{points[0].timestamp if points else 0}"
                    self.letters.add(
                        self.source, position, window_payload(project, uid, points), error_text(exc), attempt
                    )
                    self.dead_lettered += 1
                    log.error("window points of %s/%s could not be written; dead-lettered (%s)", project, uid, exc)
        return 0

    def prune(self, position: int) -> None:
        """Forget skips at or before the snapshot position: no replay goes back that far any more."""
        self.skipped = {seq for seq in self.skipped if seq > position}

    def restore(self, skipped: Iterable[int]) -> None:
        self.skipped.update(skipped)
