"""The partition archive's files without a database (backend/ops/archive_files.py): what is
written reads back the same, and a damaged or mismatched archive is refused in one line."""

from __future__ import annotations

import asyncio
import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backend.ops.archive_files import (
    MANIFEST_FORMAT,
    PARENT,
    ArchiveFiles,
    Digest,
    PartitionError,
    archive_paths,
    read_archive,
    verify_archive,
)

# This month's archive (any month would do: the files never look at the clock).
MONTH = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
NEXT_MONTH = (MONTH + timedelta(days=32)).replace(day=1)
NAME = f"calculation_history_{MONTH:%Y_%m}"
# PostgreSQL's CSV as COPY streams it: a header, a quoted field holding a newline and quotes.
CSV = b'id,expression,result\n1,"1+1",2\n2,"say ""hi""\nthere",3\n3,4*5,20\n'


def write_archive(folder: Path, chunks: list[bytes]) -> tuple[ArchiveFiles, Digest]:
    return asyncio.run(_write_archive(folder, chunks))


async def _write_archive(folder: Path, chunks: list[bytes]) -> tuple[ArchiveFiles, Digest]:
    files = ArchiveFiles(folder / f"{NAME}.csv.gz", folder / f"{NAME}.json")
    writer = files.open_writer()
    for chunk in chunks:
        await writer.write(chunk)
    digest = writer.finish()
    files.write_manifest(
        {
            "format": MANIFEST_FORMAT,
            "table": PARENT,
            "partition": NAME,
            "range": {"from": MONTH.isoformat(), "to": NEXT_MONTH.isoformat()},
            "rows": digest.rows,
            "sha256": digest.sha256,
            "columns": digest.header,
        }
    )
    return files, digest


@pytest.mark.parametrize("size", [1, 7, len(CSV)], ids=["bytewise", "chunks", "whole"])
def test_what_is_written_reads_back_the_same_however_it_streams(tmp_path: Path, size: int) -> None:
    chunks = [CSV[i : i + size] for i in range(0, len(CSV), size)]
    files, written = write_archive(tmp_path, chunks)
    assert written.rows == 3  # the quoted newline is inside a record
    assert written.header == ["id", "expression", "result"]
    assert files.data_temp is not None
    assert read_archive(files.data_temp) == written


def test_published_files_verify_against_their_manifest(tmp_path: Path) -> None:
    files, written = write_archive(tmp_path, [CSV])
    files.publish()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{NAME}.csv.gz", f"{NAME}.json"]
    for either in (files.data, files.manifest):
        data, manifest = verify_archive(either)
        assert data == files.data
        assert (manifest.partition, manifest.rows, manifest.sha256) == (
            NAME,
            3,
            written.sha256,
        )
        assert manifest.range_from.tzinfo is not None


def test_a_discarded_attempt_leaves_no_file(tmp_path: Path) -> None:
    files, _ = write_archive(tmp_path, [CSV])
    files.discard()
    assert list(tmp_path.iterdir()) == []


def test_other_rows_than_the_manifest_says_are_refused(tmp_path: Path) -> None:
    files, _ = write_archive(tmp_path, [CSV])
    files.publish()
    files.data.write_bytes(gzip.compress(CSV.replace(b"20", b"21")))
    with pytest.raises(PartitionError, match="is corrupt: its sha256"):
        verify_archive(files.data)


def test_a_damaged_gzip_is_refused(tmp_path: Path) -> None:
    files, _ = write_archive(tmp_path, [CSV])
    files.publish()
    files.data.write_bytes(files.data.read_bytes()[:-9])
    with pytest.raises(PartitionError, match="is corrupt or unreadable"):
        verify_archive(files.data)


def test_a_missing_or_foreign_manifest_is_refused(tmp_path: Path) -> None:
    files, _ = write_archive(tmp_path, [CSV])
    files.publish()
    files.manifest.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(PartitionError, match="is unreadable: not a calculation_history"):
        verify_archive(files.data)
    files.manifest.unlink()
    with pytest.raises(PartitionError, match="is missing"):
        verify_archive(files.data)


def test_only_the_two_file_names_of_an_archive_are_taken(tmp_path: Path) -> None:
    data, manifest = tmp_path / f"{NAME}.csv.gz", tmp_path / f"{NAME}.json"
    assert archive_paths(data) == archive_paths(manifest) == (data, manifest)
    with pytest.raises(PartitionError, match="neither an archive"):
        archive_paths(tmp_path / f"{NAME}.csv")
