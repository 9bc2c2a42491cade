"""Idempotency on ``request_id``.

The index remembers, per (project, request_id), the spool position where that id was *first* seen. An event is
processed only at that position: a client's retry (same id, later position) is skipped, while replaying the
spool after a crash (same id, same position) is processed again — so the decision is a pure function of the
spool and survives kill -9 at any point without losing or double-counting.

Kept in a small SQLite file beside the spool because positions are local to one spool; rows older than the
retention are pruned (a retry after that long is treated as new)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from grafana_proxy.clock import now_ms

_SCHEMA = """
CREATE TABLE IF NOT EXISTS request_ids (
    project TEXT NOT NULL,
    request_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    seen_ms INTEGER NOT NULL,
    PRIMARY KEY (project, request_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS request_ids_seen ON request_ids (seen_ms);
"""


_FIRSTS = "SELECT request_id, position FROM request_ids WHERE project = ?"


class DedupIndex:
    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # Losing the last commits on power loss is harmless: they are re-derived from the spool on replay.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def first_occurrences(self, keys: Sequence[tuple[str, str, int]]) -> list[bool]:
        """For each (project, request_id, position): True when this position is the id's first one."""
        now = now_ms()
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT OR IGNORE INTO request_ids VALUES (?, ?, ?, ?)",
                    [(p, r, pos, now) for p, r, pos in keys],
                )
                first: dict[tuple[str, str], int] = {}
                by_project: dict[str, list[str]] = {}
                for project, request_id, _ in keys:
                    by_project.setdefault(project, []).append(request_id)
                for project, ids in by_project.items():
                    # One primary-key range probe per id (an OR chain of (project, id) pairs was slower).
                    for chunk_start in range(0, len(ids), 500):
                        chunk = ids[chunk_start : chunk_start + 500]
                        marks = ",".join("?" * len(chunk))
                        query = f"{_FIRSTS} AND request_id IN ({marks})"
                        for request_id, position in self._db.execute(query, [project, *chunk]):
                            first[(project, request_id)] = position
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return [first.get((p, r)) == pos for p, r, pos in keys]

    def forget_positions(self, low: int, high: int) -> int:
        """Forget the ids first seen at positions low <= position < high (a record that was never applied)."""
        with self._lock:
            query = "DELETE FROM request_ids WHERE position >= ? AND position < ?"
            return self._db.execute(query, (low, high)).rowcount

    def prune(self, older_than_ms: int) -> int:
        with self._lock:
            return self._db.execute("DELETE FROM request_ids WHERE seen_ms < ?", (older_than_ms,)).rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()
