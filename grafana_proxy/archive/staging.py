"""Uploaded files on their way from the api role to the ingest role, kept in the archive storage at
``<archive root>/_uploads/project=<p>/<upload id>.<format>`` until an ingest process has read them (the
leading ``_`` keeps them out of the raw-event dataset, like ``_reference``).

The archive storage is what every api and ingest process shares, on one machine or many (a directory, or
an object store such as ``s3://bucket/prefix``); their data directories and spools are their own. Only
fsspec is used here: the api role stages files without loading pandas or pyarrow."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fsspec.implementations.local import LocalFileSystem

from grafana_proxy.archive.layout import UnsafePath, open_root
from grafana_proxy.identifiers import problem

UPLOADS_DIR = "_uploads"


class StagedFileMissing(FileNotFoundError):
    """The staged file is gone from the archive storage (removed by hand, or another archive URL)."""


def staged_path(project: str, upload_id: str, fmt: str) -> str:
    """Where an upload is staged, relative to the archive root; built from checked identifiers only."""
    reason = problem("project", project)
    if reason is not None:
        raise UnsafePath(f"staged upload refused: {reason}")
    if not (upload_id.isalnum() and upload_id.isascii() and fmt.isalnum() and fmt.isascii()):
        raise UnsafePath(f"staged upload refused: id {upload_id!r}, format {fmt!r}")
    return f"{UPLOADS_DIR}/project={project}/{upload_id}.{fmt}"


def stage(url: str, local: Path, relative: str) -> None:
    """Move the local file ``local`` into the archive storage at ``relative`` (a rename on the same disk, a
    copy otherwise); ``local`` is gone afterwards."""
    fs, root = open_root(url)
    target = f"{root}/{relative}"
    if isinstance(fs, LocalFileSystem):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(local, target)
        return
    try:
        fs.put_file(str(local), target)  # an object store shows a put whole or not at all
    finally:
        local.unlink(missing_ok=True)


@contextmanager
def local_copy(url: str, relative: str, scratch: Path) -> Iterator[Path]:
    """The staged file as a local path for the readers (pyarrow reads row groups by seeking): the file
    itself on a local archive, else a copy under ``scratch``, removed when the block ends."""
    fs, root = open_root(url)
    source = f"{root}/{relative}"
    if isinstance(fs, LocalFileSystem):
        if not Path(source).is_file():
            raise StagedFileMissing(f"the uploaded file is gone from the archive storage ({relative})")
        yield Path(source)
        return
    scratch.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=scratch, prefix=".staged-", delete=False)
    handle.close()
    copy = Path(handle.name)
    try:
        try:
            fs.get_file(source, str(copy))
        except FileNotFoundError:
            raise StagedFileMissing(f"the uploaded file is gone from the archive storage ({relative})") from None
        yield copy
    finally:
        copy.unlink(missing_ok=True)


def remove_staged(url: str, relative: str) -> None:
    """Delete a staged file (read, or refused); a file already gone is fine."""
    fs, root = open_root(url)
    try:
        fs.rm_file(f"{root}/{relative}")
    except FileNotFoundError:
        pass
