from __future__ import annotations

import time

from grafana_proxy.model import EndpointType, ResultKind, SeriesKind, TimeRange

METRICS = {
    "predictions_per_second",
    "predictions_count_5m",
    "predictions_count_1h",
    "latency_avg_5m",
    "latency_avg_1h",
    "error_count",
    "error_rate",
    "tvd_mean",
    "hellinger_mean",
    "kld_mean",
}


def test_seed_writes_endpoints_series_and_results(db_url: str, cli_env, invoke, stores_of) -> None:
    cli_env["GRAFANA_PROXY_DB_URL"] = db_url
    result = invoke(
        "seed", "--project", "shop", "--endpoints", "3", "--days", "1", "--step-seconds", "300", "--seed", "7"
    )
    assert "3 endpoints" in result.stderr
    now = int(time.time() * 1000)
    day = TimeRange(now - 86_400_000 - 3_600_000, now + 3_600_000)
    with stores_of() as stores:
        records = stores.endpoints.records("shop")
        assert len(records) == 3
        uid = records[0].uid
        for record in records:
            assert record.function_uri.startswith("shop/") and record.function_uri.endswith(":latest")
            assert ":" in record.model and record.model_class
            assert record.endpoint_type == EndpointType.node_ep
            assert record.feature_names and set(record.feature_stats) == set(record.feature_names)
            stats = record.feature_stats[record.feature_names[0]]
            assert {"count", "mean", "std", "min", "25%", "50%", "75%", "max"} <= set(stats)
            counts, edges = stats["hist"]
            assert len(counts) == 20 and len(edges) == 21 and sum(counts) == stats["count"]
            assert set(record.current_stats) == set(record.feature_names)
            assert {"tvd_mean", "hellinger_mean", "kld_mean"} <= set(record.drift_measures)
            assert record.drift_status in (0, 1, 2)
            assert record.first_request is not None and record.last_request is not None
            assert record.predictions_per_second is not None and record.predictions_per_second > 0
        assert set(stores.series.names("shop", uid, SeriesKind.metric)) == METRICS
        assert stores.series.names("shop", uid, SeriesKind.feature) == sorted(records[0].feature_names)
        series = stores.series.query("shop", [uid], SeriesKind.metric, ["predictions_per_second"], day, 300_000)
        assert len(series) == 1 and len(series[0].times) == 288  # one day of 5-minute steps
        assert all(v is not None and v >= 0 for v in series[0].values)
        rates = stores.series.query("shop", [uid], SeriesKind.metric, ["error_rate"], day, 300_000)
        assert len(rates) == 1 and all(v is not None and 0 <= v <= 1 for v in rates[0].values)
        found = stores.results.query("shop", day)
        apps = {(r.application, r.name, r.kind) for r in found}
        performance = {name for app, name, _ in apps if app == "model-performance"}
        assert apps - {("model-performance", name, int(ResultKind.model_performance)) for name in performance} == {
            ("histogram-data-drift", "general_drift", int(ResultKind.data_drift)),
            ("system-performance", "latency", int(ResultKind.system_performance)),
            ("data-quality", "missing_share", int(ResultKind.data_drift)),
            ("data-quality", "wrong_type_share", int(ResultKind.data_drift)),
            ("data-quality", "out_of_range_share", int(ResultKind.data_drift)),
            ("outliers", "outlier_share", int(ResultKind.mm_app_anomaly)),
        }
        assert performance and performance <= {"accuracy", "mae"}
        # One verdict per 10-minute window per endpoint and application; model performance waits an
        # hour for ground truth, so its last 6 windows have none yet; data quality gives 3 results per
        # window and outliers 1.
        assert len(found) == 3 * (2 * 144 + 138 + 4 * 144)


def test_seed_rejects_bad_options(invoke) -> None:
    result = invoke("seed", "--project", "shop", "--endpoints", "0", ok=False)
    assert result.exit_code == 1 and "endpoints" in result.stderr
    result = invoke("seed", "--project", "shop", "--step-seconds", "0", ok=False)
    assert result.exit_code == 1 and "step-seconds" in result.stderr
