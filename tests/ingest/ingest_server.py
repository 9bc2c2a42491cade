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
from grafana_proxy.deps import runtime_of
from grafana_proxy.ingest.pipeline import IngestPipeline
from grafana_proxy.runtime import Runtime
from grafana_proxy.settings import AuthMode, Settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    runtime = runtime_of(app)
    config = dataclasses.replace(
        runtime.ingest,
        archive_batch_events=300,
        archive_batch_seconds=0.3,
        window_period_seconds=0.2,
    )
    pipeline = IngestPipeline(config, runtime.stores)
    pipeline.start()
    runtime.events = pipeline  # accepted batches go straight into the pipeline's spool
    try:
        yield
    finally:
        pipeline.stop()


def main() -> None:
    data_dir, port = Path(sys.argv[1]), int(sys.argv[2])
    app = create_app(Runtime.build(Settings(data_dir=data_dir, auth=AuthMode.none)))
    app.router.lifespan_context = lifespan  # the ingest role's pipeline in this process, with smaller batches
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
