"""Training rows of an endpoint, kept next to its reference statistics for applications that compare
rows rather than histograms (Evidently's reports).

``reference set --from-file`` stores a uniform random sample of at most ``REFERENCE_SAMPLE_ROWS`` rows
(fixed seed, so setting the same file twice keeps the same rows) at
``<archive root>/_reference/project=<p>/endpoint_id=<uid>/reference.parquet``; the leading ``_`` keeps
it out of the raw-event dataset. 20,000 rows bound an Evidently run on the reference side to a fraction
of a second per window while keeping every reference bin populated for 20-bin histograms."""

from __future__ import annotations

from typing import TYPE_CHECKING

from grafana_proxy.archive.layout import open_root, write_atomic

if TYPE_CHECKING:
    import pandas as pd

REFERENCE_DIR = "_reference"
REFERENCE_SAMPLE_ROWS = 20_000


def reference_path(root: str, project: str, endpoint_uid: str) -> str:
    return f"{root}/{REFERENCE_DIR}/project={project}/endpoint_id={endpoint_uid}/reference.parquet"


def write_reference(url: str, project: str, endpoint_uid: str, frame: pd.DataFrame) -> int:
    """Keep (a sample of) the training rows; return how many rows were kept."""
    import pyarrow as pa

    if len(frame) > REFERENCE_SAMPLE_ROWS:
        frame = frame.sample(n=REFERENCE_SAMPLE_ROWS, random_state=0).sort_index()
    # Column names become text: Parquet needs them, and features are looked up by name.
    frame = frame.rename(columns=str).reset_index(drop=True)
    fs, root = open_root(url)
    write_atomic(fs, reference_path(root, project, endpoint_uid), pa.Table.from_pandas(frame, preserve_index=False))
    return len(frame)


def read_reference(url: str, project: str, endpoint_uid: str) -> pd.DataFrame | None:
    """The kept training rows, or None when ``reference set --from-file`` never kept any."""
    import pyarrow.parquet as pq

    fs, root = open_root(url)
    path = reference_path(root, project, endpoint_uid)
    if not fs.exists(path):
        return None
    with fs.open(path, "rb") as f:
        frame: pd.DataFrame = pq.read_table(f).to_pandas()
    return frame
