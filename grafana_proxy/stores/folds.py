"""``FoldStore`` on SQL: what several stream-ingest processes share (request ids, window buckets, marks).

A fold is one transaction: the request ids go in first (sorted, so two transactions never wait on each
other in a cycle; a duplicate that another open transaction inserted blocks until that one ends and then
counts as seen), then the first occurrences are added to the endpoint marks and the window buckets with
additive upserts, in key order as well. Marks before buckets in every transaction that touches both, so
emission (which updates a mark, then deletes its old buckets) takes the locks in the same order.

A deadlock or serialization failure rolls the whole transaction back; it is retried here, a few times."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, and_, bindparam, delete, func, literal_column, or_, select, update

from grafana_proxy.stores import schema
from grafana_proxy.stores.base import BucketValues, FoldItem, FoldOutcome, StoreUnavailable, WindowMark
from grafana_proxy.stores.db import Database

log = logging.getLogger(__name__)
_R = schema.request_ids
_B = schema.window_buckets
_M = schema.window_marks
_CHUNK = 500
_ATTEMPTS = 6
# PostgreSQL: deadlock_detected, serialization_failure; MySQL/MariaDB: lock wait timeout, deadlock.
_PG_CONFLICTS = frozenset({"40P01", "40001"})
_MYSQL_CONFLICTS = frozenset({1205, 1213})
T = TypeVar("T")


def is_conflict(error: BaseException) -> bool:
    """A transaction lost to another one (deadlock, serialization failure, SQLite busy): try it again."""
    cause = error.__cause__ if isinstance(error, StoreUnavailable) else error
    orig = getattr(cause, "orig", None)
    if orig is None:
        return False
    if getattr(orig, "sqlstate", None) in _PG_CONFLICTS:
        return True
    args = getattr(orig, "args", ())
    if args and args[0] in _MYSQL_CONFLICTS:
        return True
    return "database is locked" in str(orig)


class SqlFoldStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._least: Callable[[Any, Any], Any] = func.min if db.dialect == "sqlite" else func.least
        self._greatest: Callable[[Any, Any], Any] = func.max if db.dialect == "sqlite" else func.greatest
        self._insert_ids_stmt = db.insert_ignore(_R, ("project", "request_id")).returning(_R.c.project, _R.c.request_id)
        self.conflicts = 0  # transactions retried after losing to another one (tests, benchmarks)

    def _retrying(self, body: Callable[[], T]) -> T:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                return body()
            except StoreUnavailable as error:
                if attempt == _ATTEMPTS or not is_conflict(error):
                    raise
                self.conflicts += 1
                log.debug("fold transaction lost to another (attempt %d): retrying", attempt)
                time.sleep(random.uniform(0.01, 0.05) * attempt)
        raise AssertionError("unreachable")

    # -- folding ----------------------------------------------------------------------------------------

    def fold(self, items: Sequence[FoldItem], now_ms: int) -> FoldOutcome:
        if not items:
            return FoldOutcome([], [])
        return self._retrying(lambda: self._fold(items, now_ms))

    def _fold(self, items: Sequence[FoldItem], now_ms: int) -> FoldOutcome:
        first: dict[tuple[str, str], int] = {}  # the lowest position of each id in these items
        for item in items:
            key = (item.project, item.request_id)
            if key not in first or item.position < first[key]:
                first[key] = item.position
        with self.db.write() as conn:
            inserted = self._insert_ids(conn, first, now_ms)
            stored = {key: first[key] for key in inserted}
            stored.update(self._positions(conn, [key for key in first if key not in inserted]))
            fresh = [
                (i.project, i.request_id) in inserted and first[(i.project, i.request_id)] == i.position for i in items
            ]
            self._add(conn, [item for item, new in zip(items, fresh, strict=True) if new])
        own = [stored.get((i.project, i.request_id)) == i.position for i in items]
        return FoldOutcome(fresh, own)

    def _insert_ids(self, conn: Connection, first: dict[tuple[str, str], int], now_ms: int) -> set[tuple[str, str]]:
        """Insert the ids not seen yet; return those this transaction inserted (RETURNING lists only them)."""
        rows = [{"project": p, "request_id": r, "position": first[(p, r)], "seen_ms": now_ms} for p, r in sorted(first)]
        # Executemany with RETURNING: SQLAlchemy sends multi-row INSERTs ("insertmanyvalues") from one
        # cached statement; a .values(list) statement was compiled anew per call (~40% of the fold's time).
        return {(p, r) for p, r in conn.execute(self._insert_ids_stmt, rows)}

    def _positions(self, conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        by_project: dict[str, list[str]] = {}
        for project, request_id in keys:
            by_project.setdefault(project, []).append(request_id)
        found: dict[tuple[str, str], int] = {}
        for project, ids in by_project.items():
            for start in range(0, len(ids), _CHUNK):
                stmt = select(_R.c.request_id, _R.c.position).where(
                    _R.c.project == project, _R.c.request_id.in_(ids[start : start + _CHUNK])
                )
                found.update(((project, r), int(pos)) for r, pos in conn.execute(stmt))
        return found

    def _add(self, conn: Connection, items: list[FoldItem]) -> None:
        """Add the fresh items to their endpoints' marks, then to their buckets (both in key order)."""
        marks: dict[tuple[str, str], list[int]] = {}
        buckets: dict[tuple[str, str, int], list[float]] = {}
        for i in items:
            m = marks.get((i.project, i.endpoint_uid))
            if m is None:
                marks[(i.project, i.endpoint_uid)] = [
                    i.bucket_start,
                    i.bucket_start,
                    i.errors,
                    i.timestamp,
                    i.timestamp,
                ]
            else:
                m[0], m[1] = min(m[0], i.bucket_start), max(m[1], i.bucket_start)
                m[2] += i.errors
                m[3], m[4] = min(m[3], i.timestamp), max(m[4], i.timestamp)
            b = buckets.setdefault((i.project, i.endpoint_uid, i.bucket_start), [0, 0.0, 0, 0, 0])
            b[0] += i.count
            b[1] += i.latency_sum
            b[2] += i.latency_n
            b[3] += i.errors
            b[4] += 1
        if marks:
            conn.execute(
                self._mark_upsert(),
                [
                    {
                        "project": p,
                        "endpoint_uid": u,
                        "emitted_until": None,
                        "min_start": lo,
                        "max_start": hi,
                        "error_count": errors,
                        "first_request": first,
                        "last_request": last,
                        "version": 1,
                        "written_version": 0,
                        "claimed_by": None,
                        "claimed_until": None,
                    }
                    for (p, u), (lo, hi, errors, first, last) in sorted(marks.items())
                ],
            )
        if buckets:
            conn.execute(
                self._bucket_upsert(),
                [
                    {
                        "project": p,
                        "endpoint_uid": u,
                        "start_ms": s,
                        "count": int(b[0]),
                        "latency_sum": float(b[1]),
                        "latency_n": int(b[2]),
                        "errors": int(b[3]),
                        "requests": int(b[4]),
                    }
                    for (p, u, s), b in sorted(buckets.items())
                ],
            )

    def _mark_upsert(self) -> Any:
        def updates(stmt: Any) -> dict[str, Any]:
            def new(name: str) -> Any:
                return self.db.excluded(stmt, name)

            return {
                "min_start": self._least(_M.c.min_start, new("min_start")),
                "max_start": self._greatest(_M.c.max_start, new("max_start")),
                "error_count": _M.c.error_count + new("error_count"),
                "first_request": self._least(_M.c.first_request, new("first_request")),
                "last_request": self._greatest(_M.c.last_request, new("last_request")),
                # A literal, not a bound parameter: pymysql's executemany cannot bind one after VALUES.
                "version": _M.c.version + literal_column("1"),
            }

        return self.db.upsert(_M, ("project", "endpoint_uid"), updates)

    def _bucket_upsert(self) -> Any:
        columns = ("count", "latency_sum", "latency_n", "errors", "requests")
        return self.db.upsert(
            _B,
            ("project", "endpoint_uid", "start_ms"),
            lambda stmt: {c: _B.c[c] + self.db.excluded(stmt, c) for c in columns},
        )

    # -- emitting ---------------------------------------------------------------------------------------

    def claim(
        self, owner: str, now_ms: int, horizon: int, period_ms: int, span_ms: int, lease_ms: int, limit: int
    ) -> list[WindowMark]:
        return self._retrying(lambda: self._claim(owner, now_ms, horizon, period_ms, span_ms, lease_ms, limit))

    def _claim(
        self, owner: str, now_ms: int, horizon: int, period_ms: int, span_ms: int, lease_ms: int, limit: int
    ) -> list[WindowMark]:
        # Mirrors emit_points: the first point is at the first bucket's end; after the last bucket, points
        # continue until an hour of zeros has been written.
        due = or_(
            and_(_M.c.emitted_until.is_(None), _M.c.min_start + period_ms <= horizon),
            and_(
                _M.c.emitted_until.is_not(None),
                _M.c.emitted_until + period_ms <= horizon,
                _M.c.emitted_until <= _M.c.max_start + span_ms,
            ),
            _M.c.version != _M.c.written_version,
        )
        free = or_(_M.c.claimed_until.is_(None), _M.c.claimed_until < now_ms)
        columns = (
            _M.c.project,
            _M.c.endpoint_uid,
            _M.c.emitted_until,
            _M.c.error_count,
            _M.c.first_request,
            _M.c.last_request,
            _M.c.version,
        )
        stmt = select(*columns).where(due, free).order_by(_M.c.project, _M.c.endpoint_uid).limit(limit)
        if self.db.dialect != "sqlite":
            stmt = stmt.with_for_update(skip_locked=True)  # another process's claim in progress: not ours
        with self.db.write() as conn:
            marks = [WindowMark(*row) for row in conn.execute(stmt)]
            if marks:
                conn.execute(
                    update(_M)
                    .where(_M.c.project == bindparam("p"), _M.c.endpoint_uid == bindparam("u"))
                    .values(claimed_by=owner, claimed_until=now_ms + lease_ms),
                    [{"p": m.project, "u": m.endpoint_uid} for m in marks],
                )
        return marks

    def buckets(self, project: str, endpoint_uid: str) -> dict[int, BucketValues]:
        stmt = select(_B.c.start_ms, _B.c.count, _B.c.latency_sum, _B.c.latency_n, _B.c.errors, _B.c.requests).where(
            _B.c.project == project, _B.c.endpoint_uid == endpoint_uid
        )
        with self.db.read() as conn:
            return {int(s): (int(c), float(ls), int(ln), int(e), int(r)) for s, c, ls, ln, e, r in conn.execute(stmt)}

    def release(self, owner: str, mark: WindowMark, emitted_until: int | None, prune_before: int | None) -> bool:
        def body() -> bool:
            key = and_(_M.c.project == mark.project, _M.c.endpoint_uid == mark.endpoint_uid)
            with self.db.write() as conn:
                held = conn.execute(
                    update(_M)
                    .where(key, _M.c.claimed_by == owner)
                    .values(
                        emitted_until=emitted_until, written_version=mark.version, claimed_by=None, claimed_until=None
                    )
                ).rowcount
                if held and prune_before is not None:
                    conn.execute(
                        delete(_B).where(
                            _B.c.project == mark.project,
                            _B.c.endpoint_uid == mark.endpoint_uid,
                            _B.c.start_ms < prune_before,
                        )
                    )
            return bool(held)

        return self._retrying(body)

    def prune(self, older_than_ms: int) -> int:
        with self.db.write() as conn:
            return int(conn.execute(delete(_R).where(_R.c.seen_ms < older_than_ms)).rowcount)
