"""ASGI middleware of the bot's server: a body size limit for ``/api/chat``, no framing of
the console, and a lockout of an address after repeated failed console sign-ins."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from chatbot.admin.users import Lockout
from chatbot.settings import Settings


def install_middleware(server: FastAPI, settings: Settings) -> None:
    """CORS for ``settings.origins`` (when any), ``ConsoleNotFramed``, ``LoginLockout`` and
    ``BodyLimit``. The last added runs first, so an oversized body is refused before anything
    else reads the request."""
    origins = settings.origins
    if origins:  # other sites that may call /api/chat from the browser (the iframe needs no CORS)
        server.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["content-type"],
        )
    server.add_middleware(ConsoleNotFramed)
    server.add_middleware(LoginLockout)
    server.add_middleware(BodyLimit, max_bytes=settings.max_request_kb * 1024)


class BodyLimit:
    """Refuses a request body over ``max_bytes`` under ``paths`` with 413, before the app
    parses it: by its Content-Length, or by counting when it comes without one (chunked)."""

    def __init__(self, app, max_bytes: int, paths: tuple[str, ...] = ("/api/chat",)):
        self.app, self.max_bytes, self.paths = app, max_bytes, paths

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].endswith(self.paths):
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.max_bytes:
                return await self._refuse(send)
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                return await self._refuse(send)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, send) -> None:
        text = f'{{"detail": "the request body is larger than {self.max_bytes // 1024} KB"}}'.encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(text)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": text})


class ConsoleNotFramed:
    """The console may not be shown inside another site's frame (clickjacking); the public
    chat may, that is how it is embedded."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not ("/admin/" in path or path.endswith("/admin")):
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-frame-options", b"DENY"),
                    (b"content-security-policy", b"frame-ancestors 'none'"),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class LoginLockout:
    """Counts failed console sign-ins (``POST /admin/login`` answered 400) per client address and
    answers 429 to an address with too many recent ones, before the password is even checked.
    The login itself locks per account name (``chatbot.admin.users``); Gradio's login gives it
    no address, hence this. Behind a proxy the address is the proxy's: limit there as well."""

    def __init__(self, app, lockout: Lockout | None = None):
        self.app = app
        self.lockout = lockout or Lockout()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith("/admin/login"):
            return await self.app(scope, receive, send)
        address = (scope.get("client") or ("unknown", 0))[0]
        if self.lockout.locked(address):
            text = b'{"detail": "too many failed sign-ins from this address: try again in a few minutes"}'
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(text)).encode())]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            return await send({"type": "http.response.body", "body": text})

        async def watch(message):
            if message["type"] == "http.response.start" and message["status"] == 400:
                self.lockout.failed(address)
            await send(message)

        await self.app(scope, receive, watch)
