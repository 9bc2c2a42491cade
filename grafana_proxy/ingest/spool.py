"""A durable write-ahead spool: append-only segment files of framed records, fsynced before an append
returns, so an acknowledged batch survives kill -9 and power loss.

Record frame: ``<length:u32><crc32:u32><seq:u64>`` then ``length`` payload bytes. A torn tail (the write a crash
interrupted, never acknowledged) fails the length or CRC check and is cut off when the spool is opened.
Segments are named after their first sequence number and deleted once everything in them is processed."""

from __future__ import annotations

import os
import struct
import threading
import zlib
from pathlib import Path
from typing import Any

_HEADER = struct.Struct("<IIQ")
_SUFFIX = ".wal"


def _fsync_dir(path: Path) -> None:
    # A new file is only durable once its directory entry is, too.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _scan(data: bytes, offset: int = 0) -> tuple[list[tuple[int, bytes]], int]:
    """Complete, intact records from ``offset``; returns them and the offset after the last good one."""
    records: list[tuple[int, bytes]] = []
    while offset + _HEADER.size <= len(data):
        length, crc, seq = _HEADER.unpack_from(data, offset)
        end = offset + _HEADER.size + length
        if end > len(data):
            break
        payload = data[offset + _HEADER.size : end]
        if zlib.crc32(payload) != crc:
            break
        records.append((seq, payload))
        offset = end
    return records, offset


def segments(directory: Path) -> list[Path]:
    """The segment files of a spool directory, oldest first."""
    return sorted(directory.glob(f"*{_SUFFIX}"))


def drop_before(directory: Path, seq: int) -> int:
    """Delete segments whose records all precede ``seq`` (never the newest, which may still grow);
    return how many were deleted. Safe while another process appends: it only appends to the newest."""
    existing = segments(directory)
    dropped = 0
    for current, following in zip(existing, existing[1:], strict=False):
        if int(following.name.removesuffix(_SUFFIX)) <= seq:
            current.unlink(missing_ok=True)
            dropped += 1
    return dropped


class Spool:
    """The writing side: one process appends (a ``flock`` held by the owner guarantees it); readers in
    this or other processes follow with ``SpoolReader``, which only ever sees whole, intact records."""

    def __init__(self, directory: Path, segment_bytes: int = 64 * 1024 * 1024) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        self._lock = threading.Lock()
        self._turn = threading.Condition(threading.Lock())
        self._waiting: list[list[Any]] = []  # [payload, seq or error once written]
        self._writing = False
        directory.mkdir(parents=True, exist_ok=True)
        self._next_seq = self._recover()
        self._file = open(self._current_path(), "ab", buffering=0)

    def segments(self) -> list[Path]:
        return segments(self.directory)

    def _current_path(self) -> Path:
        segments = self.segments()
        if segments:
            return segments[-1]
        path = self.directory / f"{self._next_seq:020d}{_SUFFIX}"
        path.touch()
        _fsync_dir(self.directory)
        return path

    def _recover(self) -> int:
        """Cut a torn tail off the newest segment; return the next sequence number."""
        segments = self.segments()
        if not segments:
            return 1
        last = segments[-1]
        data = last.read_bytes()
        records, good = _scan(data)
        if good < len(data):
            with open(last, "r+b") as f:
                f.truncate(good)
                f.flush()
                os.fsync(f.fileno())
        if records:
            return records[-1][0] + 1
        return int(last.name.removesuffix(_SUFFIX))

    @property
    def next_seq(self) -> int:
        return self._next_seq

    def append(self, payload: bytes) -> int:
        """Write one record and fsync it; return its sequence number. Safe from many threads.

        Group commit: appends arriving while another thread is in ``fsync`` wait, then the first of them
        writes all their records with one ``fsync`` for the lot (leader/follower). Each caller still returns
        only once its own record is on disk; concurrent requests just share the cost of getting there."""
        slot: list[Any] = [payload, None]
        with self._turn:
            self._waiting.append(slot)
            while slot[1] is None and self._writing:
                self._turn.wait()
            if slot[1] is None:  # this thread leads: take everything queued so far
                batch, self._waiting = self._waiting, []
                self._writing = True
            else:
                batch = []
        if batch:
            try:
                seqs: list[Any] = list(self._write([item[0] for item in batch]))
            except BaseException as error:
                seqs = [error] * len(batch)
            with self._turn:
                for item, outcome in zip(batch, seqs, strict=True):
                    item[1] = outcome
                self._writing = False
                self._turn.notify_all()
        if isinstance(slot[1], BaseException):
            raise slot[1]
        seq: int = slot[1]
        return seq

    def _write(self, payloads: list[bytes]) -> range:
        """Frame, write and fsync ``payloads`` as consecutive records; on failure cut the file back so a
        torn write can never sit in front of later, acknowledged records."""
        with self._lock:
            first = self._next_seq
            if self._file.tell() >= self.segment_bytes:
                self._file.close()
                path = self.directory / f"{first:020d}{_SUFFIX}"
                self._file = open(path, "ab", buffering=0)
                _fsync_dir(self.directory)
            start = self._file.tell()
            frames = [
                _HEADER.pack(len(payload), zlib.crc32(payload), first + i) + payload
                for i, payload in enumerate(payloads)
            ]
            data = memoryview(b"".join(frames))
            try:
                while data:  # unbuffered: a short write is possible, and nothing lingers in a buffer
                    data = data[self._file.write(data) or 0 :]
                os.fsync(self._file.fileno())
            except BaseException:
                os.ftruncate(self._file.fileno(), start)
                # ftruncate leaves the fd's offset past the cut (O_APPEND still writes at the end), so
                # without this seek the next failure's tell() would cut at the stale offset and leave
                # this torn record in front of later ones.
                self._file.seek(start)
                raise
            self._next_seq = first + len(payloads)
            return range(first, first + len(payloads))

    def append_many(self, payloads: list[bytes]) -> range:
        """Write several records with one fsync (importing another spool's records); their numbers."""
        return self._write(payloads) if payloads else range(self._next_seq, self._next_seq)

    def drop_before(self, seq: int) -> int:
        """Delete segments whose records all precede ``seq``; return how many were deleted."""
        return drop_before(self.directory, seq)

    def close(self) -> None:
        with self._lock:
            self._file.close()


class SpoolReader:
    """Reads records of a spool directory in order, starting after a sequence number, and follows new
    appends, also those of a writer in another process: a record still being written fails the length
    or CRC check and is read on a later call, once it is whole."""

    def __init__(self, directory: Path, after_seq: int) -> None:
        self._directory = directory
        self._after = after_seq
        self._path: Path | None = None
        self._offset = 0

    def _locate(self) -> Path | None:
        existing = segments(self._directory)
        candidates = [p for p in existing if int(p.name.removesuffix(_SUFFIX)) <= self._after + 1]
        return candidates[-1] if candidates else (existing[0] if existing else None)

    def _read_current(self, path: Path, limit: int) -> tuple[list[tuple[int, bytes]], bool]:
        """Up to ``limit`` whole records of ``path`` after the offset read so far, those that lie past
        ``position`` (advancing both), and whether any whole record was found at all (old ones are
        skipped, not an end). Reads record by record: a fold step of a few records must not load (and
        hold) the rest of a large segment."""
        records: list[tuple[int, bytes]] = []
        with open(path, "rb") as f:
            f.seek(self._offset)
            while len(records) < limit:
                head = f.read(_HEADER.size)
                if len(head) < _HEADER.size:
                    break
                length, crc, seq = _HEADER.unpack(head)
                payload = f.read(length)
                if len(payload) < length or zlib.crc32(payload) != crc:
                    break  # still being written (or torn): read again on a later call
                records.append((seq, payload))
                self._offset += _HEADER.size + length
        fresh = [(s, p) for s, p in records if s > self._after]
        if fresh:
            self._after = fresh[-1][0]
        return fresh, bool(records)

    def read(self, max_records: int = 1000) -> list[tuple[int, bytes]]:
        out: list[tuple[int, bytes]] = []
        while len(out) < max_records:
            if self._path is None or not self._path.exists():
                self._path, self._offset = self._locate(), 0
                if self._path is None:
                    return out
            try:
                records, found = self._read_current(self._path, max_records - len(out))
                if not found:
                    newer = [p for p in segments(self._directory) if p.name > self._path.name]
                    if not newer:
                        return out
                    # The writer opens a newer segment only after its last write to this one returned,
                    # so this one is complete now: read its tail once more before moving on.
                    records, found = self._read_current(self._path, max_records - len(out))
                    if not found:
                        self._path, self._offset = newer[0], 0
                        continue
            except FileNotFoundError:  # dropped since it was located: start from the oldest left
                self._path = None
                continue
            out.extend(records)
        return out

    @property
    def position(self) -> int:
        return self._after
