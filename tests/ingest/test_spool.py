from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from grafana_proxy.ingest.spool import Spool, SpoolReader

OpenSpool = Callable[..., Spool]


@pytest.fixture
def open_spool() -> Iterator[OpenSpool]:
    """``Spool(...)`` whose open segment file is closed when the test ends (else: a ResourceWarning)."""
    opened: list[Spool] = []

    def make(*args: Any, **kwargs: Any) -> Spool:
        opened.append(Spool(*args, **kwargs))
        return opened[-1]

    yield make
    for spool in opened:
        spool.close()


def test_records_come_back_in_order_and_follow_new_appends(tmp_path: Path, open_spool: OpenSpool) -> None:
    spool = open_spool(tmp_path, segment_bytes=100)
    seqs = [spool.append(f"batch {i}".encode() * 5) for i in range(10)]
    assert seqs == list(range(1, 11))
    assert len(spool.segments()) > 1  # rotated at 100 bytes
    reader = SpoolReader(spool.directory, after_seq=3)
    got = reader.read(100)
    assert [s for s, _ in got] == list(range(4, 11))
    assert got[0][1] == b"batch 3" * 5
    spool.append(b"late")
    assert reader.read() == [(11, b"late")]
    assert reader.read() == []


def test_torn_tail_is_cut_on_reopen_and_numbering_continues(tmp_path: Path, open_spool: OpenSpool) -> None:
    spool = open_spool(tmp_path)
    spool.append(b"one")
    spool.append(b"two")
    spool.close()
    (segment,) = list(tmp_path.glob("*.wal"))
    with open(segment, "ab") as f:
        f.write(b"\x10\x00\x00\x00garbage")  # a crash mid-write: header promises more than is there
    spool = open_spool(tmp_path)
    assert spool.append(b"three") == 3
    assert [p for _, p in SpoolReader(spool.directory, 0).read()] == [b"one", b"two", b"three"]


def test_flipped_byte_is_detected_by_the_checksum(tmp_path: Path, open_spool: OpenSpool) -> None:
    spool = open_spool(tmp_path)
    spool.append(b"good")
    spool.append(b"will rot")
    spool.close()
    (segment,) = list(tmp_path.glob("*.wal"))
    data = bytearray(segment.read_bytes())
    data[-1] ^= 0xFF
    segment.write_bytes(bytes(data))
    assert [p for _, p in SpoolReader(open_spool(tmp_path).directory, 0).read()] == [b"good"]


def test_segments_before_a_position_are_dropped(tmp_path: Path, open_spool: OpenSpool) -> None:
    spool = open_spool(tmp_path, segment_bytes=10)
    for i in range(5):
        spool.append(b"x" * 20 + bytes([i]))
    assert len(spool.segments()) == 5
    assert spool.drop_before(4) == 3
    assert [s for s, _ in SpoolReader(spool.directory, 0).read()] == [4, 5]


def test_a_read_returns_at_most_the_records_asked_for_and_the_next_read_goes_on(
    tmp_path: Path, open_spool: OpenSpool
) -> None:
    """A fold step asks for a few records so the archive's size limit is checked between steps; a read
    that returned the whole 64 MB segment instead held every backlogged event in memory at once."""
    spool = open_spool(tmp_path)  # one segment for all records
    for i in range(50):
        spool.append(f"batch {i}".encode())
    assert len(spool.segments()) == 1
    reader = SpoolReader(spool.directory, after_seq=0)
    first = reader.read(7)
    assert [s for s, _ in first] == list(range(1, 8))
    rest: list[tuple[int, bytes]] = []
    while chunk := reader.read(7):
        assert len(chunk) <= 7
        rest += chunk
    assert [s for s, _ in rest] == list(range(8, 51))
    assert rest[-1][1] == b"batch 49"
