"""What every command shares: the settings, opening and closing the stores, and consoles. Details
and progress go to stderr so stdout stays parseable (``keys create`` prints only the key there)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from grafana_proxy.settings import Settings
from grafana_proxy.stores.base import Stores, StoreUnavailable

err = Console(stderr=True, highlight=False, soft_wrap=True)  # one error = one line, whatever the width
out = Console(highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error on stderr, on one line; the caller raises the returned ``typer.Exit``. The message
    is plain text: brackets in it (``pip install 'grafana-proxy[evidently]'``, paths) are not markup."""
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise fail(f"bad setting GRAFANA_PROXY_{field.upper()}: {first['msg']}") from None


@contextmanager
def opened_stores(settings: Settings) -> Iterator[Stores]:
    """The stores (migrated to head) for the length of a command; a missing database is a clean exit 1."""
    from grafana_proxy.stores.engine import close_stores, open_stores

    try:
        stores = open_stores(settings)
    except StoreUnavailable as error:
        raise fail(str(error)) from None
    try:
        yield stores
    finally:
        close_stores(stores)
