"""From one request target to a target's answer: parse the target string (and simPod payload), pick
the target from the registry, check its keys, resolve the time range and resolution, run it.

Shared by every wire format; the formats differ only in how they read bodies and encode frames."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends

from grafana_proxy.auth import Principal, PrincipalDep
from grafana_proxy.deps import RuntimeDep
from grafana_proxy.model import TimeRange
from grafana_proxy.protocol.timerange import resolve_range, resolve_step
from grafana_proxy.runtime import Runtime
from grafana_proxy.targets.base import Annotation, Choice, Frame, QueryContext, Target
from grafana_proxy.targets.params import (
    check_keys,
    merge_payload,
    parse_target,
    require_target_endpoint,
)
from grafana_proxy.targets.registry import TargetRegistry

# (kind, target name, seconds, error or None): how long each target took, for /metrics. The protocol
# stays free of prometheus_client: the runtime's metrics are passed in as this callable.
TargetObserver = Callable[[str, str, float, BaseException | None], None]
_T = TypeVar("_T")


@dataclass(frozen=True)
class RequestScope:
    """What every target of one request shares."""

    runtime: Runtime
    principal: Principal
    range_sources: Sequence[tuple[str, Mapping[str, Any] | None]] = ()
    interval_ms: float | None = None
    max_data_points: int | None = None
    filters: Sequence[Mapping[str, Any]] = ()
    extra_params: Mapping[str, str] | None = None  # e.g. /rows query parameters
    observer: TargetObserver | None = None

    @property
    def registry(self) -> TargetRegistry:
        return self.runtime.targets


def target_params(text: str | None, payload: Mapping[str, Any] | None) -> dict[str, str]:
    """Parameters of one target. simPod's builder mode sends the bare target name as ``target`` and
    the parameters as ``payload``; that form is accepted only when a payload is present."""
    text = (text or "").strip()
    if payload is not None and text and "=" not in text and ";" not in text:
        params = {"target_endpoint": text}
    else:
        params = parse_target(text)
    return merge_payload(params, payload)


def _context(scope: RequestScope, params: dict[str, str], time_range: TimeRange | None = None) -> QueryContext:
    sources = [*scope.range_sources, ("target", params), ("query", scope.extra_params)]
    time_range = time_range or resolve_range(*sources)
    settings = scope.runtime.settings
    default_points = scope.max_data_points or settings.default_max_data_points
    step, points = resolve_step(time_range, scope.interval_ms, default_points, settings.max_points_per_series)
    return QueryContext(
        params=params,
        time_range=time_range,
        step_ms=step,
        max_points=points,
        stores=scope.runtime.stores,
        access=scope.principal.access,
        filters=scope.filters,
    )


def _resolve(scope: RequestScope, params: dict[str, str], kind: str) -> Target:
    name = require_target_endpoint(params)
    target = scope.registry.get(name, kind)
    check_keys(params, target.params, name)
    return target


def _observed(scope: RequestScope, kind: str, name: str, call: Callable[[], _T]) -> _T:
    """Run one resolved target, reporting its duration and outcome to the scope's observer."""
    if scope.observer is None:
        return call()
    started = time.perf_counter()
    error: BaseException | None = None
    try:
        return call()
    except BaseException as exc:
        error = exc
        raise
    finally:
        scope.observer(kind, name, time.perf_counter() - started, error)


def run_query(scope: RequestScope, params: dict[str, str]) -> list[Frame]:
    target = _resolve(scope, params, "query")
    assert target.query is not None
    query = target.query
    return _observed(scope, "query", target.name, lambda: query(_context(scope, params)))


def run_search(scope: RequestScope, params: dict[str, str]) -> list[str]:
    target = _resolve(scope, params, "search")
    assert target.search is not None
    search = target.search
    return _observed(scope, "search", target.name, lambda: search(_context(scope, params)))


def run_choices(scope: RequestScope, params: dict[str, str]) -> list[Choice]:
    """A search as variable options: the target's own texts when it names its values, else text = value."""
    target = _resolve(scope, params, "search")
    choices = target.choices
    if choices is None:
        return [Choice(value, value) for value in run_search(scope, params)]
    return _observed(scope, "search", target.name, lambda: choices(_context(scope, params)))


def run_annotations(scope: RequestScope, params: dict[str, str]) -> list[Annotation]:
    params = {"target_endpoint": "detections", **params}
    target = _resolve(scope, params, "annotations")
    assert target.annotations is not None
    annotations = target.annotations
    return _observed(scope, "annotations", target.name, lambda: annotations(_context(scope, params)))


async def base_scope(runtime: RuntimeDep, principal: PrincipalDep) -> RequestScope:
    """The request-independent part of a scope; routes add the body's range and resolution. Async: no
    thread-pool hop for what only reads attributes."""
    return RequestScope(runtime=runtime, principal=principal, observer=runtime.metrics.observe_target)


ScopeDep = Annotated[RequestScope, Depends(base_scope)]
