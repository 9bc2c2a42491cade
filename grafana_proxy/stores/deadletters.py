"""Dead letters: records an ingest consumer could not apply after a bounded number of attempts.

A record is kept byte for byte with the error of its last attempt, under ``(source, position)``:
the spool fold uses ``spool:<name>`` and the spool sequence number; a stream consumer (NATS JetStream)
would use its stream name and message sequence. An operator lists, shows, asks to replay or drops them
(``grafana-proxy deadletter``); a replay request is a flag the owning consumer picks up, so the CLI
never needs the consumer's process or its spool lock."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from grafana_proxy.model import DeadLetter
from grafana_proxy.stores import schema
from grafana_proxy.stores.base import DeadLetterStore
from grafana_proxy.stores.db import Database

_L = schema.dead_letters


def _letter(row: Any) -> DeadLetter:
    return DeadLetter(
        id=int(row.id),
        source=row.source,
        position=row.position,
        payload=bytes(row.payload),
        error=row.error,
        attempts=int(row.attempts),
        created_at=int(row.created_at),
        replay_requested_at=None if row.replay_requested_at is None else int(row.replay_requested_at),
    )


class SqlDeadLetterStore:
    """``DeadLetterStore`` on the service's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, source: str, position: str, payload: bytes, error: str, attempts: int) -> int:
        row = {
            "source": source,
            "position": position,
            "payload": payload,
            "error": error,
            "attempts": attempts,
            "created_at": time.time_ns() // 1_000_000,
        }
        try:
            with self.db.write() as conn:
                conn.execute(_L.insert(), [row])
        except IntegrityError:
            pass  # already kept (a crash between keeping it and moving on): keep the first
        with self.db.read() as conn:
            found = conn.execute(select(_L.c.id).where(_L.c.source == source, _L.c.position == position)).scalar()
        return int(found or 0)

    def letters(self, source: str | None = None) -> list[DeadLetter]:
        stmt = select(_L).order_by(_L.c.id)
        if source is not None:
            stmt = stmt.where(_L.c.source == source)
        with self.db.read() as conn:
            return [_letter(row) for row in conn.execute(stmt)]

    def get(self, letter_id: int) -> DeadLetter | None:
        with self.db.read() as conn:
            row = conn.execute(select(_L).where(_L.c.id == letter_id)).first()
        return None if row is None else _letter(row)

    def request_replay(self, letter_id: int) -> bool:
        now = time.time_ns() // 1_000_000
        with self.db.write() as conn:
            return conn.execute(update(_L).where(_L.c.id == letter_id).values(replay_requested_at=now)).rowcount > 0

    def take_replays(self, source: str) -> list[DeadLetter]:
        stmt = select(_L).where(_L.c.source == source, _L.c.replay_requested_at.is_not(None)).order_by(_L.c.id)
        with self.db.read() as conn:
            return [_letter(row) for row in conn.execute(stmt)]

    def remove(self, letter_ids: Sequence[int]) -> int:
        removed = 0
        with self.db.write() as conn:
            for start in range(0, len(letter_ids), 500):
                removed += conn.execute(delete(_L).where(_L.c.id.in_(list(letter_ids[start : start + 500])))).rowcount
        return removed

    def count(self, source: str | None = None) -> int:
        stmt = select(func.count()).select_from(_L)
        if source is not None:
            stmt = stmt.where(_L.c.source == source)
        with self.db.read() as conn:
            return int(conn.execute(stmt).scalar() or 0)


__all__ = ["DeadLetter", "DeadLetterStore", "SqlDeadLetterStore"]
