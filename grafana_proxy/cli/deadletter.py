"""``grafana-proxy deadletter list|show|replay|drop``: records the ingest fold could not apply.

A replay only flags the record: the process that owns its spool (``serve``, or the gateway) puts it back
into its fold within about a second, or at its next start."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from grafana_proxy.cli.common import err, fail, load_settings, opened_stores, out
from grafana_proxy.stores.deadletters import DeadLetter

app = typer.Typer(help="Ingest records that could not be applied: inspect, replay after a fix, or drop.")

LetterId = Annotated[int, typer.Argument(help="The id shown by `deadletter list`.")]


def _when(epoch_ms: int | None) -> str:
    if epoch_ms is None:
        return ""
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _last_line(error: str) -> str:
    lines = [line for line in error.strip().splitlines() if line.strip()]
    return lines[-1][:120] if lines else ""


@app.command("list")
def list_letters(
    source: Annotated[str | None, typer.Option("--source", help="Only this consumer, e.g. spool:serve.")] = None,
) -> None:
    """Every dead letter: id, source, position, size, attempts, when, and the last line of its error."""
    with opened_stores(load_settings()) as stores:
        letters = stores.dead_letters.letters(source)
    # Tab-separated lines, not a rich table: a narrow terminal must not cut the error, and scripts parse it.
    out.print("id\tsource\tposition\tbytes\tattempts\tsince (UTC)\treplay\terror", markup=False)
    for letter in letters:
        replay = "requested" if letter.replay_requested_at is not None else "-"
        fields = (letter.id, letter.source, letter.position, len(letter.payload), letter.attempts)
        line = "\t".join(str(f) for f in fields)
        out.print(f"{line}\t{_when(letter.created_at)}\t{replay}\t{_last_line(letter.error)}", markup=False)
    err.print(f"{len(letters)} dead letter(s)")


def _find(letter_id: int) -> DeadLetter:
    with opened_stores(load_settings()) as stores:
        letter = stores.dead_letters.get(letter_id)
    if letter is None:
        raise fail(f"no dead letter {letter_id}; see `grafana-proxy deadletter list`")
    return letter


@app.command()
def show(
    letter_id: LetterId,
    payload_only: Annotated[bool, typer.Option("--payload", help="Write only the record's bytes to stdout.")] = False,
) -> None:
    """The record's error (stderr) and its bytes exactly as they were spooled (stdout)."""
    letter = _find(letter_id)
    if not payload_only:
        err.print(f"dead letter {letter.id}: {letter.source} position {letter.position}, {letter.attempts} attempts")
        err.print(letter.error, markup=False, highlight=False)
    sys.stdout.buffer.write(letter.payload)
    sys.stdout.buffer.write(b"\n")
    sys.stdout.flush()


@app.command()
def replay(letter_id: LetterId) -> None:
    """Ask the owning process to fold the record again (after fixing what made it fail)."""
    with opened_stores(load_settings()) as stores:
        found = stores.dead_letters.request_replay(letter_id)
    if not found:
        raise fail(f"no dead letter {letter_id}; see `grafana-proxy deadletter list`")
    err.print(f"dead letter {letter_id} flagged: the process that owns its spool replays it within a second")


@app.command()
def drop(letter_id: LetterId) -> None:
    """Delete the record for good."""
    with opened_stores(load_settings()) as stores:
        removed = stores.dead_letters.remove([letter_id])
    if not removed:
        raise fail(f"no dead letter {letter_id}; see `grafana-proxy deadletter list`")
    err.print(f"dead letter {letter_id} dropped")
