"""How many events a spool has accepted, kept next to it in ``<spool_dir>/<name>/accepted``.

Each process that accepts events (``serve``'s events API, every gateway) has its own spool directory under
the shared ``spool_dir``. Writing the running total there lets ``serve``'s ``/metrics`` add up what every
process accepted, gateways in other processes included, and keeps the total across restarts, so
``grafana_proxy_ingest_events_accepted_total`` only ever grows."""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)
COUNT_FILE = "accepted"


def read_count(path: Path) -> int:
    """The number in a count file; 0 when it is missing or unreadable (a process that never accepted)."""
    try:
        return max(0, int(path.read_text(encoding="ascii").strip() or 0))
    except (OSError, ValueError):
        return 0


class AcceptedCount:
    """The count file of one spool directory. ``base`` is what earlier runs accepted; ``save(total)``
    replaces the file atomically when the total changed (no fsync: after a crash the count may lag by
    the last fraction of a second, while the events themselves are safe in the spool)."""

    def __init__(self, spool_dir: Path) -> None:
        self._path = spool_dir / COUNT_FILE
        self.base = read_count(self._path)
        self._saved = self.base

    def save(self, total: int) -> None:
        """Best effort: a full or read-only disk must never stop the fold (or a shutdown) for a metric;
        the next save tries again."""
        if total == self._saved:
            return
        tmp = self._path.with_suffix(".tmp")
        try:
            tmp.write_text(str(total), encoding="ascii")
            os.replace(tmp, self._path)
        except OSError as error:
            log.debug("could not save the accepted-events count in %s: %s", self._path, error)
            return
        self._saved = total


def accepted_elsewhere(spool_root: Path, own: str) -> int:
    """The totals of every other spool directory under ``spool_root`` (gateways, earlier process names)."""
    try:
        entries = list(spool_root.iterdir())
    except OSError:
        return 0
    return sum(read_count(entry / COUNT_FILE) for entry in entries if entry.name != own and entry.is_dir())
