"""Builds the FastAPI application over a ``BackendRuntime``."""

from __future__ import annotations

from fastapi import FastAPI

from havencore_backend.runtime import BackendRuntime

from . import audio, chat, embeddings, memory, system, tokenize
from .auth import APIKeyMiddleware
from .errors import install_error_handlers


def create_app(runtime: BackendRuntime) -> FastAPI:
    """The HTTP API with every router, OpenAI-style errors and, when a key is set, bearer auth."""
    app = FastAPI(title="HavenCore backend", version=runtime.version)
    app.state.runtime = runtime
    install_error_handlers(app)
    app.include_router(system.router)
    app.include_router(audio.router)
    app.include_router(chat.router)
    app.include_router(tokenize.router)
    app.include_router(embeddings.router)
    app.include_router(memory.router)
    if runtime.settings.api_key:
        app.add_middleware(APIKeyMiddleware, api_key=runtime.settings.api_key)
    return app
