"""The per-application cost benchmark runs alone (``python -m benchmarks.apps_cost``) and measures every
application, Evidently and its report's write included. Times are not asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.apps_cost import APPLICATIONS


def test_apps_cost_runs_alone_and_reports_every_application(tmp_path: Path) -> None:
    out = tmp_path / "apps.json"
    args = ["--rows", "2000", "--features", "5", "--repeat", "1", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.apps_cost", *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert (result["rows"], result["features"]) == (2000, 5)
    assert tuple(result["applications"]) == APPLICATIONS
    assert all(figures["outputs"] > 0 for figures in result["applications"].values())
    assert result["artifact"]["bytes"] > 100_000
