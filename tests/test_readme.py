"""The settings table in docs/settings.md is generated from ``Settings``: this test fails when they differ
and prints the table to paste (or run ``python -m tests.test_readme`` to print it)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import AliasChoices

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


if __name__ == "__main__":
    print(settings_table())  # noqa: T201
