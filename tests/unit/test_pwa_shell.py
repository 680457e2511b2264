"""Serving the PWA shell: types, compression, revalidation, the versioned service worker."""

import gzip
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from backend.app import create_app
from backend.settings import PROJECT_ROOT, Settings
from backend.web.static import Shell

NO_DATABASE = "postgresql+asyncpg://nobody@127.0.0.1:1/none"  # never connected to here


@pytest.fixture
def shell_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "pwa"
    shutil.copytree(PROJECT_ROOT / "pwa", folder)
    return folder


@pytest.fixture
def client(shell_dir: Path) -> Iterator[TestClient[Litestar]]:
    settings = Settings(database_url=NO_DATABASE, static_dir=shell_dir)
    with TestClient(create_app(settings)) as client:
        yield client


def service_worker_globals(client: TestClient[Litestar]) -> tuple[str, list[str]]:
    source = client.get("/sw.js").text
    version = re.search(r'const VERSION = "([0-9a-f]{16})";', source)
    files = re.search(r"const FILES = (\[.*?\]);", source)
    assert version and files, source[:300]
    return version.group(1), json.loads(files.group(1))


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/", "text/html; charset=utf-8"),
        ("/manifest.webmanifest", "application/manifest+json"),
        ("/js/app.js", "text/javascript; charset=utf-8"),
        ("/sw.js", "text/javascript; charset=utf-8"),
        ("/styles.css", "text/css; charset=utf-8"),
        ("/icons/icon-192.png", "image/png"),
    ],
)
def test_files_have_their_types_and_revalidate(
    client: TestClient[Litestar], path: str, content_type: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["cache-control"] == "no-cache"
    etag = response.headers["etag"]
    again = client.get(path, headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""


@pytest.mark.parametrize(
    ("accept", "coding"),
    [("gzip, br", "br"), ("gzip", "gzip"), ("br;q=0, gzip", "gzip"), ("deflate", None)],
)
def test_text_is_served_compressed_when_accepted(
    client: TestClient[Litestar], accept: str, coding: str | None
) -> None:
    raw = client.get("/js/app.js", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in raw.headers
    compressed = client.get("/js/app.js", headers={"accept-encoding": accept})
    assert compressed.headers.get("content-encoding") == coding
    assert compressed.headers["vary"] == "accept-encoding"
    assert compressed.content == raw.content  # the client decompresses
    if coding:
        assert int(compressed.headers["content-length"]) < len(raw.content) / 2


@pytest.mark.parametrize("path", ["/", "/js/app.js", "/api/v1/auth/csrf"])
def test_head_answers_wherever_get_does(client: TestClient[Litestar], path: str) -> None:
    get = client.get(path)
    head = client.head(path)
    assert head.status_code == get.status_code  # not 405
    assert head.content == b""
    assert head.headers.get("content-type") == get.headers.get("content-type")


def test_static_files_get_no_csrf_cookie(client: TestClient[Litestar]) -> None:
    response = client.get("/js/app.js")
    assert "set-cookie" not in response.headers
    assert response.headers["x-request-id"]
    assert "content-security-policy" in response.headers


def test_service_worker_lists_the_whole_shell(
    client: TestClient[Litestar], shell_dir: Path
) -> None:
    _, files = service_worker_globals(client)
    on_disk = {p.relative_to(shell_dir).as_posix() for p in shell_dir.rglob("*") if p.is_file()}
    assert set(files) == (on_disk - {"sw.js"}) | {"./"}
    for file in files:
        assert client.get(f"/{file.removeprefix('./')}").status_code == 200


def test_any_shell_change_changes_the_service_worker(
    client: TestClient[Litestar], shell_dir: Path
) -> None:
    before, _ = service_worker_globals(client)
    assert service_worker_globals(client)[0] == before  # stable while nothing changes
    (shell_dir / "js" / "keypad.js").write_text("// changed\n", encoding="utf-8")
    after, _ = service_worker_globals(client)
    assert after != before


def test_production_serves_the_snapshot_taken_at_start(shell_dir: Path) -> None:
    shell = Shell(shell_dir, watch=False)
    before = shell.version
    (shell_dir / "styles.css").write_text("body {}", encoding="utf-8")
    assert shell.version == before
    asset = shell.get("styles.css")
    assert asset is not None and b"body {}" not in asset.body


@pytest.mark.parametrize(
    "path", ["/nope.js", "/../pyproject.toml", "/js/../../README.md", "/.git/HEAD"]
)
def test_unknown_or_outside_paths_are_404(client: TestClient[Litestar], path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_compressed_bodies_are_deterministic(shell_dir: Path) -> None:
    first = Shell(shell_dir, watch=False).get("index.html")
    second = Shell(shell_dir, watch=False).get("index.html")
    assert first and second and first.gzipped and first.gzipped == second.gzipped
    assert gzip.decompress(first.gzipped) == first.body
