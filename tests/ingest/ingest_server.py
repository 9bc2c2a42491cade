"""An ingest server for the kill -9 test: ``python -m tests.ingest.ingest_server <data_dir> <port>``.

Small archive batches and a short window period so a kill lands in the middle of flushes, too."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from grafana_proxy.app import create_app
from grafana_proxy.ingest.config import pipeline_config
from grafana_proxy.ingest.pipeline import IngestPipeline
from grafana_proxy.settings import AuthMode, Settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    config = dataclasses.replace(
        pipeline_config(app.state.settings),
        archive_batch_events=300,
        archive_batch_seconds=0.3,
        window_period_seconds=0.2,
    )
    pipeline = IngestPipeline(config, app.state.stores)
    pipeline.start()
    app.state.ingest = pipeline
    try:
        yield
    finally:
        pipeline.stop()


def main() -> None:
    data_dir, port = Path(sys.argv[1]), int(sys.argv[2])
    app = create_app(Settings(data_dir=data_dir, auth=AuthMode.none, controller_in_serve=False))
    app.router.lifespan_context = lifespan  # the same pipeline as serve's, with smaller batches
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
