"""Serving the PWA shell (`pwa/`): compressed once, versioned by content, revalidated cheaply.

Every file is read into memory and gzip-compressed once (the whole shell is a few dozen KB),
so requests cost no disk I/O and no compression. URLs do not change with content, so files
are served with `Cache-Control: no-cache` and a content ETag: browsers revalidate with a 304,
and the service worker, not the HTTP cache, is what makes the app work offline.

`sw.js` is a template: the server fills in the shell's version (a hash of every shell file)
and the list of files to precache, so any change to any shell file changes the service worker
byte for byte and the browser installs the new version. Outside production the folder is
re-read when a file changes, so editing the PWA needs no restart.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.status_codes import HTTP_304_NOT_MODIFIED

from backend.deps import Provided
from backend.errors import NotFoundError

SERVICE_WORKER = "sw.js"
VERSION_PLACEHOLDER = b'"__SHELL_VERSION__"'
FILES_PLACEHOLDER = b'["__SHELL_FILES__"]'
# Litestar adds "; charset=utf-8" to the text/* types.
CONTENT_TYPES = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain",
}
COMPRESSIBLE = {".html", ".css", ".js", ".json", ".webmanifest", ".svg", ".txt"}
MIN_COMPRESS_BYTES = 256


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    content_type: str
    etag: str


@dataclass(frozen=True, slots=True)
class ShellSnapshot:
    assets: dict[str, Asset]
    version: str
    stamp: tuple[tuple[str, int, int], ...]


class Shell:
    """The PWA folder as served: path (relative, `/`-separated) to asset."""

    def __init__(self, root: Path, *, watch: bool) -> None:
        self._root = root
        self._watch = watch
        self._lock = threading.Lock()
        self._snapshot = _load(root)

    @property
    def version(self) -> str:
        return self._current().version

    def get(self, path: str) -> Asset | None:
        return self._current().assets.get(path)

    def _current(self) -> ShellSnapshot:
        if self._watch and _stamp(self._root) != self._snapshot.stamp:
            with self._lock:
                if _stamp(self._root) != self._snapshot.stamp:
                    self._snapshot = _load(self._root)
        return self._snapshot


def _files(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".") and p.suffix in CONTENT_TYPES
    )


def _stamp(root: Path) -> tuple[tuple[str, int, int], ...]:
    stats = ((p, p.stat()) for p in _files(root))
    return tuple((p.relative_to(root).as_posix(), s.st_mtime_ns, s.st_size) for p, s in stats)


def _load(root: Path) -> ShellSnapshot:
    stamp = _stamp(root)
    contents = {path: (root / path).read_bytes() for path, _, _ in stamp}
    digest = hashlib.sha256()
    for path, body in contents.items():
        digest.update(path.encode() + b"\0" + body + b"\0")
    version = digest.hexdigest()[:16]

    precache = ["./", *(path for path in contents if path != SERVICE_WORKER)]
    if SERVICE_WORKER in contents:
        contents[SERVICE_WORKER] = (
            contents[SERVICE_WORKER]
            .replace(VERSION_PLACEHOLDER, json.dumps(version).encode())
            .replace(FILES_PLACEHOLDER, json.dumps(precache).encode())
        )
    assets = {path: _asset(path, body) for path, body in contents.items()}
    return ShellSnapshot(assets=assets, version=version, stamp=stamp)


def _asset(path: str, body: bytes) -> Asset:
    suffix = Path(path).suffix
    gzipped = None
    if suffix in COMPRESSIBLE and len(body) >= MIN_COMPRESS_BYTES:
        gzipped = gzip.compress(body, compresslevel=9, mtime=0)
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    return Asset(body=body, gzipped=gzipped, content_type=CONTENT_TYPES[suffix], etag=etag)


def _accepts_gzip(request: Request[Any, Any, Any]) -> bool:
    return any(
        part.split(";")[0].strip() == "gzip"
        for part in request.headers.get("accept-encoding", "").split(",")
    )


def _serve(request: Request[Any, Any, Any], shell: Shell, relative: str) -> Response[bytes]:
    asset = shell.get(relative)
    if asset is None:
        raise NotFoundError(f"No such file: /{relative}")
    headers = {"ETag": asset.etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
    body = asset.body
    if asset.gzipped is not None and _accepts_gzip(request):
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=asset.content_type, headers=headers)


@get("/", include_in_schema=False, sync_to_thread=False)
def shell_index(request: Request[Any, Any, Any], shell: Provided[Shell]) -> Response[bytes]:
    return _serve(request, shell, "index.html")


@get("/{path:path}", include_in_schema=False, sync_to_thread=False)
def shell_file(
    request: Request[Any, Any, Any], shell: Provided[Shell], path: FromPath[PurePosixPath]
) -> Response[bytes]:
    return _serve(request, shell, str(path).lstrip("/"))
