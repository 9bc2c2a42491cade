"""What a fresh clone contains reads on its own: no paths of the machines it was written on, no
references to documents outside the repository, and the license pyproject.toml declares."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTSIDE = re.compile(r"/work/|\bissues? #?\d|peers\.md|§", re.IGNORECASE)
CHECKED = ["grafana_proxy", "tests", "benchmarks", "scripts", "docs", ".ci"]
TOP_FILES = ["README.md", "CHANGELOG.md", "Dockerfile", "docker-compose.yml", "pyproject.toml", ".env.example"]


def _files() -> list[Path]:
    found = [ROOT / name for name in TOP_FILES]
    for folder in CHECKED:
        found += [p for p in (ROOT / folder).rglob("*") if p.is_file() and p.suffix not in (".pyc", ".parquet")]
    skipped = {"__pycache__", "out", "node_modules"}  # generated, or installed from a registry
    return [p for p in found if p.exists() and not skipped.intersection(p.parts)]


def test_no_machine_paths_or_outside_references() -> None:
    hits = []
    for path in _files():
        if path == Path(__file__):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert hits == []


def test_license_file_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.lstrip().startswith("Apache License") and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_changelog_follows_keep_a_changelog_and_names_this_version() -> None:
    from grafana_proxy import __version__

    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert text.startswith("# Changelog") and "Keep a Changelog" in text
    assert "## [Unreleased]" in text
    assert re.search(rf"^## \[{re.escape(__version__)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", text, re.MULTILINE)
    assert "(docs/upgrading.md)" in text and "(docs/upgrading.md)" in (ROOT / "README.md").read_text()


def test_relative_links_in_the_documentation_resolve() -> None:
    """Every relative link of README.md, CHANGELOG.md and docs/*.md names a file of the repository (and,
    with ``#anchor``, a heading of it)."""
    broken = []
    for doc in [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue  # http(s), mailto
            path, _, anchor = target.partition("#")
            file = (doc.parent / path).resolve() if path else doc
            if not file.exists():
                broken.append(f"{doc.relative_to(ROOT)} -> {target}")
            elif anchor:
                headings = re.findall(r"^#+ (.+)$", file.read_text(encoding="utf-8"), re.MULTILINE)
                slugs = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}
                if anchor not in slugs:
                    broken.append(f"{doc.relative_to(ROOT)} -> {target} (no such heading)")
    assert broken == []
