"""``grafana-proxy demo``: the embedded set-up in one command. History (7 days, synthetic generator) when
the store is empty, a read key, then the live pipeline as supervised processes: demo model, gateway,
traffic with a drift phase, and the api, ingest and controller roles (grafana_proxy.demo.live).
Ctrl-C / SIGTERM stop them all."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from grafana_proxy.cli.common import err, fail, load_settings, opened_stores, out
from grafana_proxy.cli.preflight import require_free_port, require_free_spool
from grafana_proxy.demo.setup import DEMO_DAYS, KEY_HEADER, DemoInfo, prepare_demo

if TYPE_CHECKING:
    from grafana_proxy.demo.live import LivePlan


def ready_block(info: DemoInfo, plan: LivePlan, base_period: float, history: list[str]) -> str:
    """What the demo prints once everything answers, the same on every run. ``history`` names the
    synthetic projects in the store; ``info.seeded`` says whether this run seeded them."""
    if info.seeded:
        days = (info.seeded[0].end_ms - info.seeded[0].start_ms) / 86_400_000
        seeded = f"{days:g} days of synthetic data (generator, not live) in {', '.join(history)}"
    elif history:
        seeded = f"synthetic data (generator, not live) in {', '.join(history)}, seeded by an earlier run"
    else:
        seeded = "none (not seeded)"
    drift = f"drift after {plan.drift_after:g} s" if plan.drift_after < plan.duration else "no drift"
    docs = info.url.split("/api/", 1)[0] + "/docs"
    lines = [
        "Ready. Add the datasource below in Grafana, or paste the curl line.",
        f"History:                {seeded}",
        f"Live:                   traffic {plan.rate:g}/s for {plan.duration:g} s ({drift}) -> "
        f"gateway {plan.gateway_url} -> model {plan.model_url}; project {plan.project}",
        f"Controller:             every {base_period:g} min (demo setting), its own process",
        f"Grafana datasource URL: {info.url}",
        f"Custom HTTP header:     {KEY_HEADER}",
        f"Read key:               {info.key}",
        f"Projects:               {', '.join([*history, plan.project])}",
        f"API docs:               {docs}",
        "Try it:",
        info.curl,
        "Ctrl-C stops everything (traffic, gateway, api, controller, ingest, model); the data stays for the next run.",
    ]
    return "\n".join(lines)


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
    # Before anything is seeded or a key is made: a demo that cannot start leaves nothing behind.
    for server_port, what, option in (
        (port, "grafana-proxy serve or demo", "--port"),
        (gateway_port, "gateway or demo", "--gateway-port"),
        (model_port, "demo model or demo", "--model-port"),
    ):
        require_free_port(host, server_port, what, option)
    require_free_spool(settings, "serve", "`grafana-proxy serve` or `demo`")
    err.print(f"opening the store in {settings.data_dir}")
    with opened_stores(settings) as stores:
        progress = Progress(TextColumn("seeding {task.description}"), BarColumn(), MofNCompleteColumn(), console=err)
        tasks: dict[str, TaskID] = {}

        def report(project: str, done: int, total: int) -> None:
            if project not in tasks:
                tasks[project] = progress.add_task(project, total=total)
            progress.update(tasks[project], completed=done)

        existing = stores.endpoints.projects()
        if no_seed:
            err.print("not seeding (--no-seed)")
        elif existing:  # prepare_demo seeds an empty store only
            err.print(f"not seeding: the store already holds {', '.join(existing)}")
        else:
            err.print(f"empty store: seeding {history_days:g} days of history with the synthetic generator")
        with progress:
            info = prepare_demo(stores, host, port, seed=not no_seed, progress=report, days=history_days)
        history = [p for p in info.projects if p != LIVE_PROJECT]
        info = replace(info, projects=history, live_project=plan.project)
        register_live_endpoint(stores, plan.project, settings.archive_location)
    setup_logging(settings.log_level, settings.log_json)
    err.print(
        f"starting the demo model (:{model_port}), ingest, the controller, the api (:{port}), the gateway "
        f"(:{gateway_port}) and {rate:g} calls/s of traffic, each its own process"
    )

    def ready() -> None:
        out.print()
        out.print(ready_block(info, plan, settings.monitoring_base_period_minutes, history), markup=False)
        out.print()

    supervisor = Supervisor(
        live_roles(settings, plan),
        state_file=status_path(settings.spool_path, "roles"),
        json_lines=settings.log_json,
        on_ready=ready,
    )
    code = supervisor.run()
    if code:
        # The read key was made for this run and printed only once every role runs: a key nobody saw
        # must not stay valid.
        with opened_stores(settings) as stores:
            stores.keys.revoke(info.key_id)
        raise fail(f"the demo could not start (see above); its read key {info.key_id} was revoked", code)
