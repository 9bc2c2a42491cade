"""``grafana-proxy batch submit`` through the real typer app, the embedded database and a real archive."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from grafana_proxy.archive.reader import read_window
from grafana_proxy.ingest.events import endpoint_uid
from grafana_proxy.settings import Settings
from grafana_proxy.stores.engine import close_stores, open_stores
from tests.cli.conftest import Invoke

T = 1_767_225_600_000  # 2026-01-01


def test_submit_parquet_to_an_endpoint_and_csv_to_a_job(
    invoke: Invoke, settings_of: Callable[[], Settings], tmp_path: Path
) -> None:
    settings = settings_of()
    stores = open_stores(settings)
    try:
        stores.endpoints.upsert("p", "ep", {"name": "m"})
        rng = np.random.default_rng(1)
        df = pd.DataFrame({"a": rng.normal(0, 1, 20_000), "score": rng.random(20_000), "y": rng.integers(0, 2, 20_000)})
        df.to_parquet(tmp_path / "scored.parquet", row_group_size=5000)
        done = invoke("batch", "submit", str(tmp_path / "scored.parquet"), "-p", "p", "-e", "ep",
                      "--prediction", "score", "--label", "y", "--time", "2026-01-01T00:00:00Z")  # fmt: skip
        assert "20000 rows of p/ep (1 features, 20000 labels)" in done.output
        assert len(read_window(settings.archive_location, "p", "ep", T, T + 1)) == 20_000
        (tmp_path / "job.csv").write_text("a,prediction\n1,0\n2,1\n")
        invoke("batch", "submit", str(tmp_path / "job.csv"), "-p", "p", "--job", "scoring", "--time", str(T))
        uid = endpoint_uid("p", "scoring", "scoring")
        assert [b.rows for b in stores.monitoring.batches("p")] == [20_000, 2]
        assert stores.endpoints.get("p", uid) is not None
    finally:
        close_stores(stores)


def test_errors_name_the_fix(invoke: Invoke, tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_text("a,prediction\n1,0\n")
    (tmp_path / "b.txt").write_text("x")
    cases = [
        (("batch", "submit", str(tmp_path / "b.csv"), "-p", "p"), "give --endpoint"),
        (("batch", "submit", str(tmp_path / "b.csv"), "-p", "p", "-e", "ghost"), "use --job"),
        (("batch", "submit", str(tmp_path / "b.txt"), "-p", "p", "--job", "j"), "name the file .parquet"),
        (("batch", "submit", str(tmp_path / "b.csv"), "-p", "p", "--job", "j", "--label", "y"), "label column 'y'"),
        (("batch", "submit", str(tmp_path / "b.csv"), "-p", "p", "--job", "j", "--time", "soonish"), "--time"),
    ]
    for args, message in cases:
        result = invoke(*args, ok=False)
        assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output, (
            args,
            result.output,
        )
