"""Small JSON status files a role writes for the others: the ingest role's backlog, read by the api
role's ``/metrics`` at scrape time. One file per role under ``<spool_dir>/status/``, replaced
atomically, so a reader sees the previous or the next version, never half of one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson


def status_path(spool_dir: Path, role: str) -> Path:
    return spool_dir / "status" / f"{role}.json"


def write_status(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_bytes(orjson.dumps(data))
    os.replace(tmp, path)


def read_status(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = orjson.loads(path.read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None
    return data
