"""SQL store of uploads: the queue between the api role, which stages a file and adds a row, and the
ingest processes, which claim rows one at a time and record what became of them.

Several ingest processes (on several machines) share the queue through the database alone: a claim is
``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL and MariaDB, so two claimers never wait on or take
the same row; on SQLite the write transaction (BEGIN IMMEDIATE) already serialises claimers. A claim is
a lease: a process that died holding one stops renewing ``claimed_at``, and the row is claimed again
once the lease has run out. ``attempts`` is the claim's token: a process whose lease was taken over can
no longer finish, renew or fail the row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, or_, select, update

from grafana_proxy.model import Upload, UploadKind, UploadStatus
from grafana_proxy.stores import schema
from grafana_proxy.stores.db import Database

_U = schema.uploads
_ERROR_CHARS = 4000
_FINISHED = (UploadStatus.done.value, UploadStatus.failed.value)


def _upload(row: Any) -> Upload:
    return Upload(
        upload_id=row.upload_id,
        project=row.project,
        endpoint_uid=row.endpoint_uid,
        kind=UploadKind(row.kind),
        fmt=row.fmt,
        path=row.path,
        size=int(row.size),
        params=dict(row.params or {}),
        created_at=int(row.created_at),
        status=UploadStatus(row.status),
        attempts=int(row.attempts),
        claimed_at=None if row.claimed_at is None else int(row.claimed_at),
        finished_at=None if row.finished_at is None else int(row.finished_at),
        result=None if row.result is None else dict(row.result),
        error=row.error,
    )


class SqlUploadStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, upload: Upload) -> None:
        row = {name: getattr(upload, name) for name in Upload.__dataclass_fields__}
        row["kind"], row["status"] = upload.kind.value, upload.status.value
        with self.db.write() as conn:
            conn.execute(_U.insert(), [row])

    def get(self, project: str, upload_id: str) -> Upload | None:
        with self.db.read() as conn:
            row = conn.execute(select(_U).where(_U.c.upload_id == upload_id, _U.c.project == project)).first()
        return None if row is None else _upload(row)

    def claim(self, now: int, lease_ms: int) -> Upload | None:
        """The oldest pending upload (or one whose claimer's lease ran out), now running under a new
        claim: its ``attempts`` is the claim's token."""
        waiting = or_(
            _U.c.status == UploadStatus.pending.value,
            and_(_U.c.status == UploadStatus.running.value, _U.c.claimed_at < now - lease_ms),
        )
        stmt = select(_U).where(waiting).order_by(_U.c.created_at, _U.c.upload_id).limit(1)
        if self.db.dialect != "sqlite":
            stmt = stmt.with_for_update(skip_locked=True)
        with self.db.write() as conn:
            row = conn.execute(stmt).first()
            if row is None:
                return None
            attempts = int(row.attempts) + 1
            values = {"status": UploadStatus.running.value, "claimed_at": now, "attempts": attempts}
            conn.execute(update(_U).where(_U.c.upload_id == row.upload_id).values(**values))
        claimed = _upload(row)
        return Upload(**{**claimed.__dict__, "status": UploadStatus.running, "claimed_at": now, "attempts": attempts})

    def _owned(self, upload: Upload, **values: Any) -> bool:
        """Update the row while ``upload``'s claim is still the current one; False once another took it."""
        key = and_(
            _U.c.upload_id == upload.upload_id,
            _U.c.attempts == upload.attempts,
            _U.c.status == UploadStatus.running.value,
        )
        with self.db.write() as conn:
            return bool(conn.execute(update(_U).where(key).values(**values)).rowcount)

    def renew(self, upload: Upload, now: int) -> bool:
        """Extend the claim's lease; False when the claim was lost (another process took the upload)."""
        return self._owned(upload, claimed_at=now)

    def finish(self, upload: Upload, now: int, result: dict[str, Any]) -> bool:
        return self._owned(upload, status=UploadStatus.done.value, finished_at=now, result=result)

    def fail(self, upload: Upload, now: int, error: str) -> bool:
        return self._owned(upload, status=UploadStatus.failed.value, finished_at=now, error=error[:_ERROR_CHARS])

    def prune(self, finished_before: int) -> int:
        """Forget uploads that finished before ``finished_before``: their status has been read by then."""
        old = and_(_U.c.status.in_(_FINISHED), _U.c.finished_at < finished_before)
        with self.db.write() as conn:
            return int(conn.execute(delete(_U).where(old)).rowcount)
