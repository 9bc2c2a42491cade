"""``grafana-proxy keys create|list|revoke``: access keys for Grafana and writers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from grafana_proxy.cli.common import err, fail, load_settings, opened_stores, out
from grafana_proxy.identifiers import problem

app = typer.Typer(help="Access keys (stored hashed; a secret is shown once, at creation).", no_args_is_help=True)


def _when(epoch_ms: int | None) -> str:
    if epoch_ms is None:
        return ""
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


@app.command()
def create(
    project: Annotated[
        list[str] | None, typer.Option("--project", "-p", help="A project the key may use (repeatable).")
    ] = None,
    all_projects: Annotated[bool, typer.Option("--all-projects", help="The key may use every project.")] = False,
    write: Annotated[bool, typer.Option("--write", help="Scope write (read + the write API); default read.")] = False,
    name: Annotated[str, typer.Option("--name", "-n", help="A label to recognise the key by.")] = "cli",
) -> None:
    """Create a key. Details go to stderr; the key itself is the last (only) line of stdout."""
    projects = sorted(set(project or []))
    if bool(projects) == all_projects:
        raise fail("give either --project P (one or more) or --all-projects")
    for each in projects:
        reason = problem("project", each)
        if reason is not None:
            raise fail(f"--project: {reason}")
    with opened_stores(load_settings()) as stores:
        key, secret = stores.keys.create(name, None if all_projects else projects, "write" if write else "read")
    scope_projects = "all projects" if key.projects is None else ", ".join(key.projects)
    err.print(f"created key [bold]{key.key_id}[/] ({key.name}): scope {key.scope}, {scope_projects}")
    err.print("the key is shown once; send it in the X-V3io-Session-Key header")
    out.print(secret, markup=False)


@app.command("list")
def list_keys() -> None:
    """Show every key (ids, names, scopes, projects; never secrets)."""
    with opened_stores(load_settings()) as stores:
        keys = stores.keys.all()
    table = Table("key id", "name", "scope", "projects", "created (UTC)", "revoked (UTC)")
    for key in keys:
        projects = "*" if key.projects is None else ", ".join(key.projects)
        table.add_row(key.key_id, key.name, key.scope, projects, _when(key.created_at), _when(key.revoked_at))
    out.print(table)


@app.command()
def revoke(key_id: Annotated[str, typer.Argument(help="The key id shown by `keys list`.")]) -> None:
    """Revoke a key: requests with it are refused from now on."""
    with opened_stores(load_settings()) as stores:
        revoked = stores.keys.revoke(key_id)
    if not revoked:
        raise fail(f"no live key with id {key_id!r} (see `grafana-proxy keys list`)")
    err.print(f"revoked key {key_id}")
