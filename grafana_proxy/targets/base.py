"""What a target is: a named function over the stores that answers a search (a list of strings) and/or
a query (tables and series). A target knows nothing about HTTP or Grafana's wire formats; the
protocol modules turn its frames into SimpleJSON, simPod or Infinity answers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from grafana_proxy.identifiers import problem
from grafana_proxy.model import TimeRange
from grafana_proxy.stores.base import Stores

ColumnType = Literal["string", "number", "time"]
Cell = str | int | float | bool | None


@dataclass(frozen=True)
class Column:
    text: str
    type: ColumnType


@dataclass(frozen=True)
class Table:
    """A table frame: every row has exactly ``len(columns)`` cells; times are epoch ms."""

    columns: Sequence[Column]
    rows: Sequence[Sequence[Cell]]


@dataclass(frozen=True)
class Series:
    """A time series frame: ``times`` ascending epoch ms; ``labels`` name what the series is about
    (endpoint, metric, ...) so flat (Infinity) answers can carry them as columns."""

    name: str
    times: Sequence[int]
    values: Sequence[float | None]
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Annotation:
    time: int
    time_end: int | None
    title: str
    text: str
    tags: Sequence[str]


Frame = Table | Series


@dataclass(frozen=True)
class Choice:
    """A variable option: what the drop-down shows (``text``) and what the dashboard uses (``value``)."""

    text: str
    value: str


class TargetError(Exception):
    """Bad input to a target: the protocol answers ``status`` with this message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ProjectAccess(Protocol):
    """Which projects the caller may read; ``grafana_proxy.auth.Access`` is the one the service passes."""

    def allows(self, project: str) -> bool: ...

    def visible(self, projects: Sequence[str]) -> list[str]:
        """``projects`` the caller may read, in order."""


@dataclass(frozen=True)
class QueryContext:
    """Everything a target needs for one request target.

    ``params`` are the parsed ``key=value`` pairs (target string merged with simPod's payload),
    ``step_ms`` the bucket size honouring intervalMs and maxDataPoints, ``max_points`` the cap."""

    params: Mapping[str, str]
    time_range: TimeRange
    step_ms: int
    max_points: int
    stores: Stores
    access: ProjectAccess
    filters: Sequence[Mapping[str, Any]] = ()

    def param(self, key: str, default: str | None = None) -> str | None:
        value = self.params.get(key)
        return value if value not in (None, "") else default

    def require(self, key: str) -> str:
        value = self.param(key)
        if value is None:
            raise TargetError(f"target {self.params.get('target_endpoint')!r} needs the parameter {key!r}")
        return value

    def project(self) -> str:
        """The ``project`` parameter, checked against the caller's access."""
        project = self.require("project")
        reason = problem("project", project)
        if reason is not None:
            raise TargetError(f"parameter 'project': {reason}")
        if not self.access.allows(project):
            raise TargetError(f"this access key may not read project {project!r}", status=403)
        return project


QueryFn = Callable[[QueryContext], list[Frame]]
SearchFn = Callable[[QueryContext], list[str]]
AnnotationFn = Callable[[QueryContext], list[Annotation]]
ChoicesFn = Callable[[QueryContext], list[Choice]]


@dataclass(frozen=True)
class Target:
    """A target registered under ``name``. ``params`` lists the keys it understands besides
    ``target_endpoint``; any other key is a 400 naming the supported ones."""

    name: str
    description: str
    params: tuple[str, ...]
    query: QueryFn | None = None
    search: SearchFn | None = None
    annotations: AnnotationFn | None = None
    # A search whose values read badly (uids) may also name each value for variable drop-downs.
    choices: ChoicesFn | None = None
