"""Cost of each monitoring application per window: 100,000 rows x 20 features by default.

Run alone: ``python -m benchmarks.apps_cost [--rows 100000] [--features 20] [--repeat 3] [--out FILE]``.

The window has 16 numerical and 4 categorical features (a quarter of them shifted, 2% missing values,
some rows far out); the reference statistics come from 100,000 training rows and the reference rows kept
for Evidently are the 20,000-row sample ``reference set`` keeps. Every run gets a fresh ``Window``, so
the drift application pays for its live statistics each time, as it does once per window in the
controller. Evidently is measured when the extra is installed; the artifact write of its HTML report
(local archive, SQLite row) is timed separately. Wall and process CPU seconds (all threads) are
printed; on a shared machine CPU time shows the work itself."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from grafana_proxy.archive.reference import REFERENCE_SAMPLE_ROWS
from grafana_proxy.model import EndpointRecord
from grafana_proxy.monitoring.applications import ApplicationContext, ArtifactValue, MonitoringApplication, Window
from grafana_proxy.monitoring.config import MonitoringConfig
from grafana_proxy.monitoring.registry import discover
from grafana_proxy.monitoring.stats import reference_stats
from grafana_proxy.settings import Settings

APPLICATIONS = ("histogram-data-drift", "system-performance", "data-quality", "outliers", "evidently-data-drift")
CATEGORIES = np.array(["a", "b", "c", "d", "e"])


def build(rows: int, features: int, seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(training rows, window events, feature names)."""
    rng = np.random.default_rng(seed)
    names = [f"f{i:02d}" for i in range(features)]
    categorical = set(names[-max(1, features // 5) :])

    def column(name: str, size: int, shift: float) -> Any:
        if name in categorical:
            return rng.choice(CATEGORIES, size, p=[0.4, 0.3, 0.15, 0.1, 0.05] if shift == 0 else [0.2] * 5)
        return rng.normal(shift, 1.0, size)

    training = pd.DataFrame({n: column(n, 100_000, 0.0) for n in names})
    window = pd.DataFrame({n: column(n, rows, 0.8 if i % 4 == 0 else 0.0) for i, n in enumerate(names)})
    window.loc[window.index[: rows // 50], names[1]] = np.nan
    window.loc[window.index[rows // 50 : rows // 40], names[2]] = 25.0  # far out
    window["timestamp"] = np.arange(rows, dtype=np.int64)
    window["latency"] = rng.gamma(2.0, 500.0, rows)
    window["error"] = None
    return training, window, names


def timed(run: Callable[[], object], repeat: int) -> tuple[list[float], list[float], object]:
    walls, cpus, last = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        last = run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls, cpus, last


def applications() -> list[MonitoringApplication]:
    registry = discover(include_entry_points=False)
    made = []
    for name in APPLICATIONS:
        try:
            made.extend(registry.create([name]))
        except ValueError as error:  # evidently without the extra
            print(f"  skipped {name}: {error}")  # noqa: T201
    return made


def measure(rows: int, features: int, repeat: int) -> dict[str, Any]:
    training, events, names = build(rows, features)
    record = EndpointRecord(project="bench", uid="ep", feature_stats=reference_stats(training), feature_names=names)
    kept = training.sample(n=REFERENCE_SAMPLE_ROWS, random_state=0)
    params = MonitoringConfig.from_settings(Settings()).params_for("bench")
    out: dict[str, Any] = {"rows": rows, "features": features, "cpus": os.cpu_count(), "applications": {}}
    report: ArtifactValue | None = None
    for app in applications():

        def run(app: MonitoringApplication = app) -> object:
            window = Window(events, record, lambda: kept)
            return app.do_tracking(ApplicationContext("bench", app.name, window, 0, 600_000, params))

        run()  # warm-up: imports (Evidently's take seconds) and caches are not a window's cost
        walls, cpus, outputs = timed(run, repeat)
        out["applications"][app.name] = {
            "wall_best_s": round(min(walls), 3),
            "wall_median_s": round(statistics.median(walls), 3),
            "cpu_best_s": round(min(cpus), 3),
            "outputs": len(outputs),  # type: ignore[arg-type]
        }
        report = next((o for o in outputs if isinstance(o, ArtifactValue)), report)  # type: ignore[attr-defined]
    if report is not None:
        out["artifact"] = {"bytes": len(report.content), **artifact_write(report, repeat)}
    return out


def artifact_write(report: ArtifactValue, repeat: int) -> dict[str, float]:
    from grafana_proxy.archive.artifacts import ArtifactKeeper
    from grafana_proxy.settings import Settings
    from grafana_proxy.stores.engine import close_stores, open_stores

    with tempfile.TemporaryDirectory() as tmp:
        stores = open_stores(Settings(data_dir=Path(tmp)))
        try:
            keeper = ArtifactKeeper(str(Path(tmp) / "archive"), stores.artifacts)
            ends = iter(range(600_000, 600_000 * (repeat + 2), 600_000))

            def save() -> object:
                end = next(ends)
                return keeper.save("b", "ep", "bench", end - 600_000, end, report.name, report.content, "text/html")

            walls, _, saved = timed(save, repeat)
            stored = keeper.read_stored(saved)  # type: ignore[arg-type]
        finally:
            close_stores(stores)
    return {"write_best_s": round(min(walls), 4), "stored_bytes": len(stored[0]) if stored else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="Also write the figures as JSON here.")
    args = parser.parse_args()
    print(f"applications: one window of {args.rows:,} rows x {args.features} features, {os.cpu_count()} CPUs")  # noqa: T201
    result = measure(args.rows, args.features, args.repeat)
    for name, figures in result["applications"].items():
        print(  # noqa: T201
            f"  {name:22s} wall best {figures['wall_best_s']:.3f} s, median {figures['wall_median_s']:.3f} s; "
            f"CPU best {figures['cpu_best_s']:.3f} s"
        )
    if "artifact" in result:
        a = result["artifact"]
        print(  # noqa: T201
            f"  Evidently report: {a['bytes']:,} bytes, kept as {a['stored_bytes']:,} (gzip) "
            f"in {a['write_best_s']:.4f} s"
        )
    result["load_average"] = round(os.getloadavg()[0], 1)
    print(f"  load average at the end: {result['load_average']}")  # noqa: T201
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
