"""Bearer API-key check for every route but ``/health``, as a plain ASGI middleware so streaming is untouched."""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import error_response

UNAUTHENTICATED_PATHS = frozenset({"/health"})


class APIKeyMiddleware:
    """Rejects requests without ``Authorization: Bearer <key>`` with an OpenAI-style 401."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self._app = app
        self._expected = f"Bearer {api_key}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNAUTHENTICATED_PATHS:
            await self._app(scope, receive, send)
            return
        supplied = dict(scope["headers"]).get(b"authorization", b"")
        if hmac.compare_digest(supplied, self._expected):
            await self._app(scope, receive, send)
            return
        message = (
            "Missing API key: send it as 'Authorization: Bearer <key>'."
            if not supplied
            else "Incorrect API key provided."
        )
        response = error_response(
            401,
            message,
            error_type="invalid_request_error",
            code="invalid_api_key",
            headers={"WWW-Authenticate": "Bearer"},
        )
        await response(scope, receive, send)
