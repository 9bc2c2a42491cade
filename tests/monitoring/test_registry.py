"""Built-ins and user applications are found the same ways: built-in list, entry points, dotted paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from grafana_proxy.monitoring.registry import ENTRY_POINT_GROUP, discover, load_application
from grafana_proxy.vocabulary import BUILTIN_APPLICATIONS
from tests.monitoring.sample_apps import RowCount


def test_builtins_are_registered() -> None:
    registry = discover()
    assert set(BUILTIN_APPLICATIONS) <= set(registry.names())
    apps = registry.create(list(BUILTIN_APPLICATIONS))
    assert [a.name for a in apps] == list(BUILTIN_APPLICATIONS)


def test_user_application_by_dotted_path_in_either_spelling() -> None:
    assert load_application("tests.monitoring.sample_apps:RowCount") is RowCount
    assert load_application("tests.monitoring.sample_apps.RowCount") is RowCount
    registry = discover(["tests.monitoring.sample_apps:RowCount"])
    assert "row-count" in registry.names()
    assert [a.name for a in registry.create(["row-count", "histogram-data-drift"])] == [
        "row-count",
        "histogram-data-drift",
    ]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("tests.monitoring.sample_apps:NotAnApplication", "not a MonitoringApplication"),
        ("tests.monitoring.no_such_module:App", "cannot import"),
        ("tests.monitoring.sample_apps:Missing", "not a MonitoringApplication"),
        ("nodots", "expected 'package.module:Class'"),
    ],
)
def test_bad_paths_are_named_in_the_error(path: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        discover([path])


def test_enabling_an_unknown_application_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown monitoring application.*known: .*histogram-data-drift"):
        discover().create(["histogram-data-drift", "nope"])


def test_entry_point_of_an_installed_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real distribution on sys.path declaring the entry point group, as `pip install` would leave it."""
    (tmp_path / "acme_monitoring.py").write_text(
        "from grafana_proxy.monitoring.applications import MonitoringApplication\n"
        "class Acme(MonitoringApplication):\n"
        "    name = 'acme'\n"
        "    def do_tracking(self, context):\n"
        "        return []\n"
    )
    dist = tmp_path / "acme_monitoring-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-monitoring\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nacme = acme_monitoring:Acme\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "acme" in discover().names()
    assert "acme" not in discover(include_entry_points=False).names()
