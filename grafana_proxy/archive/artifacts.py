"""Artifacts of monitoring applications (an HTML report, a JSON document, a PNG plot of one window),
kept in the archive storage next to the raw events, with one database row each.

Files go under ``<archive root>/_artifacts/project=<p>/endpoint_id=<uid>/<id>-<name>``. The leading
``_`` keeps them out of Parquet dataset discovery of the archive (pyarrow skips ``_`` and ``.`` names),
and out of the ``project=`` partitions the reader and compaction walk.

The id is a digest of (project, endpoint, application, window end, name), so analysing a window again
overwrites the file and replaces the row instead of adding a second one. The file is written before the
row: a row never points at a file that was not written (a crash in between leaves a file the next
analysis of that window overwrites)."""

from __future__ import annotations

import gzip
import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from grafana_proxy.archive.layout import open_root
from grafana_proxy.clock import now_ms
from grafana_proxy.model import Artifact
from grafana_proxy.stores.base import ArtifactStore

ARTIFACTS_DIR = "_artifacts"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
CONTENT_TYPE_PATTERN = re.compile(r"^[a-z0-9.+\-]+/[a-z0-9.+\-]+(; ?charset=[A-Za-z0-9_\-]+)?$")
# An Evidently report with its JavaScript bundle is ~4 MB; a limit keeps a faulty application from
# filling the storage with one window.
MAX_ARTIFACT_BYTES = 64 * 1024 * 1024


def compressible(content_type: str) -> bool:
    """Text-like files (HTML reports, JSON documents) are kept gzip-compressed: an Evidently report's
    embedded JavaScript shrinks about 3x. Images are already compressed."""
    media = content_type.split(";", 1)[0]
    return media.startswith("text/") or media in ("application/json", "image/svg+xml") or media.endswith("+json")


def artifact_id(project: str, endpoint_uid: str, application: str, end_ms: int, name: str) -> str:
    key = "\x1f".join((project, endpoint_uid, application, str(end_ms), name))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def check_artifact(name: str, content_type: str, size: int) -> None:
    """ValueError naming what is wrong with an artifact an application returned."""
    if not NAME_PATTERN.match(name):
        raise ValueError(f"artifact name {name!r} must be 1 to 128 letters, digits, '_', '.' or '-'")
    if not CONTENT_TYPE_PATTERN.match(content_type):
        raise ValueError(f"artifact {name!r}: content type {content_type!r} is not a media type like text/html")
    if size > MAX_ARTIFACT_BYTES:
        raise ValueError(f"artifact {name!r} is {size} bytes; at most {MAX_ARTIFACT_BYTES} are kept")


@dataclass(frozen=True)
class PruneReport:
    rows: int
    files: int


class ArtifactKeeper:
    """Writes, reads and expires artifacts: files in the archive storage, rows in the database."""

    def __init__(self, url: str, store: ArtifactStore, clock: Callable[[], int] = now_ms) -> None:
        self.url = url
        self.store = store
        self.clock = clock
        self._fs, self._root = open_root(url)

    def save(
        self,
        project: str,
        endpoint_uid: str,
        application: str,
        start_ms: int,
        end_ms: int,
        name: str,
        content: bytes,
        content_type: str,
    ) -> Artifact:
        check_artifact(name, content_type, len(content))
        ident = artifact_id(project, endpoint_uid, application, end_ms, name)
        path = f"{ARTIFACTS_DIR}/project={project}/endpoint_id={endpoint_uid}/{ident}-{name}"
        stored = content
        if compressible(content_type):
            path += ".gz"
            stored = gzip.compress(content, compresslevel=6, mtime=0)
        self._write(f"{self._root}/{path}", stored)
        artifact = Artifact(
            artifact_id=ident,
            project=project,
            endpoint_uid=endpoint_uid,
            application=application,
            name=name,
            start_infer_time=start_ms,
            end_infer_time=end_ms,
            content_type=content_type,
            size=len(content),
            path=path,
            created_at=self.clock(),
        )
        self.store.put(artifact)
        return artifact

    def _write(self, full_path: str, content: bytes) -> None:
        """A hidden temporary name, then a rename: a reader sees the old file or the new one, never half."""
        directory, _, name = full_path.rpartition("/")
        self._fs.makedirs(directory, exist_ok=True)
        tmp = f"{directory}/.{name}.{uuid.uuid4().hex}.tmp"
        with self._fs.open(tmp, "wb") as f:
            f.write(content)
        self._fs.mv(tmp, full_path)

    def read_stored(self, artifact: Artifact) -> tuple[bytes, str | None] | None:
        """The file as stored and its encoding ("gzip" or None); None when it is gone (removed by
        retention between the lookup and the read)."""
        try:
            with self._fs.open(f"{self._root}/{artifact.path}", "rb") as f:
                data: bytes = f.read()
        except FileNotFoundError:
            return None
        return data, "gzip" if artifact.path.endswith(".gz") else None

    def read(self, artifact: Artifact) -> bytes | None:
        """The artifact's content as the application returned it; None when the file is gone."""
        stored = self.read_stored(artifact)
        if stored is None:
            return None
        data, encoding = stored
        return gzip.decompress(data) if encoding == "gzip" else data

    def _remove(self, artifacts: list[Artifact]) -> int:
        removed = 0
        for artifact in artifacts:
            try:
                self._fs.rm(f"{self._root}/{artifact.path}")
                removed += 1
            except FileNotFoundError:
                pass
        return removed

    def prune(self, retention_ms: int) -> PruneReport:
        """Remove the artifacts of windows that ended more than ``retention_ms`` ago: files first, then
        rows, so a row whose file is gone only lives until the delete that follows."""
        cutoff = self.clock() - retention_ms
        rows = files = 0
        while True:
            batch = self.store.older_than(cutoff)
            if not batch:
                return PruneReport(rows, files)
            files += self._remove(batch)
            deleted = self.store.delete([a.artifact_id for a in batch])
            rows += deleted
            if not deleted:  # another process removed them first: nothing is left for this pass
                return PruneReport(rows, files)

    def forget_endpoint(self, project: str, endpoint_uid: str) -> int:
        """Remove every artifact of a deleted endpoint; return how many."""
        found = self.store.delete_endpoint(project, endpoint_uid)
        self._remove(found)
        return len(found)
