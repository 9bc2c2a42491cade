"""CLI tests invoke the real typer app against a temporary data dir (and, where the backend matters,
every database of the ``db_url`` fixture)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from grafana_proxy.cli.main import app
from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores
from grafana_proxy.stores.engine import close_stores, open_stores

Invoke = Callable[..., Result]


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str | None]:
    """Environment for a command: a private data dir, the embedded database, keys required."""
    return {
        "GRAFANA_PROXY_DATA_DIR": str(tmp_path / "data"),
        "GRAFANA_PROXY_DB_URL": None,  # None removes an inherited value
        "GRAFANA_PROXY_AUTH": None,
    }


@pytest.fixture
def invoke(cli_env: dict[str, str | None]) -> Invoke:
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(app, list(args), env=cli_env)
        if ok:
            assert result.exit_code == 0, f"{args}: exit {result.exit_code}\n{result.output}\n{result.exception!r}"
        return result

    return run


@pytest.fixture
def settings_of(cli_env: dict[str, str | None]) -> Callable[[], Settings]:
    def make() -> Settings:
        return Settings(data_dir=Path(str(cli_env["GRAFANA_PROXY_DATA_DIR"])), db_url=cli_env["GRAFANA_PROXY_DB_URL"])

    return make


@pytest.fixture
def stores_of(settings_of: Callable[[], Settings]) -> Callable[[], AbstractContextManager[Stores]]:
    """``with stores_of() as stores:`` opens what the commands wrote."""

    @contextmanager
    def opened() -> Iterator[Stores]:
        stores = open_stores(settings_of())
        try:
            yield stores
        finally:
            close_stores(stores)

    return opened
