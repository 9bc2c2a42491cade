"""What an application returned for one window: checked (what the stores would refuse becomes the
application's error) and stored as results, metric points, artifacts and endpoint record updates."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from grafana_proxy.archive.artifacts import check_artifact
from grafana_proxy.model import SeriesKind
from grafana_proxy.monitoring.applications import ArtifactValue, EndpointUpdate, MetricValue, Output, ResultValue
from grafana_proxy.stores.base import Stores

if TYPE_CHECKING:
    from grafana_proxy.archive.artifacts import ArtifactKeeper


def checked(outputs: Sequence[Output]) -> list[Output]:
    """Refuse what the stores cannot hold, so it is reported as the application's error."""
    kept: list[Output] = []
    for o in outputs:
        if isinstance(o, ResultValue | MetricValue):
            if not isinstance(o.value, int | float) or not math.isfinite(o.value):
                raise ValueError(f"{type(o).__name__} {o.name!r} has a non-finite value {o.value!r}")
        elif isinstance(o, ArtifactValue):
            if not isinstance(o.content, bytes):
                raise TypeError(f"artifact {o.name!r}: content must be bytes, got {type(o.content).__name__}")
            check_artifact(o.name, o.content_type, len(o.content))
        elif not isinstance(o, EndpointUpdate):
            raise TypeError(
                f"do_tracking returned {type(o).__name__}; expected ResultValue, MetricValue, EndpointUpdate "
                "or ArtifactValue"
            )
        kept.append(o)
    return kept


def write_outputs(
    stores: Stores,
    artifacts: ArtifactKeeper | None,
    project: str,
    app: str,
    uid: str,
    start: int,
    end: int,
    outputs: Sequence[Output],
) -> tuple[int, int, int]:
    """Store an application's outputs for one window; returns how many results, points and artifacts it
    wrote. Every write replaces or ignores the same key, so a window written again changes nothing."""
    results = [o.to_app_result(uid, app, start, end) for o in outputs if isinstance(o, ResultValue)]
    points = [o.to_point(end) for o in outputs if isinstance(o, MetricValue)]
    files = [o for o in outputs if isinstance(o, ArtifactValue)]
    if files and artifacts is None:
        raise ValueError("this controller has no artifact storage; ArtifactValue outputs cannot be kept")
    updates: dict[str, Any] = {}
    for o in outputs:
        if isinstance(o, EndpointUpdate):
            updates.update(o.fields)
    if updates:
        stores.endpoints.upsert(project, uid, updates)
    if points:
        stores.series.write(project, uid, SeriesKind.metric, points)
    for f in files:  # before the results, so a result never announces an artifact that is not there
        assert artifacts is not None
        artifacts.save(project, uid, app, start, end, f.name, f.content, f.content_type)
    if results:
        stores.results.write(project, results)
    return len(results), len(points), len(files)
