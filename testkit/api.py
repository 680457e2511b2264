"""A test client for the API that behaves like the PWA: cookies, CSRF header, JSON."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

from testkit.mailbox import Mailbox

PASSWORD = "Correct-Horse-9"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


PUBLIC_URL = "http://calc.test"
"""The public URL of the in-process apps of the integration tests (links in their mail)."""


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        """`client`: Litestar's in-process test client, or an httpx client of a live server."""
        self.client = client

    async def request(
        self, method: str, path: str, json: Any = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if method in UNSAFE and "x-csrftoken" not in headers:
            if "csrftoken" not in self.client.cookies:
                await self.client.get("/api/v1/auth/csrf")
            headers["x-csrftoken"] = self.client.cookies["csrftoken"]
        return await self.client.request(
            method, f"/api/v1{path}", json=json, headers=headers, **kwargs
        )

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, json, **kwargs)

    async def patch(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, json, **kwargs)

    async def delete(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, json, **kwargs)

    async def signup(self, email: str, password: str = PASSWORD, **extra: Any) -> httpx.Response:
        return await self.post("/auth/signup", {"email": email, "password": password, **extra})

    async def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return await self.post("/auth/login", {"email": email, "password": password})


async def verified_user(api: Api, mailbox: Mailbox, email: str) -> None:
    """Sign up, confirm the address from the mail, sign in."""
    assert (await api.signup(email)).status_code == 202
    token = mailbox.token(mailbox.wait_for(email, "Confirm your email"))
    assert (await api.post("/auth/verify-email", {"token": token})).status_code == 200
    assert (await api.login(email)).status_code == 200


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    """The JSON error shape with this status and code, never stored by a cache."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    assert response.headers["cache-control"] == "no-store"


ApiFactory = Callable[[], AbstractAsyncContextManager[Api]]
"""Clients of their own, each on a new app instance (tests/integration's `make_api`)."""
