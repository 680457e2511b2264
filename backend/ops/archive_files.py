"""The archive of a month's partition as files, without the database: a gzip of the
partition's rows as PostgreSQL's CSV (header line first) and its JSON manifest (range, row
count, sha256 of the uncompressed CSV, columns). Written under temporary names and renamed
into place once checked; read back and verified against the manifest before anything is
dropped or restored (backend/ops/partitions.py). Unit tests: tests/unit/test_archive_files.py.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import io
import json
import os
import tempfile
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from backend.ops.errors import OperatorError, reason

PARENT = "calculation_history"
ARCHIVE_SUFFIX = ".csv.gz"
MANIFEST_SUFFIX = ".json"
MANIFEST_FORMAT = "calcapp.partition-archive/1"


class PartitionError(OperatorError):
    """An archive or restore that cannot be done."""


@dataclass(frozen=True)
class Digest:
    rows: int
    sha256: str
    header: list[str]


class _CsvRowCounter:
    """Counts the records of PostgreSQL CSV as it streams past: newlines outside quotes.

    A quote toggles the quoted state; an escaped quote ("") toggles it twice, so it needs no
    special case. The header line is a record too.
    """

    def __init__(self) -> None:
        self.quoted = False
        self.records = 0

    def feed(self, chunk: bytes) -> None:
        for i, part in enumerate(chunk.split(b'"')):
            if i:
                self.quoted = not self.quoted
            if not self.quoted:
                self.records += part.count(b"\n")


class _ArchiveWriter:
    """Gzips the CSV into the temporary file, hashing and counting the uncompressed bytes."""

    def __init__(self, path: Path, final_name: str) -> None:
        self._raw = path.open("wb")
        self._gzip = gzip.GzipFile(filename=final_name, mode="wb", fileobj=self._raw)
        self._sha = hashlib.sha256()
        self._counter = _CsvRowCounter()
        self._header = b""
        self.failure: OSError | None = None

    async def write(self, chunk: bytes) -> None:
        # A failed write (disk full) is kept for finish() and the rest of the stream skipped:
        # an exception raised inside asyncpg's COPY sink leaves the connection stuck in its
        # cancellation (asyncpg 0.32), where letting the COPY end keeps it usable.
        if self.failure is not None:
            return
        if not self._counter.records and len(self._header) < 65536:
            self._header += chunk
        self._sha.update(chunk)
        self._counter.feed(chunk)
        try:
            self._gzip.write(chunk)
        except OSError as exc:
            self.failure = exc

    def finish(self) -> Digest:
        if self.failure is not None:
            raise self.failure
        self._gzip.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        header = next(csv.reader(io.StringIO(self._header.decode("utf-8", "replace"))), [])
        return Digest(max(self._counter.records - 1, 0), self._sha.hexdigest(), header)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._gzip.close()
        self._raw.close()


class ArchiveFiles:
    """The files of one archive: written under temporary names in the archive folder, renamed
    into place only once everything is checked, all removed if anything fails first."""

    def __init__(self, data: Path, manifest: Path) -> None:
        self.data = data
        self.manifest = manifest
        self.data_temp: Path | None = None
        self.manifest_temp: Path | None = None
        self._writer: _ArchiveWriter | None = None
        self._published: list[Path] = []

    def open_writer(self) -> _ArchiveWriter:
        self.data_temp = _temp_path(self.data)
        self._writer = _ArchiveWriter(self.data_temp, self.data.name)
        return self._writer

    def write_manifest(self, manifest: dict[str, object]) -> None:
        self.manifest_temp = _temp_path(self.manifest)
        with self.manifest_temp.open("w", encoding="utf-8") as out:
            json.dump(manifest, out, indent=2)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())

    def publish(self) -> None:
        assert self.data_temp is not None and self.manifest_temp is not None
        for temp, final in ((self.data_temp, self.data), (self.manifest_temp, self.manifest)):
            temp.replace(final)
            self._published.append(final)
        _fsync_dir(self.data.parent)

    def discard(self) -> None:
        """Remove every file of this attempt (called before the commit, never after)."""
        if self._writer is not None:
            self._writer.close()
        for path in (self.data_temp, self.manifest_temp, *self._published):
            if path is not None:
                path.unlink(missing_ok=True)


def _temp_path(final: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    return Path(name)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _HashingReader(io.RawIOBase):
    def __init__(self, source: io.BufferedIOBase, sha: Any) -> None:
        self._source = source
        self._sha = sha

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._source.read(len(buffer))
        self._sha.update(data)
        buffer[: len(data)] = data
        return len(data)


class HashingSource:
    """A file-like source for asyncpg's COPY that hashes what it hands over."""

    def __init__(self, source: gzip.GzipFile, sha: Any) -> None:
        self._source = source
        self._sha = sha

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self._sha.update(data)
        return data


def read_archive(path: Path) -> Digest:
    """Read an archive back: sha256 of its uncompressed bytes and its records, parsed as CSV.

    The parse is Python's csv module, independent of the counter used while writing.
    """
    sha = hashlib.sha256()
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))
    try:
        with path.open("rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
            stream = io.TextIOWrapper(
                io.BufferedReader(_HashingReader(unzipped, sha)), encoding="utf-8", newline=""
            )
            records = csv.reader(stream, strict=True)
            header = next(records, [])
            rows = sum(1 for _ in records)
    except (OSError, EOFError, zlib.error, csv.Error, UnicodeDecodeError) as exc:
        raise PartitionError(f"{path} is corrupt or unreadable: {reason(exc)}") from None
    return Digest(rows, sha.hexdigest(), header)


@dataclass(frozen=True)
class Manifest:
    partition: str
    range_from: datetime
    range_to: datetime
    rows: int
    sha256: str
    columns: list[str]


def archive_paths(file: Path) -> tuple[Path, Path]:
    """(archive, manifest) for either of the two files of an archive."""
    if file.name.endswith(MANIFEST_SUFFIX):
        return file.with_name(file.name[: -len(MANIFEST_SUFFIX)] + ARCHIVE_SUFFIX), file
    if file.name.endswith(ARCHIVE_SUFFIX):
        return file, file.with_name(file.name[: -len(ARCHIVE_SUFFIX)] + MANIFEST_SUFFIX)
    raise PartitionError(
        f"{file} is neither an archive ({ARCHIVE_SUFFIX}) nor its manifest ({MANIFEST_SUFFIX})"
    )


def read_manifest(path: Path) -> Manifest:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("format") != MANIFEST_FORMAT or raw.get("table") != PARENT:
            raise ValueError(f"not a {PARENT} archive manifest")
        manifest = Manifest(
            partition=str(raw["partition"]),
            range_from=datetime.fromisoformat(raw["range"]["from"]),
            range_to=datetime.fromisoformat(raw["range"]["to"]),
            rows=int(raw["rows"]),
            sha256=str(raw["sha256"]),
            columns=[str(c) for c in raw["columns"]],
        )
    except FileNotFoundError:
        raise PartitionError(f"the manifest {path} is missing") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PartitionError(f"the manifest {path} is unreadable: {reason(exc)}") from None
    if manifest.range_from.tzinfo is None or manifest.range_to.tzinfo is None:
        raise PartitionError(f"the manifest {path} is unreadable: its range has no time zone")
    return manifest


def verify_archive(file: Path) -> tuple[Path, Manifest]:
    """Check the archive against its manifest, without the database."""
    data, manifest_path = archive_paths(file)
    manifest = read_manifest(manifest_path)
    if not data.is_file():
        raise PartitionError(f"the archive {data} is missing")
    digest = read_archive(data)
    if digest.sha256 != manifest.sha256:
        raise PartitionError(
            f"{data} is corrupt: its sha256 {digest.sha256[:12]}… differs from the manifest's "
            f"{manifest.sha256[:12]}…"
        )
    if digest.rows != manifest.rows or digest.header != manifest.columns:
        raise PartitionError(
            f"{data} is corrupt: {digest.rows} rows and columns {digest.header} where the "
            f"manifest says {manifest.rows} rows and columns {manifest.columns}"
        )
    return data, manifest
