"""SQL implementations of the monitoring pipeline's two small stores: ground-truth labels and the
controller's schedule (``GroundTruthStore`` and ``ScheduleStore`` in ``stores/base.py``); ``open_stores``
puts them in the ``Stores`` bundle beside the others."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from grafana_proxy.model import GroundTruth
from grafana_proxy.stores import schema
from grafana_proxy.stores.db import Database

_G = schema.ground_truth
_S = schema.monitoring_schedules
# Keeps each IN (...) list well under every backend's parameter limit.
_CHUNK = 500


class SqlGroundTruthStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def write(self, project: str, labels: Sequence[GroundTruth]) -> int:
        rows: list[dict[str, Any]] = []
        for label in labels:
            if not label.request_id or len(label.request_id) > schema.NAME_LEN:
                raise ValueError(f"ground truth 'request_id' must be 1 to {schema.NAME_LEN} characters")
            rows.append(
                {
                    "project": project,
                    "request_id": label.request_id,
                    "endpoint_uid": label.endpoint_uid,
                    "timestamp": label.timestamp,
                    "value": label.value,
                }
            )
        if not rows:
            return 0
        with self.db.write() as conn:
            conn.execute(self.db.upsert(_G, ("project", "request_id")), rows)
        return len(rows)

    def get(self, project: str, request_ids: Sequence[str]) -> dict[str, GroundTruth]:
        wanted = sorted(set(request_ids))
        found: dict[str, GroundTruth] = {}
        with self.db.read() as conn:
            for i in range(0, len(wanted), _CHUNK):
                stmt = select(_G.c.request_id, _G.c.value, _G.c.timestamp, _G.c.endpoint_uid).where(
                    _G.c.project == project, _G.c.request_id.in_(wanted[i : i + _CHUNK])
                )
                for request_id, value, timestamp, endpoint_uid in conn.execute(stmt):
                    found[request_id] = GroundTruth(request_id, value, int(timestamp), endpoint_uid)
        return found


class SqlScheduleStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def last_analyzed(self, project: str, endpoint_uid: str | None = None) -> dict[tuple[str, str], int]:
        stmt = select(_S.c.application, _S.c.endpoint_uid, _S.c.last_analyzed).where(_S.c.project == project)
        if endpoint_uid is not None:
            stmt = stmt.where(_S.c.endpoint_uid == endpoint_uid)
        with self.db.read() as conn:
            return {(app, uid): int(last) for app, uid, last in conn.execute(stmt)}

    def advance(self, project: str, application: str, endpoint_uid: str, end_ms: int) -> None:
        with self.db.write() as conn:
            advance_schedule(self.db, conn, project, application, endpoint_uid, end_ms)


def advance_schedule(db: Database, conn: Connection, project: str, application: str, uid: str, end_ms: int) -> None:
    """``ScheduleStore.advance`` inside the caller's write transaction (the lease store fences it)."""
    # Two controllers (or a retried pass) may race: the stored value only ever grows.
    current = conn.execute(
        select(_S.c.last_analyzed).where(
            _S.c.project == project, _S.c.application == application, _S.c.endpoint_uid == uid
        )
    ).scalar()
    if current is not None and int(current) >= end_ms:
        return
    row = {"project": project, "application": application, "endpoint_uid": uid, "last_analyzed": end_ms}
    conn.execute(db.upsert(_S, ("project", "application", "endpoint_uid")), [row])
