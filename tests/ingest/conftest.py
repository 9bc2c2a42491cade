from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from grafana_proxy.ingest.config import IngestConfig
from grafana_proxy.ingest.pipeline import IngestPipeline
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores


@pytest.fixture
def config(tmp_path: Path) -> IngestConfig:
    return dataclasses.replace(IngestConfig.from_settings(Settings(data_dir=tmp_path / "pipe")), sample_window=2)


@pytest.fixture
def pipeline(config: IngestConfig, stores: Stores) -> Iterator[IngestPipeline]:
    """A pipeline (worker not started: tests call ``drain``) on each database backend."""
    opened = IngestPipeline(config, stores)
    yield opened
    opened.stop()
