"""Every command's ``--help`` reads cleanly: no Python type placeholders (``<bool>``, ``<str>``...), flags
show no type at all, and a docstring wrapped in the source comes out as whole sentences."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import typer.main
from typer.testing import CliRunner

from grafana_proxy import __version__
from grafana_proxy.cli.main import app

PLACEHOLDER = re.compile(r"<(?:bool|str|int|float|path|list\[[^\]]*\]|[a-z_]+)>")
WIDE = {"COLUMNS": "250", "TERMINAL_WIDTH": "250"}


def _walk(command: object, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], object]]:
    yield path, command
    for name, child in sorted(getattr(command, "commands", {}).items()):
        yield from _walk(child, (*path, name))


ROOT = typer.main.get_command(app)
COMMANDS = list(_walk(ROOT))


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env=WIDE)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_walk_finds_every_command() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"", "serve", "demo", "provision", "dashboards build", "keys create", "archive compact"} <= names
    assert len(names) >= 18


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=lambda p: " ".join(p) or "root")
def test_help_has_no_type_placeholders_and_flags_have_no_type(path: tuple[str, ...]) -> None:
    text = _help(path)
    assert PLACEHOLDER.search(text) is None, text
    for line in text.splitlines():
        if re.search(r"--help\b", line):
            assert re.search(r"--help\s+Show this message", line), line
    assert "Usage: " in text


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=lambda p: " ".join(p) or "root")
def test_help_sentences_are_not_broken_mid_line(path: tuple[str, ...]) -> None:
    """On a wide terminal, the command's first paragraph is one line, in its own help and in its
    parent's command list (the wrapped docstrings of ``provision`` and ``dashboards build`` were not)."""
    command = dict(COMMANDS)[path]
    source = (getattr(command, "help", None) or "").strip().split("\n\n")[0]
    if not source:
        return
    first = " ".join(line.strip() for line in source.splitlines())
    lines = [" ".join(line.strip(" │").split()) for line in _help(path).splitlines()]
    assert first in lines, f"{first!r} is broken across lines:\n" + "\n".join(lines)
    if path:
        parent = [" ".join(line.strip(" │").split()) for line in _help(path[:-1]).splitlines()]
        assert any(line.endswith(first) and line.startswith(path[-1]) for line in parent), "\n".join(parent)


def test_version_flag_prints_the_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"grafana-proxy {__version__}"
