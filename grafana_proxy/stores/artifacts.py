"""The SQL side of monitoring-application artifacts: one row per file (``artifacts`` table). The files
themselves are kept in the archive storage by ``grafana_proxy.archive.artifacts``.

The store shares the engine of an opened ``Stores`` bundle: ``stores.artifacts``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select

from grafana_proxy.model import Artifact, TimeRange
from grafana_proxy.stores import schema
from grafana_proxy.stores.db import Database

_A = schema.artifacts
_COLUMNS = (
    _A.c.id,
    _A.c.project,
    _A.c.endpoint_uid,
    _A.c.application,
    _A.c.name,
    _A.c.start_infer_time,
    _A.c.end_infer_time,
    _A.c.content_type,
    _A.c.size,
    _A.c.path,
    _A.c.created_at,
)


def _artifact(row: Sequence[Any]) -> Artifact:
    return Artifact(
        artifact_id=row[0],
        project=row[1],
        endpoint_uid=row[2],
        application=row[3],
        name=row[4],
        start_infer_time=int(row[5]),
        end_infer_time=int(row[6]),
        content_type=row[7],
        size=int(row[8]),
        path=row[9],
        created_at=int(row[10]),
    )


class SqlArtifactStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, artifact: Artifact) -> None:
        """Insert the row, or replace the one with the same id (the same window analysed again)."""
        row = {
            "id": artifact.artifact_id,
            "project": artifact.project,
            "endpoint_uid": artifact.endpoint_uid,
            "application": artifact.application,
            "name": artifact.name,
            "start_infer_time": artifact.start_infer_time,
            "end_infer_time": artifact.end_infer_time,
            "content_type": artifact.content_type,
            "size": artifact.size,
            "path": artifact.path,
            "created_at": artifact.created_at,
        }
        with self.db.write() as conn:
            conn.execute(self.db.upsert(_A, ("id",)), [row])

    def get(self, project: str, endpoint_uid: str, artifact_id: str) -> Artifact | None:
        """The artifact, only when it belongs to this project and endpoint."""
        stmt = select(*_COLUMNS).where(
            _A.c.id == artifact_id, _A.c.project == project, _A.c.endpoint_uid == endpoint_uid
        )
        with self.db.read() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else _artifact(row)

    def query(
        self,
        project: str,
        time_range: TimeRange | None = None,
        endpoint_uids: Sequence[str] | None = None,
        application: str | None = None,
        names: Sequence[str] | None = None,
    ) -> list[Artifact]:
        """Artifacts whose window ends in the range (all when None), newest first."""
        stmt = select(*_COLUMNS).where(_A.c.project == project)
        if time_range is not None:
            stmt = stmt.where(_A.c.end_infer_time >= time_range.start, _A.c.end_infer_time < time_range.end)
        if endpoint_uids:
            stmt = stmt.where(_A.c.endpoint_uid.in_(list(endpoint_uids)))
        if application:
            stmt = stmt.where(_A.c.application == application)
        if names:
            stmt = stmt.where(_A.c.name.in_(list(names)))
        stmt = stmt.order_by(_A.c.end_infer_time.desc(), _A.c.endpoint_uid, _A.c.application, _A.c.name)
        with self.db.read() as conn:
            return [_artifact(row) for row in conn.execute(stmt)]

    def older_than(self, cutoff_ms: int, limit: int = 1000) -> list[Artifact]:
        """Artifacts of windows that ended before ``cutoff_ms`` (the oldest first), for retention."""
        stmt = select(*_COLUMNS).where(_A.c.end_infer_time < cutoff_ms).order_by(_A.c.end_infer_time).limit(limit)
        with self.db.read() as conn:
            return [_artifact(row) for row in conn.execute(stmt)]

    def delete(self, artifact_ids: Sequence[str]) -> int:
        if not artifact_ids:
            return 0
        with self.db.write() as conn:
            return int(conn.execute(delete(_A).where(_A.c.id.in_(list(artifact_ids)))).rowcount)

    def delete_endpoint(self, project: str, endpoint_uid: str) -> list[Artifact]:
        """Remove the rows of one endpoint; return them so their files can be removed too."""
        found = self.query(project, endpoint_uids=[endpoint_uid])
        self.delete([a.artifact_id for a in found])
        return found
