"""Security headers on every response, the Content-Security-Policy first.

The policy allows no inline script or style. When billing is configured, Stripe.js (or the
emulator's copy, in development) is allowed to load, call its API and show its frames.
The edge layer (backend/web/edge.py) adds them to every answer, and `Cache-Control: no-store` to
every answer under `/api/` and `/metrics` (errors included: 401, 403, 404, 405, 422, 429, 503).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from backend.settings import Settings

STRIPE_SOURCES = {
    "script-src": ["https://js.stripe.com"],
    "frame-src": ["https://js.stripe.com", "https://hooks.stripe.com"],
    "connect-src": ["https://api.stripe.com"],
    "img-src": ["https://*.stripe.com"],
}


def content_security_policy(settings: Settings) -> str:
    policy = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-src": ["'none'"],
        "manifest-src": ["'self'"],
        "worker-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    if settings.billing_configured:
        if settings.stripe_api_base:
            parts = urlsplit(settings.stripe_api_base)
            emulator = f"{parts.scheme}://{parts.netloc}"
            extra = {
                name: [emulator] for name in ("script-src", "frame-src", "connect-src", "img-src")
            }
        else:
            extra = STRIPE_SOURCES
        for name, sources in extra.items():
            policy[name] = [s for s in policy[name] if s != "'none'"] + sources
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in policy.items())


def security_headers(settings: Settings) -> list[tuple[bytes, bytes]]:
    """The headers every answer carries (pages, API, errors, static files), as bytes once."""
    headers = {
        "content-security-policy": content_security_policy(settings),
        "x-content-type-options": "nosniff",
        "referrer-policy": "strict-origin-when-cross-origin",
        "x-frame-options": "DENY",
    }
    if settings.is_production:
        headers["strict-transport-security"] = "max-age=63072000; includeSubDomains"
    return [(name.encode(), value.encode()) for name, value in headers.items()]
