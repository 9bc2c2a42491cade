"""Help output that reads like prose: flags show no type, value options show one plain word (``TEXT``,
``INTEGER``, ``NUMBER``, ``PATH`` or the choices), and docstrings wrapped in the source are re-flowed.

Typer renders every option's Python type as ``<bool>`` / ``<str>`` (flags and ``--help`` included) and
keeps a docstring's source line breaks in Rich mode. ``TidyGroup`` is the root group's class; it
tidies itself and every command below it the first time click resolves them, so each command module
stays plain typer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer.core

_TYPE_WORDS: dict[Any, str] = {int: "INTEGER", float: "NUMBER", str: "TEXT", Path: "PATH"}
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def reflow(text: str | None) -> str | None:
    """Join the lines of each paragraph (blank-line separated); a paragraph starting with ``\\b`` (click's
    "keep as is" marker) is left alone."""
    if not text:
        return text
    paragraphs = _PARAGRAPH_BREAK.split(text.strip())
    flowed = [p if p.startswith("\b") else " ".join(line.strip() for line in p.splitlines()) for p in paragraphs]
    return "\n\n".join(flowed)


def _metavar(option: typer.core.TyperOption) -> str:
    if option.is_flag or option.count:
        return ""
    descriptor = option.type_descriptor
    if descriptor.is_choice and descriptor.choices is not None:
        return "|".join(str(getattr(choice, "value", choice)) for choice in descriptor.choices)
    if descriptor.is_path:
        return "PATH"
    annotation = descriptor.annotation
    args = getattr(annotation, "__args__", ())
    if args and getattr(annotation, "__origin__", None) is list:
        annotation = args[0]
    return _TYPE_WORDS.get(annotation, "VALUE")


def _no_type(**_: Any) -> None:
    return None


def tidy(command: Any) -> None:
    """Tidy ``command`` and, for a group, every command below it (idempotent)."""
    if getattr(command, "_help_tidied", False):
        return
    command._help_tidied = True
    command.help = reflow(command.help)
    command.short_help = reflow(command.short_help)
    for param in command.params:
        if isinstance(param, typer.core.TyperOption) and param.metavar is None:
            param.metavar = _metavar(param)
        if isinstance(param, typer.core.TyperArgument) and param.metavar is None and param.name:
            param.metavar = param.name.upper()  # "KEY_ID" in the usage line, not "key_id"
            # An argument's name already says what it is; typer has no switch for its "<str>" column.
            setattr(param, "display_type_rich", _no_type)  # noqa: B010
        if isinstance(param, typer.core.TyperOption | typer.core.TyperArgument):
            param.help = reflow(param.help)
    for child in getattr(command, "commands", {}).values():
        tidy(child)


class TidyGroup(typer.core.TyperGroup):
    """The root group: tidies the command tree before any help is rendered."""

    def get_params(self, ctx: Any) -> Any:
        tidy(self)
        params = super().get_params(ctx)
        for param in params:  # --help and the completion options are added late, outside self.params
            if isinstance(param, typer.core.TyperOption) and param.metavar is None:
                param.metavar = _metavar(param)
        return params

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        tidy(self)
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _tidy_help_option(command, ctx)
        return command


def _tidy_help_option(command: Any, ctx: Any) -> None:
    """Every command's ``--help`` is made on demand by click, after ``tidy`` ran; give it no type too, at
    every depth (``monitoring apps set``)."""
    help_option = command.get_help_option(ctx)
    if help_option is not None:
        help_option.metavar = ""
    for child in getattr(command, "commands", {}).values():
        _tidy_help_option(child, ctx)
