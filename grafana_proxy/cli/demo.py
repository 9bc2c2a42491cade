"""``grafana-proxy demo``: the embedded set-up in one command. History (7 days, synthetic generator) when
the store is empty, a read key, then the live pipeline as supervised processes: demo model, gateway,
traffic with a drift phase, and the api, ingest and controller roles (grafana_proxy.demo.live).
Ctrl-C / SIGTERM stop them all."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from grafana_proxy.cli.common import err, fail, load_settings, opened_stores, out
from grafana_proxy.demo.setup import DEMO_DAYS, KEY_HEADER, DemoInfo, prepare_demo

if TYPE_CHECKING:
    from grafana_proxy.demo.live import LivePlan


def _print(info: DemoInfo, plan: LivePlan, base_period: float) -> None:
    out.print()
    if info.seeded:
        days = (info.seeded[0].end_ms - info.seeded[0].start_ms) / 86_400_000
        names = ", ".join(r.project for r in info.seeded)
        out.print(
            f"[bold]History:[/]                {days:g} days of synthetic data (generator, not live) in {escape(names)}"
        )
    drift = f"drift after {plan.drift_after:g} s" if plan.drift_after < plan.duration else "no drift"
    out.print(
        f"[bold]Live:[/]                   traffic {plan.rate:g}/s for {plan.duration:g} s ({drift}) -> "
        f"gateway {plan.gateway_url} -> model {plan.model_url}; project {escape(plan.project)}"
    )
    out.print(f"[bold]Controller:[/]             every {base_period:g} min (demo setting), its own process")
    out.print(f"[bold]Grafana datasource URL:[/] {escape(info.url)}")
    out.print(f"[bold]Custom HTTP header:[/]     {KEY_HEADER}")
    out.print(f"[bold]Read key:[/]               {escape(info.key)}")
    out.print(f"[bold]Projects:[/]               {escape(', '.join([*info.projects, plan.project]))}")
    out.print("[bold]Try it:[/]")
    out.print(info.curl, markup=False)
    out.print()


def demo(
    host: Annotated[str, typer.Option(help="Address every demo server binds to.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the datasource (serve).")] = 8080,
    gateway_port: Annotated[int, typer.Option(help="Port of the monitor gateway.")] = 8081,
    model_port: Annotated[int, typer.Option(help="Port of the demo model service.")] = 8090,
    no_seed: Annotated[bool, typer.Option("--no-seed", help="Do not seed the history projects.")] = False,
    history_days: Annotated[float, typer.Option(help="Days of synthetic history to seed.")] = DEMO_DAYS,
    rate: Annotated[float, typer.Option(help="Live requests per second.")] = 5.0,
    duration: Annotated[float, typer.Option(help="Seconds of live traffic (then it keeps serving).")] = 3600.0,
    drift_after: Annotated[float, typer.Option(help="Seconds of live traffic before the drift phase.")] = 300.0,
) -> None:
    """Seed history (if the store is empty), create a read key, run the live pipeline, print how to connect."""
    # Pandas and the supervisor load only when the demo runs, not for every other command.
    from grafana_proxy.demo.live import LIVE_PROJECT, LivePlan, demo_settings, live_roles, register_live_endpoint
    from grafana_proxy.logs import setup_logging
    from grafana_proxy.observability.status import status_path
    from grafana_proxy.roles import CannotStart, check_port
    from grafana_proxy.supervisor import Supervisor

    settings = demo_settings(load_settings())
    plan = replace(
        LivePlan(),
        host=host,
        port=port,
        gateway_port=gateway_port,
        model_port=model_port,
        rate=rate,
        duration=duration,
        drift_after=drift_after,
    )
    if len({port, gateway_port, model_port}) < 3:
        raise fail("--port, --gateway-port and --model-port must differ")
    try:
        for taken in (port, gateway_port, model_port):
            check_port(host, taken)
    except CannotStart as error:
        raise fail(str(error)) from None
    with opened_stores(settings) as stores:
        progress = Progress(TextColumn("seeding {task.description}"), BarColumn(), MofNCompleteColumn(), console=err)
        tasks: dict[str, TaskID] = {}

        def report(project: str, done: int, total: int) -> None:
            if project not in tasks:
                tasks[project] = progress.add_task(project, total=total)
            progress.update(tasks[project], completed=done)

        if not no_seed and not stores.endpoints.projects():
            err.print(f"empty store: seeding {history_days:g} days of history with the synthetic generator")
        with progress:
            info = prepare_demo(stores, host, port, seed=not no_seed, progress=report, days=history_days)
        info = replace(info, projects=[p for p in info.projects if p != LIVE_PROJECT], live_project=plan.project)
        register_live_endpoint(stores, plan.project)
    setup_logging(settings.log_level, settings.log_json)
    supervisor = Supervisor(
        live_roles(settings, plan),
        state_file=status_path(settings.spool_path, "roles"),
        json_lines=settings.log_json,
        on_ready=lambda: _print(info, plan, settings.monitoring_base_period_minutes),
    )
    code = supervisor.run()
    if code:
        raise typer.Exit(code)
