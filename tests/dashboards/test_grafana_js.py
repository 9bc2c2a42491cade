"""Grafana's own data code on our answers: a real server on the seeded demo data, then Node replays every
variable, panel and annotation query of both committed dashboard flavours and every alert rule query
the way the plugin sends it, turns the answers into frames with @grafana/data (four Grafana lines) or
Infinity's backend parser rules, and checks what each panel type needs (tests/grafana_js/replay.js).

The Node packages come from tests/grafana_js/package-lock.json (``npm ci``, run by scripts/test)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from grafana_proxy.app import create_app
from grafana_proxy.archive.artifacts import ArtifactKeeper
from grafana_proxy.dashboards import alerts
from grafana_proxy.demo.setup import prepare_demo
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from grafana_proxy.stores.engine import close_stores, open_stores
from tests.servers import serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "tests" / "grafana_js"
DASHBOARDS = sorted((ROOT / "dashboards").glob("*/provisioning/*.json"))
RULES = ROOT / "provisioning" / "alerting" / "grafana-proxy.yaml"
# Two seeded projects as `grafana-proxy demo` makes them, one day of history to keep the run short.
DEMO_PROJECTS = (("fraud-demo", 6), ("retail-demo", 3))


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    settings = Settings(db_url=None, data_dir=Path(tmp_path_factory.mktemp("grafana-js")) / "data")
    stores = open_stores(settings)
    try:
        info = prepare_demo(stores, "127.0.0.1", 0, demo_projects=DEMO_PROJECTS, days=1.0)
        _keep_a_report_per_endpoint(settings, stores)
        with serve_in_thread(create_app(Runtime.build(settings, stores))) as url:
            yield url, info.key
    finally:
        close_stores(stores)


def _keep_a_report_per_endpoint(settings: Settings, stores: Stores) -> None:
    """One HTML report per endpoint, kept as a monitoring application keeps it (artifact storage and its
    row), so the Details dashboard's Reports table has rows to draw for every endpoint choice."""
    keeper = ArtifactKeeper(settings.archive_location, stores.artifacts)
    for project in stores.endpoints.projects():
        for record in stores.endpoints.records(project):
            end = record.last_request or 0
            html = f"<html><body><h1>{record.name}</h1></body></html>".encode()
            keeper.save(project, record.uid, "report-app", end - 600_000, end, "report.html", html, "text/html")


def alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in doc["groups"] for rule in group["rules"]]


def replay(
    url: str, key: str, tmp_path: Path, dashboards: list[Path], rules: list[dict[str, Any]], plugin: str = ""
) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "Node.js (20+) is needed for the Grafana data-library tests: install it and run scripts/test"
    assert (JS / "node_modules").is_dir(), "run `npm ci` in tests/grafana_js (scripts/test does it)"
    config = tmp_path / "replay.json"
    config.write_text(
        json.dumps(
            {"url": url, "key": key, "dashboards": [str(p) for p in dashboards], "rules": rules, "plugin": plugin}
        )
    )
    done = subprocess.run([node, "replay.js", str(config)], cwd=JS, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout)
    return report


# (dashboard flavour, plugin sending its queries): simPod replays the SimpleJSON dashboards' targets.
PLUGINS = [("simplejson", "simplejson"), ("simplejson", "simpod"), ("infinity", "infinity")]


@pytest.mark.parametrize(("flavour", "plugin"), PLUGINS)
def test_every_query_of_the_dashboards_makes_frames_the_panel_can_draw(
    demo_server: tuple[str, str], tmp_path: Path, flavour: str, plugin: str
) -> None:
    url, key = demo_server
    files = [p for p in DASHBOARDS if p.parts[-3] == flavour]
    assert len(files) == 4
    report = replay(url, key, tmp_path, files, [], plugin)
    assert len(report["libraries"]) == 4, report["libraries"]
    failures = "\n".join(f"{f['where']}: {f['problem']}" for f in report["failures"])
    assert not report["failures"], f"{len(report['failures'])} of {report['checks']} checks failed:\n{failures}"
    assert report["checks"] > 100


def test_every_alert_rule_query_gives_uniquely_labelled_numbers(demo_server: tuple[str, str], tmp_path: Path) -> None:
    url, key = demo_server
    # Every series names its endpoint and project (the rules cover every project).
    rules = [{**rule, "requiredLabels": list(alerts.LABELS)} for rule in alert_rules()]
    assert rules
    report = replay(url, key, tmp_path, [], rules)
    failures = "\n".join(f"{f['where']}: {f['problem']}" for f in report["failures"])
    assert not report["failures"], f"{len(report['failures'])} of {report['checks']} checks failed:\n{failures}"
    # Every rule watches every endpoint of every project, and the demo's drift makes the drift rule fire.
    projects = {name for name, _ in DEMO_PROJECTS}
    for rule in rules:
        watched = report["series"][rule["uid"]]
        assert {labels["project"] for labels in watched} == projects, rule["uid"]
    assert report["firing"]["gp-drift-all"], "no endpoint of the demo data fires the drift rule"
