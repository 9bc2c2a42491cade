"""Small status files a role writes for the others, under ``<spool_dir>/status/``: the ingest role's
backlog (JSON) and the controller's metrics (Prometheus text), read by the api role's ``/metrics`` at
scrape time, and the supervisor's roles (JSON). Each is replaced atomically, so a reader sees the
previous or the next version, never half of one."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger(__name__)


def status_path(spool_dir: Path, role: str, suffix: str = ".json") -> Path:
    return spool_dir / "status" / f"{role}{suffix}"


def write_bytes(path: Path, data: bytes) -> None:
    """Best effort: a status file is a report, so a full or read-only disk skips it (the next write
    retries) instead of stopping the role that writes it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as error:
        log.debug("status file %s not written: %s", path, error.strerror)
        tmp.unlink(missing_ok=True)


def read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def write_status(path: Path, data: dict[str, Any]) -> None:
    write_bytes(path, orjson.dumps(data))


def read_status(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = orjson.loads(path.read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None
    return data


# A stream-ingest worker's file older than this belongs to a process that is gone (killed, machine lost).
STALE_WORKER_SECONDS = 30.0


def read_ingest_status(spool_dir: Path) -> dict[str, int]:
    """The ingest role's report: the spool fold's ``ingest.json``, plus one ``ingest-<worker>.json`` per
    stream-ingest process. Dead-lettered counts add up; the backlog is the stream consumer's (the same
    number in every worker's file: the largest recent one is the freshest)."""
    folded = read_status(status_path(spool_dir, "ingest")) or {}
    backlog = int(folded.get("backlog_records", 0))
    dead = int(folded.get("dead_lettered_total", 0))
    directory = status_path(spool_dir, "ingest").parent
    now = time.time()
    for path in sorted(directory.glob("ingest-*.json")) if directory.is_dir() else []:
        worker = read_status(path)
        if worker is None or now - float(worker.get("written_at", 0)) > STALE_WORKER_SECONDS:
            continue
        backlog = max(backlog, int(worker.get("backlog_records", 0)))
        dead += int(worker.get("dead_lettered_total", 0))
    return {"backlog_records": backlog, "dead_lettered_total": dead}
