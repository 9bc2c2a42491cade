"""The embedded demo: two seeded projects, a read key, and what to paste into Grafana or a shell."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from grafana_proxy.seeding.seeder import SeedOptions, SeedReport, seed_project
from grafana_proxy.stores.base import Stores

DATASOURCE_PATH = "/api/grafana-proxy/model-endpoints"
KEY_HEADER = "X-V3io-Session-Key"
# (project, endpoints): small enough to seed in seconds, large enough for busy dashboards.
DEMO_PROJECTS: tuple[tuple[str, int], ...] = (("fraud-demo", 12), ("retail-demo", 8))
DEMO_DAYS = 7.0
DEMO_SEED = 19  # a seed whose plan has strong and mild drift in both projects


@dataclass(frozen=True)
class DemoInfo:
    url: str
    key: str
    key_id: str
    projects: list[str]
    seeded: list[SeedReport]
    live_project: str | None = None  # the project the live pipeline records into, if any

    @property
    def curl(self) -> str:
        """A command that lists the endpoints of the live project, else of the first project (or the
        projects, if none)."""
        project = self.live_project or (self.projects[0] if self.projects else None)
        if project:
            path = "/query"
            body: dict[str, object] = {"targets": [{"target": f"target_endpoint=list_endpoints;project={project}"}]}
        else:
            path, body = "/search", {"target": "target_endpoint=list_projects"}
        return (
            f"curl -s -X POST {shlex.quote(self.url + path)} -H {shlex.quote(f'{KEY_HEADER}: {self.key}')} "
            f"-H 'Content-Type: application/json' -d {shlex.quote(json.dumps(body))}"
        )


def datasource_url(host: str, port: int) -> str:
    """The URL Grafana uses; a wildcard bind address is reached through loopback."""
    reachable = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    if ":" in reachable:
        reachable = f"[{reachable}]"
    return f"http://{reachable}:{port}{DATASOURCE_PATH}"


def prepare_demo(
    stores: Stores,
    host: str,
    port: int,
    seed: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
    demo_projects: tuple[tuple[str, int], ...] = DEMO_PROJECTS,
    days: float = DEMO_DAYS,
) -> DemoInfo:
    """Seed the demo projects when the store holds no project yet, create a read key (all projects:
    the demo is local, and projects seeded later should show up too) and say how to use it.
    ``progress(project, done, total)`` is called after each endpoint."""
    seeded: list[SeedReport] = []
    if seed and not stores.endpoints.projects():
        for project, count in demo_projects:
            done = 0

            def advance(n: int, project: str = project, count: int = count) -> None:
                nonlocal done
                done += n
                if progress is not None:
                    progress(project, done, count)

            options = SeedOptions(project=project, endpoints=count, days=days, seed=DEMO_SEED)
            seeded.append(seed_project(stores, options, advance))
    projects = stores.endpoints.projects()
    key, secret = stores.keys.create("demo", None, "read")
    return DemoInfo(url=datasource_url(host, port), key=secret, key_id=key.key_id, projects=projects, seeded=seeded)
