"""The Evidently application base with the real evidently package: a drifting window gives the drifted
columns share as a result, Evidently's values as metrics and its HTML report as an artifact; without
reference rows the results are irrelevant; without a working Evidently, enabling it is refused with the
install command."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from grafana_proxy.apps.evidently_base import INSTALL, flatten
from grafana_proxy.apps.evidently_data_drift import EvidentlyDataDrift
from grafana_proxy.model import EndpointRecord, ResultKind, ResultStatus
from grafana_proxy.monitoring.applications import ApplicationContext, ArtifactValue, MetricValue, ResultValue, Window
from grafana_proxy.monitoring.stats import reference_stats

rng = np.random.default_rng(3)
TRAIN = pd.DataFrame({"a": rng.normal(0, 1, 3000), "b": rng.normal(5, 2, 3000), "c": rng.choice(["x", "y"], 3000)})


def context(events: pd.DataFrame, reference: pd.DataFrame | None) -> ApplicationContext:
    record = EndpointRecord(project="p", uid="ep", feature_stats=reference_stats(TRAIN), feature_names=["a", "b", "c"])
    return ApplicationContext("p", "evidently-data-drift", Window(events, record, lambda: reference), 0, 600_000, {})


def split(outputs: list[Any]) -> tuple[dict[str, ResultValue], dict[str, float], list[ArtifactValue]]:
    results = {o.name: o for o in outputs if isinstance(o, ResultValue)}
    metrics = {o.name: o.value for o in outputs if isinstance(o, MetricValue)}
    return results, metrics, [o for o in outputs if isinstance(o, ArtifactValue)]


def test_drifting_window_gives_result_metrics_and_html_report() -> None:
    drifted = pd.DataFrame(
        {"a": rng.normal(2, 1, 800), "b": rng.normal(9, 2, 800), "c": rng.choice(["x", "y"], 800, p=[0.5, 0.5])}
    )
    results, metrics, artifacts = split(EvidentlyDataDrift().do_tracking(context(drifted, TRAIN)))
    share = results["drifted_columns_share"]
    assert share.kind == ResultKind.data_drift
    assert share.value >= 2 / 3 and share.status == ResultStatus.detected
    assert metrics["evidently.DriftedColumnsCount.share"] == share.value
    assert metrics["evidently.DriftedColumnsCount.count"] >= 2
    assert {"evidently.ValueDrift.a", "evidently.ValueDrift.b", "evidently.ValueDrift.c"} <= set(metrics)
    (report,) = artifacts
    assert report.name == "evidently-report.html" and report.content_type.startswith("text/html")
    assert report.content.lstrip().lower().startswith(b"<!doctype html") and len(report.content) > 100_000


def test_a_window_like_the_training_data_does_not_drift() -> None:
    same = TRAIN.sample(800, random_state=5).reset_index(drop=True)
    results, _, _ = split(EvidentlyDataDrift().do_tracking(context(same, TRAIN)))
    assert results["drifted_columns_share"].status == ResultStatus.no_detection


def test_without_reference_rows_the_result_is_irrelevant_and_names_the_command() -> None:
    results, metrics, artifacts = split(EvidentlyDataDrift().do_tracking(context(TRAIN.head(50), None)))
    assert results["drifted_columns_share"].status == ResultStatus.irrelevant
    assert "reference set" in results["drifted_columns_share"].extra_data["reason"]
    assert metrics == {} and artifacts == []


def test_flatten_names_metrics_safely_for_the_target_grammar() -> None:
    entries = flatten(
        [
            {"config": {"type": "evidently:metric_v2:ValueDrift", "column": "a;b=c"}, "value": 0.5},
            {"config": {"type": "evidently:metric_v2:DriftedColumnsCount"}, "value": {"count": 2, "share": 0.5}},
            {"config": {"type": "evidently:metric_v2:Other"}, "value": "text"},
            # Evidently 0.7.15 names metrics only by id.
            {"metric_id": "ValueDrift(column=age,method=K-S p_value)", "value": 0.01},
            {"metric_id": "DriftedColumnsCount(drift_share=0.5)", "value": {"share": 0.25}},
        ]
    )
    assert [e.series_name for e in entries] == [
        "evidently.ValueDrift.a_b_c",
        "evidently.DriftedColumnsCount.count",
        "evidently.DriftedColumnsCount.share",
        "evidently.ValueDrift.age",
        "evidently.DriftedColumnsCount.share",
    ]


def test_enabling_it_without_evidently_is_refused_with_the_install_command() -> None:
    # A real process in which "import evidently" fails, as it does where the extra is not installed.
    probe = textwrap.dedent(
        """
        import sys
        sys.modules["evidently"] = None
        from grafana_proxy.monitoring.registry import discover
        try:
            discover(include_entry_points=False).create(["data-quality", "evidently-data-drift"])
        except ValueError as error:
            print(error)
        else:
            print("accepted")
        """
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "evidently-data-drift" in done.stdout and INSTALL in done.stdout, done.stdout


def test_serve_and_controller_refuse_it_in_one_line_without_evidently(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAFANA_PROXY_")}
    env.update(
        GRAFANA_PROXY_DATA_DIR=str(tmp_path / "data"),
        GRAFANA_PROXY_MONITORING_APPLICATIONS='["data-quality", "evidently-data-drift"]',
    )
    for command in (["serve", "--port", "0"], ["controller", "--once"]):
        probe = (
            "import sys; sys.modules['evidently'] = None; "
            f"sys.argv = ['grafana-proxy', *{command!r}]; "
            "from grafana_proxy.cli.main import app; app()"
        )
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, env=env)
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        assert INSTALL in done.stderr and "Traceback" not in done.stderr, (command, done.stderr)
