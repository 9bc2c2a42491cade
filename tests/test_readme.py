"""The README's settings table is generated from ``Settings``: this test fails when they differ and
prints the table to paste (or run ``python -m tests.test_readme`` to print it)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

from grafana_proxy.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"
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


def settings_table() -> str:
    prefix = Settings.model_config.get("env_prefix", "")
    lines = ["| Environment variable | Default | Meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        description = _markdown(field.description or "")
        lines.append(f"| `{prefix}{name.upper()}` | {_default(field.default)} | {description} |")
    return "\n".join(lines)


def readme_table() -> str:
    text = README.read_text(encoding="utf-8")
    assert START in text and END in text, f"README.md lacks the {START} ... {END} markers"
    return text.split(START, 1)[1].split(END, 1)[0].strip()


def test_readme_lists_every_setting_as_the_model_defines_it() -> None:
    expected = settings_table()
    assert readme_table() == expected, f"README settings table is stale; replace it with:\n\n{expected}\n"


def test_every_setting_has_a_description() -> None:
    missing = [name for name, field in Settings.model_fields.items() if not field.description]
    assert missing == []


if __name__ == "__main__":
    print(settings_table())  # noqa: T201
