"""Keeps the spoken reply honest and human when a small model echoes a tool result as raw JSON."""

from __future__ import annotations

import json
from dataclasses import replace

from homeassistant.components import conversation
from homeassistant.core import HomeAssistant

from .errors import async_translate


def _is_raw_json(text: str) -> bool:
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return False
    try:
        json.loads(stripped)
    except ValueError:
        return False
    return True


def _outcome(chat_log: conversation.ChatLog) -> tuple[list[str], bool]:
    """Names of the entities this turn's tool calls changed, and whether any tool call failed.

    An intent tool's result looks like ``{"response_type": "action_done", "data": {"success": [{"name": "Kitchen
    light", "type": "entity", ...}], "failed": []}}``; a tool that raised gives ``{"error": ..., "error_text": ...}``.
    """
    changed: list[str] = []
    failed = False
    for content in chat_log.content[chat_log.llm_input_provided_index :]:
        if not isinstance(content, conversation.ToolResultContent):
            continue
        result = content.tool_result
        failed |= "error" in result or result.get("response_type") == "error"
        data = result.get("data")
        if isinstance(data, dict):
            successes = data.get("success")
            for target in successes if isinstance(successes, list) else ():
                if isinstance(target, dict) and target.get("type") == "entity":
                    changed.append(str(target.get("name")))
            failed |= bool(data.get("failed"))
    return changed, failed


async def async_humanize_reply(hass: HomeAssistant, chat_log: conversation.ChatLog, language: str) -> None:
    """Replaces a final reply that is raw JSON with a short sentence built from what the tools really did."""
    last = chat_log.content[-1]
    if not isinstance(last, conversation.AssistantContent) or not last.content or not _is_raw_json(last.content):
        return
    changed, failed = _outcome(chat_log)
    if changed and not failed:
        text = await async_translate(hass, "reply_done", language, {"names": ", ".join(dict.fromkeys(changed))})
    elif failed:
        text = await async_translate(hass, "reply_failed", language)
    else:
        text = await async_translate(hass, "reply_unclear", language)
    chat_log.content[-1] = replace(last, content=text or "")
