"""Artifacts on every backend: the keeper writes the file into the archive storage and the row into the
database, a window analysed again replaces both, queries filter by project/endpoint/application/time,
and retention removes rows and files of old windows only."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from grafana_proxy.archive.artifacts import ArtifactKeeper, artifact_id
from grafana_proxy.model import TimeRange
from grafana_proxy.stores.base import Stores

DAY = 86_400_000
NOW = 1_800_000_000_000


def keeper(stores: Stores, tmp_path: Path, url: str | None = None) -> ArtifactKeeper:
    return ArtifactKeeper(url or str(tmp_path / "archive"), stores.artifacts, clock=lambda: NOW)


def test_save_read_replace_and_query(stores: Stores, tmp_path: Path) -> None:
    keep = keeper(stores, tmp_path)
    first = keep.save("p", "ep", "evidently-data-drift", NOW - 600_000, NOW, "report.html", b"<p>1</p>", "text/html")
    assert first.artifact_id == artifact_id("p", "ep", "evidently-data-drift", NOW, "report.html")
    # Text is kept gzip-compressed; the row's size is the content's.
    assert gzip.decompress((tmp_path / "archive" / first.path).read_bytes()) == b"<p>1</p>"
    assert first.path.startswith("_artifacts/project=p/endpoint_id=ep/") and first.path.endswith(".gz")
    again = keep.save("p", "ep", "evidently-data-drift", NOW - 600_000, NOW, "report.html", b"<p>22</p>", "text/html")
    assert again.artifact_id == first.artifact_id
    found = keep.store.get("p", "ep", first.artifact_id)
    assert found is not None and found.size == 9 and keep.read(found) == b"<p>22</p>"
    stored = keep.read_stored(found)
    assert stored is not None and stored[1] == "gzip" and gzip.decompress(stored[0]) == b"<p>22</p>"
    keep.save("p", "ep", "data-quality", NOW - 1_200_000, NOW - 600_000, "summary.json", b"{}", "application/json")
    keep.save("p", "other", "data-quality", NOW - 600_000, NOW, "summary.json", b"{}", "application/json")
    keep.save("q", "ep", "data-quality", NOW - 600_000, NOW, "summary.json", b"{}", "application/json")
    listed = keep.store.query("p", TimeRange(NOW - DAY, NOW + 1), ["ep"])
    assert [(a.application, a.end_infer_time) for a in listed] == [
        ("evidently-data-drift", NOW),
        ("data-quality", NOW - 600_000),
    ]
    assert [a.endpoint_uid for a in keep.store.query("p", None, None, "data-quality")] == ["other", "ep"]
    assert keep.store.query("p", TimeRange(NOW - DAY, NOW - 600_000), ["ep"]) == []  # half-open range
    # One project's id never opens another project's artifact.
    assert keep.store.get("q", "ep", first.artifact_id) is None
    assert keep.store.get("p", "other", first.artifact_id) is None


def test_retention_removes_old_rows_and_files_only(stores: Stores, tmp_path: Path) -> None:
    keep = keeper(stores, tmp_path)
    old = keep.save("p", "ep", "app", NOW - 40 * DAY, NOW - 40 * DAY + 600_000, "a.json", b"1", "application/json")
    new = keep.save("p", "ep", "app", NOW - DAY, NOW - DAY + 600_000, "a.json", b"2", "application/json")
    report = keep.prune(35 * DAY)
    assert (report.rows, report.files) == (1, 1)
    assert not (tmp_path / "archive" / old.path).exists() and (tmp_path / "archive" / new.path).exists()
    assert [a.artifact_id for a in keep.store.query("p")] == [new.artifact_id]
    assert keep.prune(35 * DAY).rows == 0


def test_bad_artifacts_are_refused_before_anything_is_written(sqlite_stores: Stores, tmp_path: Path) -> None:
    keep = keeper(sqlite_stores, tmp_path)
    with pytest.raises(ValueError, match="artifact name"):
        keep.save("p", "ep", "app", 0, 1, "../escape.html", b"x", "text/html")
    with pytest.raises(ValueError, match="media type"):
        keep.save("p", "ep", "app", 0, 1, "a.html", b"x", "html")
    assert keep.store.query("p") == [] and not (tmp_path / "archive").exists()


def test_any_fsspec_url_holds_the_files(sqlite_stores: Stores, tmp_path: Path) -> None:
    keep = keeper(sqlite_stores, tmp_path, "memory://gp-artifacts-test")
    saved = keep.save("p", "ep", "app", 0, 600_000, "plot.png", b"\x89PNG", "image/png")
    assert keep.read(saved) == b"\x89PNG" and keep.read_stored(saved) == (b"\x89PNG", None)  # images as they are
    assert keep.prune(1).files == 1 and keep.store.query("p") == []
