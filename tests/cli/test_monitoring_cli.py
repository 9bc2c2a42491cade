"""``grafana-proxy monitoring`` through the real typer app and the embedded database."""

from __future__ import annotations

import json

from grafana_proxy.settings import Settings
from tests.cli.conftest import Invoke

SAMPLE = "tests.monitoring.sample_apps"


def test_enable_apps_show_disable(invoke: Invoke) -> None:
    shown = json.loads(invoke("monitoring", "show", "-p", "shop", "--json").output)
    assert shown["configured"] is False and shown["base_period_minutes"] == 10
    assert "every 3 min" in invoke("monitoring", "enable", "-p", "shop", "--base-period", "3").output
    invoke(
        "monitoring", "apps", "set", "strict", "-p", "shop", "-a", "histogram-data-drift",
        "--param", "drift_potential=0.2", "--param", "drift_detected=0.4", "-e", "ep1", "-e", "ep2",
    )  # fmt: skip
    invoke("monitoring", "apps", "set", "rows", "-p", "shop", "-a", f"{SAMPLE}:RowCount")
    listed = {a["name"]: a for a in json.loads(invoke("monitoring", "apps", "list", "-p", "shop", "--json").output)}
    assert listed["strict"]["params"] == {"drift_potential": 0.2, "drift_detected": 0.4}
    assert listed["strict"]["endpoints"] == ["ep1", "ep2"] and listed["rows"]["endpoints"] is None
    assert "histogram-data-drift" in listed  # enabling started from the global list
    invoke("monitoring", "apps", "remove", "histogram-data-drift", "-p", "shop")
    invoke("monitoring", "disable", "-p", "shop")
    shown = json.loads(invoke("monitoring", "show", "-p", "shop", "--json").output)
    assert shown["enabled"] is False and shown["base_period_minutes"] == 3
    kept = [name for name in Settings.model_fields["monitoring_applications"].default if name != "histogram-data-drift"]
    assert sorted(a["name"] for a in shown["applications"]) == sorted([*kept, "rows", "strict"])


def test_errors_are_one_line_naming_the_fix(invoke: Invoke) -> None:
    cases = [
        (("monitoring", "enable", "-p", "shop", "--base-period", "0.5"), "--base-period must be at least 1"),
        (("monitoring", "apps", "set", "x", "-p", "shop", "-a", "nope"), "unknown application 'nope'"),
        (("monitoring", "apps", "set", "x", "-p", "shop", "-a", "missing.module:App"), "cannot import"),
        (
            ("monitoring", "apps", "set", "x", "-p", "shop", "-a", "histogram-data-drift", "--param", "drift_x=1"),
            "unknown parameter 'drift_x'",
        ),
        (("monitoring", "apps", "set", "x", "-p", "shop", "--params", "[1]"), "must be a JSON object"),
        (("monitoring", "apps", "remove", "ghost", "-p", "shop"), "is not set on project"),
    ]
    for args, message in cases:
        result = invoke(*args, ok=False)
        assert result.exit_code == 1, args
        assert message in result.output and "Traceback" not in result.output, (args, result.output)
