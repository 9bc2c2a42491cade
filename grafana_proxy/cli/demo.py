"""``grafana-proxy demo``: the embedded set-up in one command (SQLite in the data dir, seeded demo
projects, a read key), then serve."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from grafana_proxy.cli.common import err, load_settings, opened_stores, out
from grafana_proxy.cli.serve import run_server
from grafana_proxy.seeding.demo import KEY_HEADER, DemoInfo, prepare_demo


def _print(info: DemoInfo) -> None:
    out.print()
    out.print(f"[bold]Grafana datasource URL:[/] {escape(info.url)}")
    out.print(f"[bold]Custom HTTP header:[/]     {KEY_HEADER}")
    out.print(f"[bold]Read key:[/]               {escape(info.key)}")
    out.print(f"[bold]Projects:[/]               {escape(', '.join(info.projects) or '(none)')}")
    out.print("[bold]Try it:[/]")
    out.print(info.curl, markup=False)
    out.print()


def demo(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    no_seed: Annotated[bool, typer.Option("--no-seed", help="Do not seed the demo projects.")] = False,
) -> None:
    """Seed two demo projects (if the store is empty), create a read key, print how to connect, serve."""
    # The demo is the embedded default whatever GRAFANA_PROXY_DB_URL says: it must not seed a server.
    settings = load_settings().model_copy(update={"db_url": None})
    with opened_stores(settings) as stores:
        progress = Progress(TextColumn("seeding {task.description}"), BarColumn(), MofNCompleteColumn(), console=err)
        tasks: dict[str, TaskID] = {}

        def report(project: str, done: int, total: int) -> None:
            if project not in tasks:
                tasks[project] = progress.add_task(project, total=total)
            progress.update(tasks[project], completed=done)

        with progress:
            info = prepare_demo(stores, host, port, seed=not no_seed, progress=report)
    _print(info)
    run_server(settings, host, port)
