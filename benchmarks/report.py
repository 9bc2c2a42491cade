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
    # The same request on PostgreSQL (Q1-Q4): its median in ``unit``, or why there is none.
    postgres: float | None = None
    postgres_label: str = ""
    postgres_met: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.ours is None or self.theirs is None or self.theirs == 0:
            return None
        return self.ours / self.theirs

    @property
    def postgres_ratio(self) -> float | None:
        """PostgreSQL's median over Prometheus' (None for rows compared with something else, e.g. Q4)."""
        if self.postgres is None or not self.theirs or self.theirs_label != "Prometheus":
            return None
        return self.postgres / self.theirs

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratio"] = None if self.ratio is None else round(self.ratio, 4)
        out["postgres_ratio"] = None if self.postgres_ratio is None else round(self.postgres_ratio, 4)
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


def _postgres(value: float | None, ratio: float | None, label: str, met: bool | None, unit: str) -> str:
    """The PostgreSQL cell: median, ratio to the comparison and whether its goal is met."""
    if value is None:
        return label or "-"
    cell = _number(value, unit)
    if ratio is not None:
        cell += f", {ratio:.2f}x"
    return cell + {True: " (met)", False: " (**not met**)", None: ""}[met]


def render(rows: list[Row], console: Console, title: str) -> None:
    table = Table(title=title, show_lines=False)
    for name in ("", "what", "ours", "comparison", "ratio", "goal", "met?", "PostgreSQL"):
        table.add_column(name, overflow="fold")
    for row in rows:
        theirs = _number(row.theirs, row.unit) if row.theirs is not None else "-"
        if row.theirs_label:
            theirs = f"{theirs} ({row.theirs_label})" if row.theirs is not None else row.theirs_label
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
        met = {True: "[green]yes[/]", False: "[red]NO[/]", None: "-"}[row.met]
        ours = _number(row.ours, row.unit) if row.status == "measured" else row.status
        pg = _postgres(row.postgres, row.postgres_ratio, row.postgres_label, row.postgres_met, row.unit)
        table.add_row(row.id, row.title, ours, theirs, ratio, row.goal, met, pg.replace("**", ""))
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
        "| | what | ours | comparison | ratio | goal | met? "
        "| PostgreSQL (ratio to Prometheus; goal <= 1.5x, Q4 <= 75 ms) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in payload["rows"]:
        theirs = _number(row["theirs"], row["unit"]) if row["theirs"] is not None else "-"
        if row["theirs_label"]:
            theirs = f"{theirs} ({row['theirs_label']})" if row["theirs"] is not None else row["theirs_label"]
        ratio = f"{row['ratio']:.2f}x" if row["ratio"] is not None else "-"
        met = {True: "yes", False: "**no**", None: "-"}[row["met"]]
        ours = _md_value(row["ours"], row["unit"], row["status"])
        pg = _postgres(
            row.get("postgres"),
            row.get("postgres_ratio"),
            row.get("postgres_label", ""),
            row.get("postgres_met"),
            row["unit"],
        )
        lines.append(f"| {row['id']} | {row['title']} | {ours} | {theirs} | {ratio} | {row['goal']} | {met} | {pg} |")
    return "\n".join(lines)


def tails_table(payload: dict[str, Any]) -> str:
    """Median / p90 / p99 / min of every timed row, each side (the second table of RESULTS.md)."""
    lines = [
        "| | ours: median / p90 / p99 / min (ms) | comparison: median / p90 / p99 / min (ms) "
        "| PostgreSQL: median / p90 / p99 / min (ms) |",
        "|---|---|---|---|",
    ]
    for row in payload["rows"]:
        details = row.get("details") or {}
        if "ours" not in details or not isinstance(details["ours"], dict):
            continue
        cells = [
            _summary(details.get(key))
            for key in ("ours", "prometheus" if "prometheus" in details else "bare", "postgres")
        ]
        lines.append(f"| {row['id']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _summary(summary: Any) -> str:
    if not isinstance(summary, dict) or "median_ms" not in summary:
        return "-"
    return " / ".join(f"{summary[k]:.1f}" for k in ("median_ms", "p90_ms", "p99_ms", "min_ms"))


def memory_table(payload: dict[str, Any]) -> str:
    """Every process of our service with its peak and current resident memory (the M1 rows' details)."""
    lines = ["| row | pid | role | VmHWM (MB) | VmRSS (MB) |", "|---|---|---|---|---|"]
    for row in payload["rows"]:
        for process in (row.get("details") or {}).get("processes", []):
            lines.append(
                f"| {row['id']} | {process['pid']} | {process['role']} | {process.get('VmHWM', '-')} | "
                f"{process.get('VmRSS', '-')} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    loaded = orjson.loads(Path(sys.argv[1]).read_bytes())
    print("\n\n".join((markdown_table(loaded), tails_table(loaded), memory_table(loaded))))  # noqa: T201
