"""Named numeric series per (project, endpoint): raw points plus 10m/1h/1d rollup tiers.

Write: resolve series ids (cached), drop points already stored, insert the rest into ``points`` (unless
older than the raw retention), and merge exactly those new points into every tier — all in one
transaction that holds a lock on the touched series rows, so concurrent writers of the same series
cannot double-count a point in the rollups.

Query: pick the coarsest tier whose bucket size is <= the step (and whose retention still covers the
range start), round the step up to a multiple of that size, and aggregate every requested series in
one GROUP BY statement."""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import chain
from typing import Any

import numpy as np
from sqlalchemy import (
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    func,
    select,
    update,
)

from grafana_proxy.buckets import fit_step
from grafana_proxy.model import SeriesData, SeriesKind, TimeRange
from grafana_proxy.stores import schema
from grafana_proxy.stores.base import Aggregation, Point
from grafana_proxy.stores.bucket_cache import BucketCache, Entry, cached_part, closed_until, split
from grafana_proxy.stores.db import Database
from grafana_proxy.stores.inlist import chunks, post_filter, sql_list
from grafana_proxy.stores.rollup import (
    Batch,
    FloatArray,
    IntArray,
    aggregate,
    bucket_query,
    driver_rows,
    drop_existing,
    insert_points,
    merge_rollups,
    sorted_unique,
)

_S = schema.series
_P = schema.points
AGGREGATIONS: tuple[str, ...] = ("avg", "min", "max", "sum", "count", "last")
SeriesKey = tuple[str, str, str, str]  # project, endpoint uid, kind, name
STATEMENT_CACHE_SIZE = 256
# (series lookup: id, endpoint uid, name, rev, last_ts; bucket query: series id, bucket, value)
QueryStatements = tuple[Select[int, str, str, int, int | None], Select[int, int, float]]
_SET_TAIL = (
    update(_S).where(_S.c.id == bindparam("sid")).values(last_ts=bindparam("last"), rev=_S.c.rev + bindparam("bump"))
)


def _kept(value: str, keep: frozenset[str] | None) -> bool:
    return keep is None or value in keep


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class SqlSeriesStore:
    """``SeriesStore`` on SQL. ``retention_ms`` is ``Settings.retention_ms()``; ``clock`` gives "now"
    for deciding which points are too old for the raw table (tests pass a fixed clock)."""

    def __init__(self, db: Database, retention_ms: Mapping[str, int], clock: Callable[[], int] = wall_clock_ms) -> None:
        self.db = db
        self.retention = dict(retention_ms)
        self.clock = clock
        self._ids: dict[SeriesKey, int] = {}
        self._statements: dict[tuple[str, int, str, bool, bool], QueryStatements] = {}
        self.cache = BucketCache()

    # -- series ids -----------------------------------------------------------------------------------

    def forget(self, project: str, endpoint_uid: str) -> None:
        """Drop cached ids of an endpoint's series (after its deletion)."""
        for key in [k for k in self._ids if k[0] == project and k[1] == endpoint_uid]:
            del self._ids[key]

    def _resolve(self, project: str, endpoint_uid: str, kind: str, names: Sequence[str]) -> list[int]:
        """Series ids for names, creating missing series. Creation is INSERT-ignore then SELECT, so two
        processes creating the same series at once both end up with the one row."""
        keys = [(project, endpoint_uid, kind, name) for name in names]
        missing = sorted({key[3] for key in keys if key not in self._ids})
        if missing:
            for name in missing:
                if not name or len(name) > schema.NAME_LEN:
                    raise ValueError(f"series name {name!r} must have 1 to {schema.NAME_LEN} characters")
            if (
                not project
                or len(project) > schema.PROJECT_LEN
                or not endpoint_uid
                or len(endpoint_uid) > schema.UID_LEN
            ):
                raise ValueError("project or endpoint uid is empty or too long")
            # A random first rev: a series deleted and created again (its id may be reused) never
            # matches buckets another process cached for the old one.
            rows = [
                {"project": project, "endpoint_uid": endpoint_uid, "kind": kind, "name": n, "rev": secrets.randbits(62)}
                for n in missing
            ]
            found: list[Any] = []
            with self.db.write() as conn:
                conn.execute(self.db.insert_ignore(_S, ("project", "endpoint_uid", "kind", "name")), rows)
                for part in chunks(missing):
                    found += conn.execute(
                        select(_S.c.name, _S.c.id).where(
                            _S.c.project == project,
                            _S.c.endpoint_uid == endpoint_uid,
                            _S.c.kind == kind,
                            _S.c.name.in_(part),
                        )
                    ).all()
            for name, sid in found:
                self._ids[(project, endpoint_uid, kind, name)] = sid
        return [self._ids[key] for key in keys]

    def _lock(self, conn: Connection, ids: Sequence[int]) -> dict[int, int | None] | None:
        """Lock the series rows for this transaction (SQLite: BEGIN IMMEDIATE already serialises
        writers) and read their ``last_ts``. None when a cached id no longer exists (the endpoint was
        deleted meanwhile)."""
        wanted = sorted(set(ids))
        found: dict[int, int | None] = {}
        for part in chunks(wanted):  # ascending id order across the parts too: no lock-order deadlock
            stmt = select(_S.c.id, _S.c.last_ts).where(_S.c.id.in_(part)).order_by(_S.c.id)
            if self.db.dialect != "sqlite":
                stmt = stmt.with_for_update()
            found.update((sid, last) for sid, last in conn.execute(stmt))
        return found if len(found) == len(wanted) else None

    # -- writing --------------------------------------------------------------------------------------

    def write(self, project: str, endpoint_uid: str, kind: SeriesKind, points: Iterable[Point]) -> int:
        names: list[str] = []
        index: dict[str, int] = {}
        positions: list[int] = []
        times: list[int] = []
        values: list[float] = []
        for point in points:
            pos = index.get(point.name)
            if pos is None:
                pos = index[point.name] = len(names)
                names.append(point.name)
            positions.append(pos)
            times.append(point.timestamp)
            values.append(point.value)
        if not times:
            return 0
        return self._write(
            project,
            endpoint_uid,
            kind,
            names,
            np.asarray(positions, dtype=np.int64),
            np.asarray(times, dtype=np.int64),
            np.asarray(values, dtype=np.float64),
        )

    def write_arrays(
        self, project: str, endpoint_uid: str, kind: SeriesKind, name: str, times: IntArray, values: FloatArray
    ) -> int:
        """Bulk write of one series from numpy arrays (epoch ms, values); same semantics as ``write``."""
        times = np.asarray(times, dtype=np.int64)
        positions = np.zeros(len(times), dtype=np.int64)
        return self._write(project, endpoint_uid, kind, [name], positions, times, np.asarray(values, dtype=np.float64))

    def write_frame(
        self, project: str, endpoint_uid: str, kind: SeriesKind, times: IntArray, columns: Mapping[str, FloatArray]
    ) -> int:
        """Bulk write of several series sharing timestamps (e.g. one column per feature)."""
        times = np.asarray(times, dtype=np.int64)
        names = list(columns)
        positions = np.repeat(np.arange(len(names), dtype=np.int64), len(times))
        all_values = (
            np.concatenate([np.asarray(columns[n], dtype=np.float64) for n in names])
            if names
            else np.empty(0, dtype=np.float64)
        )
        return self._write(project, endpoint_uid, kind, names, positions, np.tile(times, len(names)), all_values)

    def _write(
        self,
        project: str,
        uid: str,
        kind: SeriesKind,
        names: list[str],
        positions: IntArray,
        times: IntArray,
        values: FloatArray,
    ) -> int:
        if len(times) != len(values) or len(times) != len(positions):
            raise ValueError("times and values must have the same length")
        if len(times) == 0:
            return 0
        bad = ~np.isfinite(values)
        if bad.any():
            at = int(np.flatnonzero(bad)[0])
            raise ValueError(f"value of series {names[positions[at]]!r} at {int(times[at])} is not a finite number")
        for attempt in range(2):
            ids = np.asarray(self._resolve(project, uid, str(kind), names), dtype=np.int64)
            batch = sorted_unique(ids[positions], times, values)
            with self.db.write() as conn:
                last_ts = self._lock(conn, ids.tolist())
                if last_ts is None:
                    if attempt == 0:
                        self.forget(project, uid)  # stale cache: the endpoint was deleted and recreated
                        continue
                    raise RuntimeError("series rows vanished during the write")
                return self._store(conn, batch, last_ts)
        raise AssertionError("unreachable")

    def _store(self, conn: Connection, batch: Batch, last_ts: Mapping[int, int | None]) -> int:
        """Insert the new points of a locked batch, merge them into the tiers and move each series'
        ``last_ts`` (and ``rev`` when a point lands at or before it)."""
        if len(batch) == 0:
            return 0
        existing: list[Any] = []
        for part in chunks(np.unique(batch.series_ids).tolist()):
            existing += conn.execute(
                select(_P.c.series_id, _P.c.ts).where(
                    _P.c.series_id.in_(part),
                    _P.c.ts >= int(batch.times.min()),
                    _P.c.ts <= int(batch.times.max()),
                )
            ).all()
        if existing:
            old_sids, old_ts = (np.asarray(col, dtype=np.int64) for col in zip(*existing, strict=True))
            batch = drop_existing(batch, old_sids, old_ts)
        now = self.clock()
        insert_points(conn, batch.select(batch.times >= now - self.retention["raw"]))
        for tier, table, size in schema.TIERS:
            recent = batch.select(batch.times >= now - self.retention[tier] - size)
            merge_rollups(conn, table.name, aggregate(recent, size))
        if len(batch):
            conn.execute(_SET_TAIL, _tails(batch, last_ts))
        return len(batch)

    # -- reading --------------------------------------------------------------------------------------

    def _series_filter(
        self, project: str, uids: Sequence[str] | None, kind: str, names: Sequence[str] | None
    ) -> Select[int, str, str]:
        stmt = select(_S.c.id, _S.c.endpoint_uid, _S.c.name).where(_S.c.project == project, _S.c.kind == kind)
        if uids is not None:
            stmt = stmt.where(_S.c.endpoint_uid.in_(list(uids)))
        if names is not None:
            stmt = stmt.where(_S.c.name.in_(list(names)))
        return stmt

    def _query_statements(
        self,
        table: Table,
        raw: bool,
        size: int,
        step: int,
        agg: str,
        uids: Sequence[str] | None,
        names: Sequence[str] | None,
    ) -> QueryStatements:
        """The (series lookup, bucket query) statements of ``query``, with bound parameters (project,
        kind, uids, names, low, high) and built once per shape: building a statement and its cache key
        cost more than running it on a one-series panel. The step is part of the shape (see
        ``bucket_query``); a dashboard uses a handful of steps, and the cache is bounded anyway."""
        key = (table.name, step, agg, uids is not None, names is not None)
        found = self._statements.get(key)
        if found is None:
            series_sel = select(_S.c.id, _S.c.endpoint_uid, _S.c.name, _S.c.rev, _S.c.last_ts).where(
                _S.c.project == bindparam("project"), _S.c.kind == bindparam("kind")
            )
            if uids is not None:
                series_sel = series_sel.where(_S.c.endpoint_uid.in_(bindparam("uids", expanding=True)))
            if names is not None:
                series_sel = series_sel.where(_S.c.name.in_(bindparam("names", expanding=True)))
            ids = series_sel.with_only_columns(_S.c.id)
            found = (series_sel, bucket_query(table, raw, size, step, agg, ids, bindparam("low"), bindparam("high")))
            if len(self._statements) >= STATEMENT_CACHE_SIZE:
                self._statements.clear()
            self._statements[key] = found
        return found

    def choose_tier(self, time_range: TimeRange, step_ms: int) -> tuple[str, Table, int, int]:
        """(tier name, table, tier size, effective step) for a query. A tier qualifies when its bucket
        fits in the step and its retention still covers the range start; the coarsest one wins."""
        if step_ms <= 0:
            raise ValueError("step must be a positive number of milliseconds")
        age = self.clock() - time_range.start
        choice: tuple[str, Table, int] = ("raw", _P, 1)
        for name, table, size in schema.TIERS:
            if size <= step_ms or age > self.retention[choice[0]]:
                choice = (name, table, size)
        name, table, size = choice
        return name, table, size, math.ceil(step_ms / size) * size

    def query(
        self,
        project: str,
        endpoint_uids: Sequence[str] | None,
        kind: SeriesKind,
        names: Sequence[str] | None,
        time_range: TimeRange,
        step_ms: int,
        agg: Aggregation = "avg",
        max_points: int | None = None,
    ) -> list[SeriesData]:
        if agg not in AGGREGATIONS:
            raise ValueError(f"aggregation {agg!r} is not one of {', '.join(AGGREGATIONS)}")
        tier, table, size, step = self.choose_tier(time_range, step_ms)
        if max_points is not None:
            step = fit_step(time_range, step, size, max_points)
        keep_uids, keep_names = post_filter(endpoint_uids), post_filter(names)
        endpoint_uids, names = sql_list(endpoint_uids), sql_list(names)
        series_sel, stmt = self._query_statements(table, tier == "raw", size, step, agg, endpoint_uids, names)
        # Whole step buckets: the first bucket starts at the range start rounded down to the step.
        low, high = time_range.start - time_range.start % step, time_range.end
        params = {
            "project": project,
            "kind": str(kind),
            "uids": list(endpoint_uids or ()),
            "names": list(names or ()),
        }
        with self.db.read() as conn:
            # The lookup comes first: a bucket read after it sees at least the writes its rev reflects.
            found = conn.execute(series_sel, params).all()
            if keep_uids is not None or keep_names is not None:  # lists too long for one IN: filtered here
                found = [row for row in found if _kept(row[1], keep_uids) and _kept(row[2], keep_names)]
            if not found:
                return []
            entries = {sid: self.cache.get((sid, table.name, step, agg), rev, low) for sid, _u, _n, rev, _l in found}
            begins = {sid: split(entry, low, high, step) for sid, entry in entries.items()}
            rows = driver_rows(conn.execute(stmt, {**params, "low": min(begins.values()), "high": high}))
        fetched = _by_series(rows)
        out: list[SeriesData] = []
        for sid, uid, name, rev, last_ts in found:
            entry, begin = entries[sid], begins[sid]
            buckets, values = fetched.get(sid, (_NO_INTS, _NO_FLOATS))
            cut = int(np.searchsorted(buckets, begin))
            buckets, values = buckets[cut:], values[cut:]
            if entry is not None and begin > low:
                old_buckets, old_values = cached_part(entry, low, begin)
                buckets, values = np.concatenate((old_buckets, buckets)), np.concatenate((old_values, values))
            closed = closed_until(last_ts, size, step)
            self._remember((sid, table.name, step, agg), entry, rev, closed, low, high, buckets, values)
            if len(buckets):
                out.append(SeriesData(uid, name, times=buckets.tolist(), values=values.tolist()))
        return sorted(out, key=lambda d: (d.endpoint_uid, d.name))

    def _remember(
        self,
        key: tuple[int, str, int, str],
        entry: Entry | None,
        rev: int,
        closed: int | None,
        low: int,
        high: int,
        buckets: IntArray,
        values: FloatArray,
    ) -> None:
        """Cache the closed buckets of one series' answer unless the entry it used covers them already."""
        if closed is None:
            return
        until = min(closed, high - high % key[2])
        if until <= low or (entry is not None and entry.low <= low and entry.high >= until):
            return
        keep = int(np.searchsorted(buckets, until))
        self.cache.put(key, Entry(rev, low, until, buckets[:keep].copy(), values[:keep].copy()))

    def latest(
        self, project: str, endpoint_uids: Sequence[str] | None, kind: SeriesKind, names: Sequence[str]
    ) -> dict[tuple[str, str], tuple[int, float]]:
        """From the 1d tier: its newest bucket per series carries the series' last point (``last``/
        ``last_ts`` merge by the larger timestamp), so this reads one row per series."""
        day = schema.rollup_1d
        keep_uids, keep_names = post_filter(endpoint_uids), post_filter(names)
        series_sel = self._series_filter(project, sql_list(endpoint_uids), str(kind), sql_list(names))
        newest = (
            select(day.c.series_id, func.max(day.c.bucket).label("mb"))
            .where(day.c.series_id.in_(series_sel.with_only_columns(_S.c.id).scalar_subquery()))
            .group_by(day.c.series_id)
            .subquery()
        )
        stmt = select(day.c.series_id, day.c.last_ts, day.c.last).join(
            newest, and_(day.c.series_id == newest.c.series_id, day.c.bucket == newest.c.mb)
        )
        with self.db.read() as conn:
            labels = {sid: (uid, name) for sid, uid, name in conn.execute(series_sel)}
            rows = conn.execute(stmt).all() if labels else []
        return {
            labels[sid]: (int(ts), float(value))
            for sid, ts, value in rows
            if _kept(labels[sid][0], keep_uids) and _kept(labels[sid][1], keep_names)
        }

    def names(self, project: str, endpoint_uid: str | None, kind: SeriesKind) -> list[str]:
        stmt = select(_S.c.name).distinct().where(_S.c.project == project, _S.c.kind == str(kind))
        if endpoint_uid is not None:
            stmt = stmt.where(_S.c.endpoint_uid == endpoint_uid)
        with self.db.read() as conn:
            return list(conn.scalars(stmt.order_by(_S.c.name)))

    def prune(self, now_ms: int) -> dict[str, int]:
        """Delete raw points and rollup buckets older than their tier's retention."""
        deleted: dict[str, int] = {}
        with self.db.write() as conn:
            deleted["raw"] = conn.execute(delete(_P).where(_P.c.ts < now_ms - self.retention["raw"])).rowcount
            for tier, table, _size in schema.TIERS:
                cutoff = now_ms - self.retention[tier]
                deleted[tier] = conn.execute(delete(table).where(table.c.bucket < cutoff)).rowcount
            if any(deleted.values()):  # old buckets changed: no process may serve them from its cache
                conn.execute(update(_S).values(rev=_S.c.rev + 1))
        return deleted


def _tails(batch: Batch, last_ts: Mapping[int, int | None]) -> list[dict[str, int]]:
    """Per series of a sorted batch of new points: its new ``last_ts``, and 1 to add to ``rev`` when
    a point lands at or before the old ``last_ts`` (cached buckets may hold it), else 0."""
    starts = np.flatnonzero(np.append(True, batch.series_ids[1:] != batch.series_ids[:-1]))
    ends = np.append(starts[1:], len(batch)) - 1
    out = []
    for sid, first, last in zip(
        batch.series_ids[starts].tolist(), batch.times[starts].tolist(), batch.times[ends].tolist(), strict=True
    ):
        old = last_ts.get(sid)
        rewrites = old is not None and first <= old
        out.append({"sid": sid, "last": last if old is None else max(old, last), "bump": int(rewrites)})
    return out


_NO_INTS: IntArray = np.empty(0, dtype=np.int64)
_NO_FLOATS: FloatArray = np.empty(0, dtype=np.float64)


def _by_series(rows: list[tuple[Any, ...]]) -> dict[int, tuple[IntArray, FloatArray]]:
    """(series id, bucket, value) rows ordered by series and bucket -> bucket and value arrays per series.
    Every cell is a number (PostgreSQL's sums may be Decimal): one float64 pass over all cells; series
    ids and bucket starts (epoch ms, |t| < 2^53) are exact in float64."""
    if not rows:
        return {}
    cells = np.fromiter(chain.from_iterable(rows), dtype=np.float64, count=3 * len(rows)).reshape(-1, 3)
    sids = cells[:, 0].astype(np.int64)
    buckets = cells[:, 1].astype(np.int64)
    values = np.ascontiguousarray(cells[:, 2])
    starts = np.flatnonzero(np.append(True, sids[1:] != sids[:-1]))
    ends = np.append(starts[1:], len(sids))
    return {
        int(sids[first]): (buckets[first:end], values[first:end])
        for first, end in zip(starts.tolist(), ends.tolist(), strict=True)
    }
