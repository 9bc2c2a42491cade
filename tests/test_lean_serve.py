"""The api role stays lean: answering queries, accepting events and uploads (batches, training rows) and
serving /metrics never load pandas, pyarrow or scipy; neither does a controller walking windows that hold
no events; the ingest role loads pyarrow (to write the Parquet archive, and to read uploads) but not scipy.

Each library costs tens of MB resident (M1 in benchmarks/RESULTS.md: ``import grafana_proxy.app``
was 174 MB with them, 93 MB without). A module-level import anywhere on the app's import chain brings
them back, so this checks ``sys.modules`` of a fresh interpreter (the test process itself has them
loaded by other tests). It checks what is imported, not how long anything takes.

pandas is not checked on the ingest side: pyarrow (26) imports it by itself, when installed, the first
time ``pa.array`` converts Python values (its pandas shim asks whether the input is a pandas object)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

HEAVY = ("pandas", "pyarrow", "scipy")

PROBE = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path

    HEAVY = __HEAVY__
    data, phase = Path(sys.argv[1]), sys.argv[2]
    seen = {}

    def loaded():
        return sorted(m for m in HEAVY if m in sys.modules)

    from grafana_proxy.app import create_app
    from grafana_proxy.runtime import Runtime
    from grafana_proxy.settings import Settings

    seen["import"] = loaded()
    now = int(time.time() * 1000)
    settings = Settings(data_dir=data, auth="none", monitoring_window_delay_seconds=0)
    runtime = Runtime.build(settings)
    if phase == "api":
        app = create_app(runtime)
        seen["create_app"] = loaded()
        from fastapi.testclient import TestClient

        runtime.stores.endpoints.upsert("lean", "ep1", {"name": "m", "first_request": now - 7_200_000})
        prefix = "/api/grafana-proxy/model-endpoints"
        events = [{"endpoint_id": "ep1", "timestamp": now - 60_000 + i, "request_id": f"r{i}",
                   "inputs": [[float(i), 1.0]], "feature_names": ["a", "b"], "outputs": [i % 2], "latency": 900.0}
                  for i in range(50)]
        with TestClient(app) as client:
            seen["events_status"] = client.post("/api/v1/projects/lean/events", json=events).status_code
            body = {"targets": [{"target": "target_endpoint=list_endpoints;project=lean"}],
                    "range": {"from": now - 3_600_000, "to": now}}
            seen["list_endpoints"] = client.post(prefix + "/query", json=body).json()
            target = "target_endpoint=metrics;project=lean;endpoint_id=ep1;metric=latency_avg_5m"
            body = {"targets": [{"target": target}], "range": {"from": now - 3_600_000, "to": now}}
            seen["metrics_status"] = client.post(prefix + "/query", json=body).status_code
            seen["search"] = client.post(prefix + "/search", json={"target": "target_endpoint=list_projects"}).json()
            seen["metrics_scrape"] = client.get("/metrics").status_code
            seen["served"] = loaded()
            # Uploads: the api checks and stages them; the ingest role reads them (not in this process).
            parquet = {"Content-Type": "application/vnd.apache.parquet"}
            batch = (data / "batch.parquet").read_bytes()
            answers = [
                client.post("/api/v1/projects/lean/model-endpoints/ep1/batches", content=batch, headers=parquet),
                client.post("/api/v1/projects/lean/batches?job=nightly&prediction=p", content=b"a,p\\n1,0\\n",
                            headers={"Content-Type": "text/csv"}),
                client.post("/api/v1/projects/lean/batches?job=nightly", json=[{"a": 1}]),  # refused: no prediction
                client.put("/api/v1/projects/lean/model-endpoints/ep1/reference-rows",
                           content=(data / "training.parquet").read_bytes(), headers=parquet),
            ]
            seen["upload_statuses"] = [a.status_code for a in answers]
            seen["upload_states"] = [client.get(answers[i].json()["status_url"]).json()["status"] for i in (0, 1, 3)]
            seen["uploaded"] = loaded()
    elif phase == "controller":
        from grafana_proxy.monitoring.build import build_controller

        # An endpoint with two hours of due windows and nothing archived: the controller walks them
        # (model-performance waits an hour for ground truth, so it has one hour of them).
        runtime.stores.endpoints.upsert("lean", "ep1", {"name": "m", "first_request": now - 7_200_000})
        build_controller(runtime).run_once()
        seen["analysed"] = sorted(name for name, _ in runtime.stores.schedules.last_analyzed("lean"))
        seen["walked"] = loaded()
    else:
        from grafana_proxy.ingest.pipeline import IngestPipeline
        from grafana_proxy.ingest.inbox import InboxWriter

        writer = InboxWriter(runtime.ingest.spool_dir, runtime.ingest.spool_segment_bytes, "probe")
        events = [{"endpoint_id": "ep1", "timestamp": now - 60_000 + i, "request_id": f"r{i}",
                   "inputs": [[float(i), 1.0]], "feature_names": ["a", "b"], "outputs": [i % 2], "latency": 900.0}
                  for i in range(50)]
        writer.submit_raw("lean", json.dumps(events).encode(), len(events))
        writer.close()
        pipeline = IngestPipeline(runtime.ingest, runtime.stores)
        pipeline.stop()  # folds what the inbox holds and flushes the archive
        seen["archived"] = len(list(data.glob("archive/project=lean/endpoint_id=ep1/date=*/part-*.parquet")))
        seen["ingested"] = loaded()
    runtime.close()
    print(json.dumps(seen))
    """
).replace("__HEAVY__", repr(HEAVY))


def probe(data_dir: Path, phase: str) -> dict[str, Any]:
    if phase == "api":  # the files the probe uploads, written here: the probe must not load pyarrow itself
        import pandas as pd

        data_dir.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"a": [1.0, 2.0], "prediction": [0, 1]}).to_parquet(data_dir / "batch.parquet")
        pd.DataFrame({"a": [1.0, 2.0, 3.0]}).to_parquet(data_dir / "training.parquet")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(data_dir), phase], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_api_role_answers_queries_events_and_metrics_without_heavy_libraries(tmp_path: Path) -> None:
    seen = probe(tmp_path, "api")
    assert seen["import"] == [], "import grafana_proxy.app"
    assert seen["create_app"] == [], "create_app"
    # The probe did what it claims: the events were accepted, the queries and the scrape answered.
    assert seen["events_status"] == 202
    assert [row[0] for row in seen["list_endpoints"][0]["rows"]] == ["ep1"]
    assert seen["metrics_status"] == 200 and seen["metrics_scrape"] == 200
    assert seen["search"] == ["lean"]
    assert seen["served"] == [], "queries, events and /metrics"
    # Batch and training-row uploads were accepted (or refused by the cheap checks) and queued.
    assert seen["upload_statuses"] == [202, 202, 400, 202]
    assert seen["upload_states"] == ["pending", "pending", "pending"]
    assert seen["uploaded"] == [], "batch and training-row uploads"


def test_the_controller_walks_empty_windows_without_heavy_libraries(tmp_path: Path) -> None:
    seen = probe(tmp_path, "controller")
    assert seen["analysed"] == [
        "data-quality",
        "histogram-data-drift",
        "model-performance",
        "outliers",
        "system-performance",
    ]
    assert seen["walked"] == []


def test_ingest_writes_the_archive_without_scipy(tmp_path: Path) -> None:
    seen = probe(tmp_path, "ingest")
    assert seen["import"] == []
    assert seen["archived"] == 1
    assert "pyarrow" in seen["ingested"] and "scipy" not in seen["ingested"]
