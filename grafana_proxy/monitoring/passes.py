"""What one controller pass did (``PassSummary``, per application ``AppTally``) and where per-application
status and pending batches live (``StatusSink``, implemented by ``SqlMonitoringStore``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from grafana_proxy.model import Batch


@dataclass
class PassSummary:
    windows: int = 0  # (application, endpoint, window) triples analysed or skipped as empty
    empty: int = 0
    results: int = 0
    points: int = 0
    artifacts: int = 0
    failures: list[str] = field(default_factory=list)  # "<app> <endpoint> <window end>: <error>"
    applications: dict[tuple[str, str], AppTally] = field(default_factory=dict)  # (project, app name)
    batches: int = 0  # batches analysed
    # "Now" for the pass's windows, as far as the ingest had archived (None: unknown, no window analysed).
    ready_until: int | None = None

    def tally(self, project: str, name: str) -> AppTally:
        return self.applications.setdefault((project, name), AppTally())


@dataclass
class AppTally:
    """One application's share of a pass in one project (kept as its status)."""

    windows: int = 0
    results: int = 0
    errors: int = 0
    last_window_end: int | None = None
    last_error: str | None = None


class StatusSink(Protocol):
    """Where per-application progress and pending batches live (``SqlMonitoringStore``)."""

    def record_run(
        self,
        project: str,
        name: str,
        ran_at: int,
        windows: int,
        results: int,
        errors: int,
        last_window_end: int | None,
        last_error: str | None,
    ) -> None: ...

    def batches(self, project: str, endpoint_uid: str | None = None, pending_only: bool = False) -> list[Batch]: ...

    def batch(self, project: str, batch_id: str) -> Batch | None: ...

    def mark_analysed(self, project: str, batch_id: str, when: int) -> None: ...

    def pending_batches(self) -> list[int]:
        """Submission times of the batches not analysed yet, every project."""
