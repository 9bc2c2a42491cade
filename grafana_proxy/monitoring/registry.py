"""Finding monitoring applications. Built-ins and user applications are loaded the same way, by
reference "package.module:Class" (or "package.module.Class"), from three sources in order:

1. ``BUILTINS`` (this package's own applications),
2. entry points of the group ``grafana_proxy.applications`` (installed packages; name = app name),
3. ``monitoring_application_paths`` in settings.

A later source may replace an application of the same name (a user's ``histogram-data-drift`` wins over
the built-in); the replacement is logged."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points

from grafana_proxy.monitoring.applications import MonitoringApplication

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "grafana_proxy.applications"
BUILTINS: tuple[str, ...] = (
    "grafana_proxy.apps.histogram_data_drift:HistogramDataDrift",
    "grafana_proxy.apps.system_performance:SystemPerformance",
    "grafana_proxy.apps.model_performance:ModelPerformance",
    "grafana_proxy.apps.data_quality:DataQuality",
    "grafana_proxy.apps.outliers:Outliers",
    "grafana_proxy.apps.evidently_data_drift:EvidentlyDataDrift",
)


def load_application(path: str) -> type[MonitoringApplication]:
    """The application class at ``path``; ValueError naming the path when it is not one."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise ValueError(f"application {path!r}: expected 'package.module:Class'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"application {path!r}: cannot import {module_name!r} ({error})") from error
    found = getattr(module, attr, None)
    if not (isinstance(found, type) and issubclass(found, MonitoringApplication)):
        raise ValueError(f"application {path!r}: not a MonitoringApplication subclass")
    if not isinstance(getattr(found, "name", None), str) or not found.name:
        raise ValueError(f"application {path!r}: class attribute 'name' must be a non-empty string")
    return found


@dataclass(frozen=True)
class Registry:
    classes: dict[str, type[MonitoringApplication]]

    def names(self) -> list[str]:
        return sorted(self.classes)

    def create(self, enabled: Sequence[str]) -> list[MonitoringApplication]:
        """One instance of each enabled application, in the given order; unknown names are an error."""
        unknown = [name for name in enabled if name not in self.classes]
        if unknown:
            raise ValueError(
                f"unknown monitoring application(s) {', '.join(unknown)}; known: {', '.join(self.names())}"
            )
        return [self.classes[name]() for name in enabled]


def _entry_point_paths() -> list[str]:
    return [ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)]


def discover(paths: Iterable[str] = (), include_entry_points: bool = True) -> Registry:
    classes: dict[str, type[MonitoringApplication]] = {}
    sources = [*BUILTINS, *(_entry_point_paths() if include_entry_points else []), *paths]
    for path in sources:
        cls = load_application(path)
        previous = classes.get(cls.name)
        if previous is not None and previous is not cls:
            log.warning(
                "monitoring application %r from %s replaces %s.%s",
                cls.name,
                path,
                previous.__module__,
                previous.__qualname__,
            )
        classes[cls.name] = cls
    return Registry(classes)
