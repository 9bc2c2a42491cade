"""Uploads between an api and an ingest that share only the database and the archive storage, as on two
machines: each has its own data directory (spool, scratch files), the archive is an fsspec URL that is
not a local path (``memory://``, standing in for ``s3://``: the staged file is copied in by the api and
copied out by the ingest). The staged file is gone once read."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import fsspec
import pandas as pd
from fastapi.testclient import TestClient

from grafana_proxy.app import create_app
from grafana_proxy.archive.reader import read_window
from grafana_proxy.archive.reference import read_reference
from grafana_proxy.ingest.config import IngestConfig
from grafana_proxy.ingest.uploads import UploadReader
from grafana_proxy.model import UploadStatus
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import Settings
from grafana_proxy.stores.engine import close_stores, open_stores

T0 = 1_767_225_600_000  # 2026-01-01


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def test_an_api_and_an_ingest_with_nothing_but_the_database_and_the_archive_url_in_common(tmp_path: Path) -> None:
    archive = f"memory://gp-{uuid.uuid4().hex}"
    shared = {"db_url": f"sqlite:///{tmp_path / 'shared.db'}", "archive_url": archive, "auth": "none"}
    api_settings = Settings(data_dir=tmp_path / "api", **shared)
    ingest_settings = Settings(data_dir=tmp_path / "ingest", **shared)
    api_stores, ingest_stores = open_stores(api_settings), open_stores(ingest_settings)
    fs = fsspec.filesystem("memory")
    try:
        api_stores.endpoints.upsert("p", "ep", {"name": "m"})
        batch = pd.DataFrame({"x": [0.5, 1.5, 2.5], "prediction": [1, 0, 1], "label": [1, 1, 0]})
        with TestClient(create_app(Runtime.build(api_settings, api_stores))) as client:
            parquet = {"Content-Type": "application/vnd.apache.parquet"}
            posted = client.post(
                f"/api/v1/projects/p/model-endpoints/ep/batches?time={T0}", content=_parquet(batch), headers=parquet
            )
            rows = client.put(
                "/api/v1/projects/p/model-endpoints/ep/reference-rows",
                content=_parquet(pd.DataFrame({"x": [1.0, 2.0]})),
                headers=parquet,
            )
            assert (posted.status_code, rows.status_code) == (202, 202), (posted.text, rows.text)
            staged = fs.find(f"{archive}/_uploads")
            assert len(staged) == 2, staged  # in the archive storage, where the ingest reaches them
            reader = UploadReader(IngestConfig.from_settings(ingest_settings), ingest_stores, tmp_path / "ingest" / "x")
            assert reader.run_once() is not None and reader.run_once() is not None and reader.run_once() is None
            first = client.get(posted.json()["status_url"]).json()
            second = client.get(rows.json()["status_url"]).json()
        assert first["status"] == UploadStatus.done and first["result"]["rows"] == 3 and first["result"]["labels"] == 3
        assert second["status"] == UploadStatus.done and second["result"]["rows_kept"] == 2
        assert len(read_window(archive, "p", "ep", T0, T0 + 1)) == 3
        kept = read_reference(archive, "p", "ep")
        assert kept is not None and list(kept["x"]) == [1.0, 2.0]
        assert fs.find(f"{archive}/_uploads") == []
        assert not (tmp_path / "api" / "batches").exists() or not list((tmp_path / "api" / "batches").iterdir())
        assert not (tmp_path / "ingest" / "x").exists() or not list((tmp_path / "ingest" / "x").iterdir())
    finally:
        close_stores(api_stores)
        close_stores(ingest_stores)
        fs.rm(archive, recursive=True)
