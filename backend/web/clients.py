"""Who is asking: the client's address, through the trusted proxies only.

Behind a load balancer or reverse proxy the TCP peer is the proxy; the client is in its
`X-Forwarded-For`. That header is believed only when the peer is one of
`CALCAPP_TRUSTED_PROXIES`, and then read from the right: the first address that is not a
trusted proxy is the client (the ones to its left are whatever the client chose to send).
Without trusted proxies the header is ignored, so no client can choose its own address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from litestar import Request

from backend.settings import Network

UNKNOWN = "unknown"


def _address(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(raw.strip())
    except ValueError:
        return None


def _trusted(raw: str, proxies: Sequence[Network]) -> bool:
    address = _address(raw)
    return address is not None and any(address in network for network in proxies)


def client_address(request: Request[Any, Any, Any], proxies: Sequence[Network]) -> str:
    peer = request.client.host if request.client else UNKNOWN
    if not proxies or not _trusted(peer, proxies):
        return peer
    forwarded = [
        part.strip()
        for header in request.headers.getall("x-forwarded-for", [])
        for part in header.split(",")
        if part.strip()
    ]
    for hop in reversed(forwarded):
        if not _trusted(hop, proxies):
            return hop if _address(hop) else UNKNOWN
    return forwarded[0] if forwarded else peer
