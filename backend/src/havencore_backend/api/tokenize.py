"""``POST /v1/havencore/tokenize``: a prompt's length in the chat model's own tokens, after vLLM's ``/tokenize``, so
clients can build every request inside the context window."""

from __future__ import annotations

from typing import Self

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, model_validator

from havencore_backend.llm.engine import (
    ChatEngineUnavailableError,
    ChatRequestError,
    TokenCountUnsupportedError,
)

from .chat import ChatParameters, Messages, chat_service, engine_error, to_chat_request
from .errors import APIError

router = APIRouter(prefix="/v1/havencore", tags=["openai"])


class TokenizeRequest(ChatParameters):
    """A ``/v1/chat/completions`` body (fields that do not shape the prompt are ignored), or ``model`` and a plain
    ``prompt`` instead of ``messages``."""

    messages: Messages | None = None
    prompt: str | None = Field(default=None, description="plain text, counted with no special tokens added")

    @model_validator(mode="after")
    def _messages_or_prompt(self) -> Self:
        if (self.messages is None) == (self.prompt is None):
            raise ValueError("give either messages or prompt")
        return self


class TokenizeResponse(BaseModel):
    """The count and the window it must fit in."""

    count: int = Field(description="tokens of the prompt; for messages, the usage.prompt_tokens of that chat request")
    max_model_len: int = Field(description="the model's context window in tokens, prompt and answer together")


@router.post("/tokenize", response_model=TokenizeResponse)
async def tokenize(body: TokenizeRequest, request: Request) -> TokenizeResponse:
    """Counts a chat request's prompt or a plain ``prompt`` in the model's tokens, also beyond the window, without
    waiting for a running generation."""
    service = chat_service(request, body.model)
    prompt = to_chat_request(body, body.messages) if body.messages is not None else body.prompt or ""
    try:
        counted = await service.engine.count_tokens(prompt)
    except TokenCountUnsupportedError as err:
        raise APIError(501, str(err), error_type="server_error", code="tokenize_unsupported") from err
    except (ChatRequestError, ChatEngineUnavailableError) as err:
        raise engine_error(err) from err
    return TokenizeResponse(count=counted.count, max_model_len=counted.max_model_len)
