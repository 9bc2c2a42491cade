"""The raw-event archive: a hive-partitioned Parquet dataset (project / endpoint_id / date)."""

from grafana_proxy.archive.compact import CompactionReport, compact
from grafana_proxy.archive.reader import read_window

__all__ = ["CompactionReport", "compact", "read_window"]
