"""Builds the committed files: four dashboards x two flavours x two variants (importable with
``__inputs``, provisioning-ready with the concrete datasource uid), plus the alerting provisioning
file. ``build_files`` returns path -> text so the CLI can write or compare them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from grafana_proxy.dashboards import alerts, applications, details, overview, performance
from grafana_proxy.dashboards.names import (
    ALL_DASHBOARDS,
    DATASOURCES,
    DS_INPUT,
    FLAVOURS,
    DashboardId,
    FlavourName,
)
from grafana_proxy.dashboards.query import Flavour

Json = dict[str, Any]
Variant = Literal["provisioning", "import"]
VARIANTS: tuple[Variant, ...] = ("provisioning", "import")
BUILDERS: dict[str, Callable[[Flavour], Json]] = {
    "overview": overview.build,
    "details": details.build,
    "performance": performance.build,
    "applications": applications.build,
}
MIN_GRAFANA = {"simplejson": "10.4.0", "infinity": "11.6.0"}
ALERTING_FILE = "provisioning/alerting/grafana-proxy.yaml"


def flavour(name: FlavourName, variant: Variant) -> Flavour:
    uid = DATASOURCES[name].uid if variant == "provisioning" else "${" + DS_INPUT + "}"
    return Flavour(name, uid)


def build_dashboard(ident: DashboardId, name: FlavourName, variant: Variant) -> Json:
    key = ident.slug.removeprefix("model-monitoring-")
    board = BUILDERS[key](flavour(name, variant))
    if variant == "provisioning":
        return board
    ds = DATASOURCES[name]
    panel_types = sorted({p["type"] for p in board["panels"]})
    head: Json = {
        "__inputs": [
            {
                "name": DS_INPUT,
                "label": "Model monitoring datasource",
                "description": f"The grafana-proxy datasource ({ds.plugin_name} plugin)",
                "type": "datasource",
                "pluginId": ds.plugin_id,
                "pluginName": ds.plugin_name,
            }
        ],
        "__elements": {},
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": MIN_GRAFANA[name]},
            {"type": "datasource", "id": ds.plugin_id, "name": ds.plugin_name, "version": ds.plugin_version},
            *({"type": "panel", "id": t, "name": t, "version": ""} for t in panel_types),
        ],
        "id": None,
    }
    return {**head, **board}


def dashboard_path(name: FlavourName, variant: Variant, ident: DashboardId) -> str:
    return f"dashboards/{name}/{variant}/{ident.slug}.json"


def build_files() -> dict[str, str]:
    files: dict[str, str] = {}
    for name in FLAVOURS:
        for variant in VARIANTS:
            for ident in ALL_DASHBOARDS:
                text = json.dumps(build_dashboard(ident, name, variant), indent=2, ensure_ascii=False)
                files[dashboard_path(name, variant, ident)] = text + "\n"
    files[ALERTING_FILE] = alerts.provisioning_yaml()
    return files


def write_files(root: Path) -> list[str]:
    """Write every built file under ``root``; return the paths that changed."""
    changed = []
    for rel, text in build_files().items():
        path = root / rel
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(rel)
    return changed


def stale_files(root: Path) -> list[str]:
    """Paths under ``root`` that are missing or differ from what the build produces."""
    stale = []
    for rel, text in build_files().items():
        path = root / rel
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(rel)
    return stale
