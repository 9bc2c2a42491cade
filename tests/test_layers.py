"""Data flows one way: ingest -> stores -> targets -> protocol, with api, cli, demo and the composition
root at the edges. This reads every module's imports (the AST, type-checking-only imports included, as
they are dependencies too) and fails on an import that runs against the flow."""

from __future__ import annotations

import ast
from pathlib import Path

import grafana_proxy

PACKAGE = Path(grafana_proxy.__file__).parent

# (importer prefix, forbidden imported prefix, why)
FORBIDDEN = [
    ("grafana_proxy.archive", "grafana_proxy.ingest", "the archive is below ingest: ingest writes it"),
    ("grafana_proxy.monitoring.config", "grafana_proxy.ingest", "monitoring reads the archive, not ingest"),
    ("grafana_proxy.api.ground_truth", "grafana_proxy.stores.ground_truth", "routes use the Stores interfaces"),
    ("grafana_proxy.monitoring", "grafana_proxy.stores.ground_truth", "the controller uses the Stores interfaces"),
    ("grafana_proxy.demo", "grafana_proxy.app", "the demo runs roles as processes"),
    ("grafana_proxy.seeding", "grafana_proxy.app", "seeding writes stores; it serves nothing"),
    ("grafana_proxy.seeding", "grafana_proxy.demo", "the demo uses seeding, not the other way"),
    ("grafana_proxy.stores", "grafana_proxy.targets", "stores are below targets"),
    ("grafana_proxy.stores", "grafana_proxy.ingest", "stores are below ingest"),
    ("grafana_proxy.stores", "grafana_proxy.runtime", "stores are below the composition root"),
    ("grafana_proxy.targets", "grafana_proxy.protocol", "targets know nothing of wire formats"),
    ("grafana_proxy.protocol", "grafana_proxy.stores", "a protocol module knows nothing of stores"),
    ("grafana_proxy.api", "grafana_proxy.protocol", "the write API does not depend on a wire format"),
    ("grafana_proxy.api", "grafana_proxy.targets", "the write API does not depend on targets"),
    ("grafana_proxy.targets", "grafana_proxy.api", "targets know nothing of HTTP"),
    ("grafana_proxy.targets", "grafana_proxy.auth", "targets see access through targets.base.ProjectAccess"),
    ("grafana_proxy.auth", "grafana_proxy.targets", "access keys and their scopes belong to auth"),
    ("grafana_proxy.observability", "grafana_proxy.targets", "metrics filter by the caller's auth.Access"),
    ("grafana_proxy.ingest", "grafana_proxy.monitoring", "ingest does not depend on monitoring"),
    ("grafana_proxy.ingest", "grafana_proxy.api", "ingest knows nothing of HTTP"),
    ("grafana_proxy.model", "grafana_proxy.", "model is the bottom: plain types only"),
    ("grafana_proxy.errors", "grafana_proxy.", "the error shape is used by every route; handlers map exceptions"),
    ("grafana_proxy.vocabulary", "grafana_proxy.", "the vocabulary is the bottom"),
    ("grafana_proxy.clock", "grafana_proxy.", "the clock is the bottom"),
]
# Only the composition root and the process entry points may wire the runtime.
RUNTIME_USERS = (
    "grafana_proxy.runtime",
    "grafana_proxy.app",
    "grafana_proxy.deps",
    "grafana_proxy.auth",
    "grafana_proxy.roles",
    "grafana_proxy.cli",
    "grafana_proxy.gateway.run",
    "grafana_proxy.monitoring.build",
    "grafana_proxy.protocol.dispatch",
    "grafana_proxy.api",
    "grafana_proxy.observability",
)


def _modules() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        imports: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imports.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imports.add(node.module)
                imports.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[name] = {i for i in imports if i.startswith("grafana_proxy")}
    return found


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix if prefix.endswith(".") else prefix + ".")


def test_no_import_runs_against_the_flow() -> None:
    modules = _modules()
    assert "grafana_proxy.runtime" in modules and "grafana_proxy.ingest.pipeline" in modules  # the walk works
    wrong = sorted(
        f"{module} imports {imported}: {why}"
        for module, imports in modules.items()
        for importer, forbidden, why in FORBIDDEN
        if _under(module, importer)
        for imported in imports
        if _under(imported, forbidden) and imported != "grafana_proxy"
    )
    assert wrong == []


def test_only_entry_points_use_the_runtime() -> None:
    wrong = sorted(
        f"{module} imports the runtime"
        for module, imports in _modules().items()
        if any(_under(i, "grafana_proxy.runtime") for i in imports)
        and not any(_under(module, user) for user in RUNTIME_USERS)
    )
    assert wrong == []
