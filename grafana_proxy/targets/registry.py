"""Finds targets. Built-ins are the modules of ``grafana_proxy.targets.builtin``; extensions are
modules named by the ``grafana_proxy.targets`` entry-point group. Both register the same way: a
module exposes ``TARGETS``, a sequence of :class:`Target`. Adding a target = adding a module."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points
from types import ModuleType

from grafana_proxy.targets import builtin
from grafana_proxy.targets.base import Target, TargetError

ENTRY_POINT_GROUP = "grafana_proxy.targets"


class TargetRegistry:
    def __init__(self, targets: Iterable[Target] = ()) -> None:
        self._targets: dict[str, Target] = {}
        for target in targets:
            self.register(target)

    def register(self, target: Target) -> None:
        if target.name in self._targets:
            raise ValueError(f"target {target.name!r} is registered twice")
        self._targets[target.name] = target

    def register_module(self, module: ModuleType) -> None:
        for target in getattr(module, "TARGETS", ()):
            self.register(target)

    def __iter__(self) -> Iterator[Target]:
        return iter(sorted(self._targets.values(), key=lambda t: t.name))

    def names(self, kind: str) -> list[str]:
        """Names of targets that support ``kind`` ("query", "search" or "annotations")."""
        return [t.name for t in self if getattr(t, kind) is not None]

    def get(self, name: str, kind: str) -> Target:
        target = self._targets.get(name)
        if target is None or getattr(target, kind) is None:
            supported = ", ".join(self.names(kind))
            raise TargetError(f"target_endpoint {name!r} is not supported for {kind}; supported values: {supported}")
        return target


def _builtin_modules() -> Iterator[ModuleType]:
    for info in pkgutil.iter_modules(builtin.__path__):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"{builtin.__name__}.{info.name}")


def load_registry() -> TargetRegistry:
    """Built-ins first, then every installed extension."""
    registry = TargetRegistry()
    for module in _builtin_modules():
        registry.register_module(module)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        registry.register_module(entry.load())
    return registry
