"""The settings table in docs/settings.md is generated from ``Settings``: this test fails when they differ
and prints the table to paste (or run ``python -m tests.test_readme`` to print it)."""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import AliasChoices

from grafana_proxy.cli.demo import demo, ready_block
from grafana_proxy.demo.live import DEMO_SETTINGS, LIVE_PROJECT, LivePlan
from grafana_proxy.demo.setup import DEMO_DAYS, DEMO_PROJECTS, DemoInfo, datasource_url
from grafana_proxy.seeding.seeder import SeedReport
from grafana_proxy.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SETTINGS_DOC = ROOT / "docs" / "settings.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def _default(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, Path):
        value = str(value) if value.is_absolute() else f"./{value}"
    return f"`{value}`"


def _markdown(text: str) -> str:
    """Table-safe text: pipes escaped; ``<`` and ``>`` outside code spans escaped, or Markdown takes
    ``<data_dir>`` for an HTML tag and hides it."""
    parts = text.replace("|", "\\|").replace("\n", " ").split("`")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


def env_names(name: str) -> list[str]:
    """The environment variables a field is read from: ``GRAFANA_PROXY_<NAME>``, or its alias choices."""
    field = Settings.model_fields[name]
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    if isinstance(alias, str):
        return [alias]
    return [f"{Settings.model_config.get('env_prefix', '')}{name.upper()}"]


def settings_table() -> str:
    lines = ["| Environment variable | Default | Meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        first, *aliases = env_names(name)
        variable = f"`{first}`" + "".join(f" (or `{alias}`)" for alias in aliases)
        description = _markdown(field.description or "")
        lines.append(f"| {variable} | {_default(field.default)} | {description} |")
    return "\n".join(lines)


def documented_table() -> str:
    text = SETTINGS_DOC.read_text(encoding="utf-8")
    assert START in text and END in text, f"docs/settings.md lacks the {START} ... {END} markers"
    return text.split(START, 1)[1].split(END, 1)[0].strip()


def test_settings_doc_lists_every_setting_as_the_model_defines_it() -> None:
    expected = settings_table()
    assert documented_table() == expected, f"docs/settings.md table is stale; replace it with:\n\n{expected}\n"


def test_readme_links_the_settings_doc() -> None:
    assert "(docs/settings.md)" in README.read_text(encoding="utf-8")


def test_every_setting_has_a_description() -> None:
    missing = [name for name, field in Settings.model_fields.items() if not field.description]
    assert missing == []


# --- The README's sample outputs are what the demo really prints -----------------------------------


def readme_demo_output() -> str:
    text = README.read_text(encoding="utf-8")
    start, end = "<!-- demo-output:start -->", "<!-- demo-output:end -->"
    assert start in text and end in text, f"README.md lacks the {start} ... {end} markers"
    block = text.split(start, 1)[1].split(end, 1)[0].strip()
    assert block.startswith("```") and block.endswith("```")
    return block.strip("`").strip()


def readme_list_projects_answer() -> list[str]:
    """The answer the README's curl section shows for ``target_endpoint=list_projects``."""
    match = re.search(r"target_endpoint=list_projects.*?#\s*(\[.*?\])", README.read_text(encoding="utf-8"), re.S)
    assert match, "README.md shows no answer of list_projects"
    answer: list[str] = json.loads(match.group(1))
    return answer


def demo_defaults_block(key: str = "gp_...", seeded: bool = True) -> str:
    """What ``grafana-proxy demo`` with no options prints on a first (or later) run, the key elided."""
    defaults = {name: p.default for name, p in inspect.signature(demo).parameters.items()}
    plan = replace(
        LivePlan(),
        **{k: defaults[k] for k in ("host", "port", "gateway_port", "model_port", "rate", "duration", "drift_after")},
    )
    history = sorted(project for project, _ in DEMO_PROJECTS)
    reports = [SeedReport(p, n, 0, 0, 0, int(DEMO_DAYS * 86_400_000), 0.0) for p, n in DEMO_PROJECTS]
    info = DemoInfo(
        url=datasource_url(plan.host, plan.port),
        key=key,
        key_id="",
        projects=history,
        seeded=reports if seeded else [],
        live_project=LIVE_PROJECT,
    )
    return ready_block(info, plan, DEMO_SETTINGS["monitoring_base_period_minutes"], history)


def test_readme_demo_output_is_what_the_demo_prints() -> None:
    assert readme_demo_output() == demo_defaults_block(), "paste this into README.md:\n\n" + demo_defaults_block()


def test_second_run_keeps_the_history_line_and_the_readme_says_how_it_reads() -> None:
    again = demo_defaults_block(seeded=False).splitlines()
    first = demo_defaults_block().splitlines()
    assert [line.split(":")[0] for line in again] == [line.split(":")[0] for line in first]
    (history,) = [line for line in again if line.startswith("History:")]
    assert "fraud-demo, retail-demo" in history and history.endswith("seeded by an earlier run")
    assert '"seeded by an earlier run"' in README.read_text(encoding="utf-8")


def test_readme_list_projects_answer_names_every_demo_project() -> None:
    """Checked against a running demo in tests/cli/test_demo_live.py; here against the demo's plan."""
    assert readme_list_projects_answer() == sorted([*(p for p, _ in DEMO_PROJECTS), LIVE_PROJECT])


if __name__ == "__main__":
    print(settings_table())  # noqa: T201
