"""OpenAI-compatible ``POST /v1/embeddings`` over the embeddings model."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from havencore_backend.embeddings.engine import EmbeddingsModel, EmbeddingsUnavailableError
from havencore_backend.runtime import BackendRuntime

from .errors import APIError

router = APIRouter(tags=["openai"])

_MAX_INPUTS = 2048


class EmbeddingsRequest(BaseModel):
    """The body of ``POST /v1/embeddings``; token-id inputs are not supported."""

    model: str
    input: str | Annotated[list[str], Field(min_length=1, max_length=_MAX_INPUTS)]
    encoding_format: Literal["float", "base64"] = "float"


def _model(request: Request, name: str) -> EmbeddingsModel:
    runtime: BackendRuntime = request.app.state.runtime
    if runtime.embeddings is None:
        raise APIError(
            503,
            "No embeddings model is configured on this backend.",
            error_type="server_error",
            code="model_not_configured",
        )
    if name != runtime.embeddings.model_id:
        raise APIError(
            404,
            f"The model '{name}' does not exist; this backend embeds with '{runtime.embeddings.model_id}'.",
            error_type="not_found_error",
            param="model",
            code="model_not_found",
        )
    return runtime.embeddings


@router.post("/v1/embeddings")
async def create_embeddings(body: EmbeddingsRequest, request: Request) -> dict[str, Any]:
    """One vector per input, as floats or as base64 little-endian float32 (what the OpenAI SDK asks for)."""
    model = _model(request, body.model)
    texts = [body.input] if isinstance(body.input, str) else body.input
    if any(not text for text in texts):
        raise APIError(400, "Inputs must be non-empty strings.", param="input", code="invalid_value")
    try:
        vectors = await model.embed(texts)
    except EmbeddingsUnavailableError as err:
        raise APIError(503, str(err), error_type="server_error", code="model_unavailable") from err
    data = [
        {
            "object": "embedding",
            "index": index,
            "embedding": base64.b64encode(vector.astype("<f4").tobytes()).decode()
            if body.encoding_format == "base64"
            else vector.tolist(),
        }
        for index, vector in enumerate(vectors)
    ]
    tokens = sum(len(text.split()) for text in texts)  # an estimate: the tokenizer's count is not kept
    return {
        "object": "list",
        "data": data,
        "model": body.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
