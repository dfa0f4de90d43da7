"""HavenCore's own system routes: ``/health`` for supervisors and ``/v1/havencore/info`` for Home Assistant."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from havencore_backend.components import ComponentRegistry, ComponentState
from havencore_backend.runtime import BackendRuntime

router = APIRouter()


class ComponentHealth(BaseModel):
    """Health of one backend component."""

    status: ComponentState
    detail: str = ""


class HealthResponse(BaseModel):
    """``GET /health``: overall status and each component's."""

    status: Literal["ok", "degraded"]
    version: str
    components: dict[str, ComponentHealth]


class WyomingPorts(BaseModel):
    """Where the Wyoming servers listen."""

    host: str
    stt_port: int
    tts_port: int


class InfoResponse(BaseModel):
    """``GET /v1/havencore/info``: what Home Assistant needs to identify and use this backend."""

    name: str
    version: str
    instance_id: str
    wyoming: WyomingPorts
    capabilities: list[str]
    chat_model: str | None = Field(description="id of the chat model in /v1/models; null when none is configured")
    embeddings_model: str | None = Field(description="id of the embeddings model in /v1/models, or null")
    chat_context_length: int | None = Field(
        description="the chat model's context window in tokens (its max_model_len in /v1/models); null when there is "
        "no chat model, or a vLLM given no length has not reported its own yet"
    )


def _runtime(request: Request) -> BackendRuntime:
    runtime: BackendRuntime = request.app.state.runtime
    return runtime


def _registry(request: Request) -> ComponentRegistry:
    return _runtime(request).components


@router.get("/health", response_model=HealthResponse, tags=["system"])
async def health(request: Request, response: Response) -> HealthResponse:
    """Status of each component; 503 while any component is in error, so supervisors can restart us."""
    snapshot = _registry(request).snapshot()
    degraded = any(status.state is ComponentState.ERROR for status in snapshot.values())
    if degraded:
        response.status_code = 503
    return HealthResponse(
        status="degraded" if degraded else "ok",
        version=_runtime(request).version,
        components={
            name: ComponentHealth(status=status.state, detail=status.detail) for name, status in snapshot.items()
        },
    )


@router.get("/v1/havencore/info", response_model=InfoResponse, tags=["system"])
async def info(request: Request) -> InfoResponse:
    """Version, instance id, Wyoming ports and capabilities of this backend."""
    runtime = _runtime(request)
    settings = runtime.settings
    return InfoResponse(
        name="HavenCore",
        version=runtime.version,
        instance_id=runtime.instance_id,
        wyoming=WyomingPorts(
            host=settings.wyoming_host, stt_port=settings.wyoming_stt_port, tts_port=settings.wyoming_tts_port
        ),
        capabilities=sorted(runtime.capabilities),
        chat_model=runtime.chat.engine.model_id if runtime.chat else None,
        embeddings_model=runtime.embeddings.model_id if runtime.embeddings else None,
        chat_context_length=runtime.chat.engine.context_length if runtime.chat else None,
    )
