"""Result rows, the console table and the JSON file."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table


@dataclass
class Row:
    """One line of the table. ``ours``/``theirs`` share ``unit``; ``theirs`` is the comparison (Prometheus,
    a bare SQL select, the model service called directly) and ``theirs_label`` names it or says why it
    is missing ("not installed"). ``status`` is "measured", "pending: <why>" or "failed: <why>"."""

    id: str
    title: str
    unit: str
    goal: str
    ours: float | None = None
    theirs: float | None = None
    theirs_label: str = ""
    met: bool | None = None
    status: str = "measured"
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.ours is None or self.theirs is None or self.theirs == 0:
            return None
        return self.ours / self.theirs

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratio"] = None if self.ratio is None else round(self.ratio, 4)
        return out


def pending(row: Row, why: str) -> Row:
    row.status = f"pending: {why}"
    row.met = None
    return row


def _number(value: float | None, unit: str) -> str:
    if value is None or math.isnan(value):
        return "-"
    if unit == "events/s":
        return f"{value:,.0f} events/s"
    if abs(value) >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:.3g} {unit}"


def render(rows: list[Row], console: Console, title: str) -> None:
    table = Table(title=title, show_lines=False)
    for name in ("", "what", "ours", "comparison", "ratio", "goal", "met?"):
        table.add_column(name, overflow="fold")
    for row in rows:
        theirs = _number(row.theirs, row.unit) if row.theirs is not None else "-"
        if row.theirs_label:
            theirs = f"{theirs} ({row.theirs_label})" if row.theirs is not None else row.theirs_label
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
        met = {True: "[green]yes[/]", False: "[red]NO[/]", None: "-"}[row.met]
        ours = _number(row.ours, row.unit) if row.status == "measured" else row.status
        table.add_row(row.id, row.title, ours, theirs, ratio, row.goal, met)
    console.print(table)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))


def _md_value(value: float | None, unit: str, status: str) -> str:
    if not status.startswith("measured"):
        return status
    return _number(value, unit)


def markdown_table(payload: dict[str, Any]) -> str:
    """The table of a results file as Markdown (for RESULTS.md): ``python -m benchmarks.report FILE``."""
    lines = [
        "| | what | ours | comparison | ratio | goal | met? |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in payload["rows"]:
        theirs = _number(row["theirs"], row["unit"]) if row["theirs"] is not None else "-"
        if row["theirs_label"]:
            theirs = f"{theirs} ({row['theirs_label']})" if row["theirs"] is not None else row["theirs_label"]
        ratio = f"{row['ratio']:.2f}x" if row["ratio"] is not None else "-"
        met = {True: "yes", False: "**no**", None: "-"}[row["met"]]
        ours = _md_value(row["ours"], row["unit"], row["status"])
        lines.append(f"| {row['id']} | {row['title']} | {ours} | {theirs} | {ratio} | {row['goal']} | {met} |")
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    print(markdown_table(orjson.loads(Path(sys.argv[1]).read_bytes())))  # noqa: T201
