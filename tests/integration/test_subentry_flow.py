"""Adding and reconfiguring the entities' subentries against the real backend's models and voices."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry, SubentryFlowResult
from homeassistant.const import CONF_API_KEY, CONF_NAME, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.havencore.const import (
    CONF_LANGUAGE,
    CONF_MAX_TOKENS,
    CONF_MODEL,
    CONF_SPEED,
    CONF_VOICE,
    DOMAIN,
    SUBENTRY_AI_TASK,
    SUBENTRY_CONVERSATION,
    SUBENTRY_STT,
    SUBENTRY_TTS,
)
from tests.backend_process import RunningBackend
from tests.integration.conftest import API_KEY


async def _entry(hass: HomeAssistant, backend: RunningBackend) -> ConfigEntry:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_URL: backend.url, CONF_API_KEY: API_KEY})
    await hass.async_block_till_done()
    return hass.config_entries.async_entries(DOMAIN)[0]


async def _reconfigure(hass: HomeAssistant, entry: ConfigEntry, kind: str) -> SubentryFlowResult:
    """Opens the reconfigure form of the entry's first subentry of ``kind``."""
    subentry = next(sub for sub in entry.subentries.values() if sub.subentry_type == kind)
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, kind), context={"source": "reconfigure", "subentry_id": subentry.subentry_id}
    )


def _options(result: SubentryFlowResult) -> list[str]:
    """The values a form's select offers for its first field whose selector has options."""
    data_schema = result["data_schema"]
    assert data_schema is not None
    schema = data_schema.schema
    for selector in schema.values():
        config = getattr(selector, "config", {})
        if "options" in config:
            return [o["value"] if isinstance(o, dict) else o for o in config["options"]]
    return []


async def test_add_a_second_agent_with_a_backend_model(hass_with_core: HomeAssistant, backend: RunningBackend) -> None:
    hass = hass_with_core
    entry = await _entry(hass, backend)

    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CONVERSATION), context={"source": "user"}
    )
    assert result["type"] is FlowResultType.FORM
    models = _options(result)
    # The backend default, then its chat model; never its embeddings model.
    assert models == ["", "qwen2.5-coder-0.5b-instruct-q4_k_m"]
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Kitchen helper", CONF_MODEL: models[-1], CONF_MAX_TOKENS: 200}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    agents = [sub for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_CONVERSATION]
    assert sorted(sub.title for sub in agents) == ["HavenCore conversation", "Kitchen helper"]
    assert hass.states.get("conversation.kitchen_helper") is not None


async def test_reconfigure_the_voice(hass_with_core: HomeAssistant, backend: RunningBackend) -> None:
    hass = hass_with_core
    entry = await _entry(hass, backend)
    subentry = next(sub for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_TTS)

    result = await _reconfigure(hass, entry, SUBENTRY_TTS)
    voices = [voice for voice in _options(result) if voice]
    assert voices
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_VOICE: voices[0], CONF_SPEED: 1.2}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.subentries[subentry.subentry_id].data == {CONF_VOICE: voices[0], CONF_SPEED: 1.2}


async def test_speech_to_text_languages_come_from_the_backend(
    hass_with_core: HomeAssistant, backend: RunningBackend
) -> None:
    hass = hass_with_core
    entry = await _entry(hass, backend)
    subentry = next(sub for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_STT)

    result = await _reconfigure(hass, entry, SUBENTRY_STT)
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {CONF_LANGUAGE: ["en"]})
    await hass.async_block_till_done()

    assert result["reason"] == "reconfigure_successful"
    assert entry.subentries[subentry.subentry_id].data[CONF_LANGUAGE] == ["en"]


async def test_add_an_ai_task(hass_with_core: HomeAssistant, backend: RunningBackend) -> None:
    hass = hass_with_core
    entry = await _entry(hass, backend)

    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_AI_TASK), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {CONF_NAME: "Summaries"})
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert hass.states.get("ai_task.summaries") is not None


async def test_subentry_flow_needs_a_loaded_entry(hass_with_core: HomeAssistant, backend_down_url: str) -> None:
    hass = hass_with_core
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_URL: backend_down_url, CONF_API_KEY: API_KEY})
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)

    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CONVERSATION), context={"source": "user"}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_not_loaded"
