"""Start-up check that the directories the service writes to are usable, so a read-only or full disk
is one clear line naming the directory and the fix instead of a traceback from deep inside the first
write (SQLite, the event spool, the archive)."""

from __future__ import annotations

import os
from pathlib import Path

from grafana_proxy.settings import Settings


class DataDirUnusable(ValueError):
    """A directory the service must write to cannot be written."""


def check_writable(directory: Path, setting: str) -> None:
    """Create ``directory`` if needed and write, fsync and delete a small probe file in it."""
    probe = directory / f".grafana-proxy-write-check-{os.getpid()}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as f:
            f.write(b"ok")
            f.flush()
            os.fsync(f.fileno())
        probe.unlink()
    except OSError as error:
        raise DataDirUnusable(
            f"cannot write to {directory} ({error.strerror or type(error).__name__}): free space on that disk, "
            f"mount it read-write or fix its owner, or point {setting} at a writable directory"
        ) from None


def check_data_dirs(settings: Settings) -> None:
    """The data dir, the spool dir and a local archive dir must be writable before serving."""
    data_dir = "GRAFANA_PROXY_DATA_DIR"
    check_writable(Path(settings.data_dir), data_dir)
    check_writable(settings.spool_path, f"GRAFANA_PROXY_SPOOL_DIR (default: <data dir>/spool) or {data_dir}")
    if "://" not in settings.archive_location:
        check_writable(
            Path(settings.archive_location), f"GRAFANA_PROXY_ARCHIVE_URL (default: <data dir>/archive) or {data_dir}"
        )
