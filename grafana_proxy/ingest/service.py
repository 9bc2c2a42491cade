"""Running the pipeline inside a FastAPI app: start on startup (which replays the spool), stop on shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from grafana_proxy.ingest.config import pipeline_config
from grafana_proxy.ingest.pipeline import IngestPipeline
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores


def open_pipeline(settings: Settings, stores: Stores, name: str = "serve") -> IngestPipeline:
    """A pipeline on the spool ``<spool_dir>/<name>``; each process needs its own name."""
    return IngestPipeline(pipeline_config(settings), stores, name)


@asynccontextmanager
async def ingest_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Lifespan for ``create_app``: opens the pipeline from ``app.state.settings``/``app.state.stores``
    into ``app.state.ingest`` and folds what is left on shutdown."""
    pipeline = await run_in_threadpool(open_pipeline, app.state.settings, app.state.stores)
    pipeline.start()
    app.state.ingest = pipeline
    try:
        yield
    finally:
        app.state.ingest = None
        await run_in_threadpool(pipeline.stop)
