"""Serving the PWA shell (`pwa/`): compressed once, versioned by content, revalidated cheaply.

Every file is read into memory and compressed once, with brotli and gzip (the whole shell is
a few dozen KB), and its answers' headers are made then too, so a request costs no disk I/O,
no compression and no header building: `backend/web/edge.py` sends them straight from here. URLs
do not change with content, so files are served with `Cache-Control: no-cache` and a content
ETag: browsers revalidate with a 304, and the service worker, not the HTTP cache, is what
makes the app work offline.

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
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import brotli
from litestar.types import HTTPResponseBodyEvent, HTTPResponseStartEvent, Send

SERVICE_WORKER = "sw.js"
VERSION_PLACEHOLDER = b'"__SHELL_VERSION__"'
FILES_PLACEHOLDER = b'["__SHELL_FILES__"]'
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}
COMPRESSIBLE = {".html", ".css", ".js", ".json", ".webmanifest", ".svg", ".txt"}
MIN_COMPRESS_BYTES = 256


Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class Variant:
    """One encoding of a file: its body and the headers of a 200 with it."""

    body: bytes
    headers: Headers


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str
    variants: dict[bytes, Variant] = field(default_factory=dict)
    """By content coding: b"br", b"gzip", b"identity"."""
    not_modified: Headers = field(default_factory=list)

    @property
    def gzipped(self) -> bytes | None:
        variant = self.variants.get(b"gzip")
        return None if variant is None else variant.body


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

    def asset_for(self, url_path: str) -> Asset | None:
        """The file a URL path names (`/` is index.html), or None."""
        return self.get("index.html" if url_path == "/" else url_path[1:])

    async def send(
        self,
        asset: Asset,
        request_headers: Iterable[tuple[bytes, bytes]],
        send: Send,
        *,
        head: bool,
        extra: Headers,
    ) -> int:
        """Answer with `asset` (200 in the best encoding the client takes, or 304); returns
        the status."""
        if_none_match = accept = None
        for name, value in request_headers:
            if name == b"if-none-match":
                if_none_match = value
            elif name == b"accept-encoding":
                accept = value
        if if_none_match is not None and if_none_match == asset.etag.encode():
            status, headers, body = 304, asset.not_modified, b""
        else:
            variant = asset.variants[_encoding(accept, asset.variants)]
            status, headers, body = 200, variant.headers, b"" if head else variant.body
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": status,
            "headers": headers + extra,
        }
        end: HTTPResponseBodyEvent = {
            "type": "http.response.body",
            "body": body,
            "more_body": False,
        }
        await send(start)
        await send(end)
        return status

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
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    common = [
        (b"etag", etag.encode()),
        (b"cache-control", b"no-cache"),
        (b"vary", b"accept-encoding"),
    ]
    content_type = CONTENT_TYPES[suffix]

    def variant(coding: bytes, encoded: bytes) -> Variant:
        headers = [
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(encoded)).encode()),
            *common,
        ]
        if coding != b"identity":
            headers.append((b"content-encoding", coding))
        return Variant(encoded, headers)

    variants = {b"identity": variant(b"identity", body)}
    if suffix in COMPRESSIBLE and len(body) >= MIN_COMPRESS_BYTES:
        variants[b"gzip"] = variant(b"gzip", gzip.compress(body, compresslevel=9, mtime=0))
        variants[b"br"] = variant(b"br", brotli.compress(body, quality=11))
    return Asset(body, content_type, etag, variants, common)


PREFERENCE = (b"br", b"gzip")


def _encoding(accept: bytes | None, variants: dict[bytes, Variant]) -> bytes:
    """The best coding both sides take: brotli, then gzip, else none (q=0 refuses one)."""
    if accept is None or len(variants) == 1:
        return b"identity"
    taken = set()
    for part in accept.split(b","):
        coding, _, params = part.strip().partition(b";")
        if params.replace(b" ", b"") not in (b"q=0", b"q=0.0", b"q=0.00", b"q=0.000"):
            taken.add(coding.strip().lower())
    for coding in PREFERENCE:
        if coding in taken and coding in variants:
            return coding
    return b"identity"
