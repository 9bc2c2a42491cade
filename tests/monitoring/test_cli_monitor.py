"""``reference set`` and ``controller --once`` through typer, on a real SQLite data dir and archive."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from grafana_proxy.cli import monitor
from grafana_proxy.settings import Settings
from grafana_proxy.stores.engine import close_stores, open_stores
from tests.monitoring.conftest import PERIOD, T0, event_row, write_archive


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setenv("GRAFANA_PROXY_DATA_DIR", str(tmp_path / "data"))
    app = typer.Typer()
    app.command()(monitor.controller)
    app.add_typer(monitor.reference_app, name="reference")
    return app


def test_reference_set_then_controller_once(cli: typer.Typer, tmp_path: Path) -> None:
    train = pd.DataFrame({"x": np.linspace(0, 10, 200), "label": [0, 1] * 100})
    train.to_csv(tmp_path / "train.csv", index=False)
    runner = CliRunner()
    done = runner.invoke(
        cli,
        [
            "reference",
            "set",
            "--project",
            "p",
            "--endpoint",
            "ep",
            "--from-file",
            str(tmp_path / "train.csv"),
            "--exclude",
            "label",
            "--create",  # the endpoint is new: without it, `reference set` refuses (a typo must not create one)
        ],
    )
    assert done.exit_code == 0, done.output
    settings = Settings(data_dir=tmp_path / "data")
    stores = open_stores(settings)
    try:
        record = stores.endpoints.get("p", "ep")
        assert record is not None and list(record.feature_stats) == ["x"] and record.feature_names == ["x"]
        stores.endpoints.upsert("p", "ep", {"first_request": T0})
    finally:
        close_stores(stores)
    rows = [event_row(T0 + i * 1000, f"r{i}", {"x": 20.0}) for i in range(50)]
    write_archive(str((tmp_path / "data" / "archive").resolve()), "p", "ep", rows)
    ran = runner.invoke(cli, ["controller", "--once"])
    assert ran.exit_code == 0, ran.output
    assert "failures 0" in ran.output
    stores = open_stores(settings)
    try:
        record = stores.endpoints.get("p", "ep")
        assert record is not None and record.drift_status == 2
        assert stores.results.latest("p", ["ep"], "histogram-data-drift")[0].end_infer_time == T0 + PERIOD
    finally:
        close_stores(stores)


def test_reference_set_with_a_bad_file_is_a_clean_error(cli: typer.Typer, tmp_path: Path) -> None:
    (tmp_path / "train.txt").write_text("x\n1\n")
    result = CliRunner().invoke(
        cli, ["reference", "set", "--project", "p", "--endpoint", "e", "--from-file", str(tmp_path / "train.txt")]
    )
    assert result.exit_code == 1 and ".csv or .parquet" in result.output
