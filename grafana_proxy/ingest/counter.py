"""How many events a process has accepted, kept next to its spool in an ``accepted`` count file.

Each process that accepts events (every api worker, every gateway) writes into its own inbox under the
shared ``spool_dir``, with a count file beside it; the ingest role's spool keeps the total of the inboxes
it has folded and removed. Adding the files up lets any api process's ``/metrics`` report what every
process accepted, and keeps the total across restarts, so ``grafana_proxy_ingest_events_accepted_total``
only ever grows."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
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


def accepted_in(spool_root: Path, live: Mapping[Path, int] | None = None) -> int:
    """Every count under ``spool_root``: the spools (the ingest role's, earlier gateways') and the inboxes
    of the processes that accept events. ``live`` gives fresher in-memory counts for some directories."""
    from grafana_proxy.ingest.inbox import INBOX  # imported here: the inbox keeps its count with this module

    live = live or {}
    directories: list[Path] = []
    for parent in (spool_root, spool_root / INBOX):
        try:
            directories += [entry for entry in parent.iterdir() if entry.is_dir() and entry.name != INBOX]
        except OSError:
            continue
    return sum(max(read_count(d / COUNT_FILE), live.get(d, 0)) for d in directories)
