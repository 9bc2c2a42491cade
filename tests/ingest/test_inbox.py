"""The hand-off between processes: writers (api workers, gateways) append to their own inbox, the ingest
process copies every inbox into its spool. Real processes, real files: a writer killed with SIGKILL in the
middle of its appends loses nothing it acknowledged, nothing is copied twice, and the inbox of a writer
that has exited is removed once copied."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from grafana_proxy.ingest.inbox import INBOX, InboxImporter, InboxWriter
from grafana_proxy.ingest.spool import Spool, SpoolReader

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from grafana_proxy.ingest.inbox import InboxWriter

    writer = InboxWriter(Path(sys.argv[1]), segment_bytes=2048, name="test")
    for i in range(100_000):
        writer.spool.append(b"record-%06d" % i + b"x" * 200)
        print(i, flush=True)  # acknowledged: the append returned, so the record is on disk
    """
)


def _copied(target: Spool) -> list[bytes]:
    return [payload for _, payload in SpoolReader(target.directory, 0).read(1_000_000)]


def test_a_killed_writer_loses_nothing_acknowledged_and_nothing_is_copied_twice(tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    target = Spool(tmp_path / "target", 1 << 20)
    importer = InboxImporter(spool_dir, target)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(spool_dir)], stdout=subprocess.PIPE, text=True, env=os.environ
    )
    assert writer.stdout is not None
    acknowledged = -1
    copied_while_writing = 0
    deadline = time.monotonic() + 60
    while acknowledged < 400 and time.monotonic() < deadline:
        acknowledged = int(writer.stdout.readline())
        if acknowledged % 50 == 0:
            copied_while_writing += importer.run()  # reads the inbox while the writer appends to it
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    acknowledged = max([acknowledged, *(int(line) for line in writer.stdout.read().split())])
    writer.stdout.close()
    assert copied_while_writing > 0
    while importer.run():
        pass
    records = _copied(target)
    numbers = [int(r[len(b"record-") : len(b"record-") + 6]) for r in records]
    assert numbers == list(range(len(numbers))), "copied out of order, twice, or with a gap"
    assert len(numbers) >= acknowledged + 1  # every acknowledged record (and perhaps one written unacknowledged)
    assert all(r.endswith(b"x" * 200) for r in records)  # no torn record
    assert list((spool_dir / INBOX).iterdir()) == [], "the exited writer's inbox was not removed"
    target.close()


def test_a_live_writer_keeps_its_inbox_and_segments_are_dropped_once_copied(tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    writer = InboxWriter(spool_dir, segment_bytes=256, name="api")
    target = Spool(tmp_path / "target")
    importer = InboxImporter(spool_dir, target)
    for i in range(30):
        writer.submit_raw("p", b'[{"n": %d}]' % i, 1)
    assert importer.run() == 30
    assert importer.run() == 0
    assert writer.directory.exists()  # alive (its lock is held): kept
    assert len(list((writer.directory / "wal").glob("*.wal"))) == 1  # copied segments dropped, the open one kept
    writer.submit_raw("p", b'[{"n": 30}]', 1)
    writer.close()
    assert importer.run() == 1
    assert importer.run() == 0
    assert not writer.directory.exists()
    assert len(_copied(target)) == 31 and writer.accepted_events == 31
    target.close()
