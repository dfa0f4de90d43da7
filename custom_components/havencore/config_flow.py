"""Config flow for HavenCore: the backend (typed in, or discovered from the add-on) and one subentry per entity."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryData,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_API_KEY, CONF_LLM_HASS_API, CONF_NAME, CONF_URL
from homeassistant.core import callback
from homeassistant.helpers import llm
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    TemplateSelector,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.hassio import HassioServiceInfo

from .api import BackendInfo, HavenCoreAuthError, HavenCoreClient, HavenCoreConnectionError, HavenCoreError
from .const import (
    CAPABILITY_STT,
    CAPABILITY_TTS,
    CONF_DIRECT_ACTION_REPLIES,
    CONF_LANGUAGE,
    CONF_MAX_HISTORY,
    CONF_MAX_TOKENS,
    CONF_MAX_TOOL_ITERATIONS,
    CONF_MEMORY_TOKEN_BUDGET,
    CONF_MODEL,
    CONF_PREFER_LOCAL_INTENTS,
    CONF_PREPARE_PROMPT,
    CONF_PROMPT,
    CONF_RESUME_WINDOW,
    CONF_SPEED,
    CONF_TEMPERATURE,
    CONF_VOICE,
    DEFAULT_AI_TASK_NAME,
    DEFAULT_AI_TASK_OPTIONS,
    DEFAULT_CONVERSATION_NAME,
    DEFAULT_CONVERSATION_OPTIONS,
    DEFAULT_MEMORY_TOKEN_BUDGET,
    DEFAULT_RESUME_WINDOW,
    DEFAULT_STT_NAME,
    DEFAULT_STT_OPTIONS,
    DEFAULT_TTS_NAME,
    DEFAULT_TTS_OPTIONS,
    DEFAULT_URL,
    DISCOVERY_API_KEY,
    DISCOVERY_HOST,
    DISCOVERY_PORT,
    DOMAIN,
    LOGGER,
    SUBENTRY_AI_TASK,
    SUBENTRY_CONVERSATION,
    SUBENTRY_STT,
    SUBENTRY_TTS,
)
from .runtime import HavenCoreConfigEntry
from .stt import backend_stt_languages
from .tts import backend_voices

_PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
STEP_USER_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_URL, default=DEFAULT_URL): TextSelector(TextSelectorConfig(type=TextSelectorType.URL)),
        vol.Optional(CONF_API_KEY, default=""): _PASSWORD,
    }
)
STEP_KEY_SCHEMA = vol.Schema({vol.Optional(CONF_API_KEY, default=""): _PASSWORD})

DEFAULT_OPTIONS: dict[str, Mapping[str, Any]] = {
    SUBENTRY_CONVERSATION: DEFAULT_CONVERSATION_OPTIONS,
    SUBENTRY_AI_TASK: DEFAULT_AI_TASK_OPTIONS,
    SUBENTRY_STT: DEFAULT_STT_OPTIONS,
    SUBENTRY_TTS: DEFAULT_TTS_OPTIONS,
}
DEFAULT_NAMES = {
    SUBENTRY_CONVERSATION: DEFAULT_CONVERSATION_NAME,
    SUBENTRY_AI_TASK: DEFAULT_AI_TASK_NAME,
    SUBENTRY_STT: DEFAULT_STT_NAME,
    SUBENTRY_TTS: DEFAULT_TTS_NAME,
}


def default_subentries(info: BackendInfo) -> list[ConfigSubentryData]:
    """The subentries a new entry starts with: an agent and an AI Task, plus speech where the backend has it."""
    kinds = [SUBENTRY_CONVERSATION, SUBENTRY_AI_TASK]
    if CAPABILITY_STT in info.capabilities:
        kinds.append(SUBENTRY_STT)
    if CAPABILITY_TTS in info.capabilities:
        kinds.append(SUBENTRY_TTS)
    return [
        ConfigSubentryData(
            subentry_type=kind, data=dict(DEFAULT_OPTIONS[kind]), title=DEFAULT_NAMES[kind], unique_id=None
        )
        for kind in kinds
    ]


class HavenCoreConfigFlow(ConfigFlow, domain=DOMAIN):
    """Sets up a connection to one HavenCore backend."""

    VERSION = 1

    def __init__(self) -> None:
        self._discovered: dict[str, str] = {}

    async def _async_validate_input(
        self, user_input: dict[str, Any]
    ) -> tuple[str, str, BackendInfo | None, dict[str, str]]:
        """The typed URL and key, cleaned, with the backend's info or the form errors."""
        url = user_input[CONF_URL].strip().rstrip("/")
        api_key = user_input.get(CONF_API_KEY, "").strip()
        info, errors = await self._async_validate(url, api_key)
        return url, api_key, info, errors

    async def _async_validate(self, url: str, api_key: str) -> tuple[BackendInfo | None, dict[str, str]]:
        """Asks the backend for its info; returns it, or the form errors to show."""
        client = HavenCoreClient(async_get_clientsession(self.hass), url, api_key)
        try:
            return await client.async_get_info(), {}
        except HavenCoreAuthError:
            return None, {"base": "invalid_auth"}
        except HavenCoreConnectionError as err:
            LOGGER.debug("Backend check failed: %s", err)
            return None, {"base": "cannot_connect"}

    def _create(self, info: BackendInfo, url: str, api_key: str) -> ConfigFlowResult:
        return self.async_create_entry(
            title="HavenCore",
            data={CONF_URL: url, CONF_API_KEY: api_key},
            subentries=default_subentries(info),
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Asks for the backend URL and key."""
        errors: dict[str, str] = {}
        if user_input is not None:
            url, api_key, info, errors = await self._async_validate_input(user_input)
            if info is not None:
                await self.async_set_unique_id(info.instance_id)
                self._abort_if_unique_id_configured()
                return self._create(info, url, api_key)
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(STEP_USER_SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_hassio(self, discovery_info: HassioServiceInfo) -> ConfigFlowResult:
        """The HavenCore add-on announced itself; the user only confirms."""
        config = discovery_info.config
        url = f"http://{config[DISCOVERY_HOST]}:{config[DISCOVERY_PORT]}"
        api_key = str(config.get(DISCOVERY_API_KEY, ""))
        info, errors = await self._async_validate(url, api_key)
        if info is None:
            return self.async_abort(reason=errors["base"])
        await self.async_set_unique_id(info.instance_id)
        self._abort_if_unique_id_configured(updates={CONF_URL: url, CONF_API_KEY: api_key})
        self._discovered = {CONF_URL: url, CONF_API_KEY: api_key, CONF_NAME: discovery_info.name}
        return await self.async_step_hassio_confirm()

    async def async_step_hassio_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Confirms the discovered add-on."""
        if user_input is None:
            return self.async_show_form(
                step_id="hassio_confirm", description_placeholders={"addon": self._discovered[CONF_NAME]}
            )
        info, errors = await self._async_validate(self._discovered[CONF_URL], self._discovered[CONF_API_KEY])
        if info is None:
            return self.async_abort(reason=errors["base"])
        return self._create(info, self._discovered[CONF_URL], self._discovered[CONF_API_KEY])

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Starts when the backend rejects the stored key."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Asks for the new key and checks it against the same backend."""
        errors: dict[str, str] = {}
        entry = self._get_reauth_entry()
        if user_input is not None:
            api_key = user_input.get(CONF_API_KEY, "").strip()
            info, errors = await self._async_validate(entry.data[CONF_URL], api_key)
            if info is not None:
                await self.async_set_unique_id(info.instance_id)
                self._abort_if_unique_id_mismatch(reason="wrong_backend")
                return self.async_update_reload_and_abort(entry, data_updates={CONF_API_KEY: api_key})
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=STEP_KEY_SCHEMA,
            description_placeholders={"url": entry.data[CONF_URL]},
            errors=errors,
        )

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Changes the URL or key of the same backend."""
        errors: dict[str, str] = {}
        entry = self._get_reconfigure_entry()
        if user_input is not None:
            url, api_key, info, errors = await self._async_validate_input(user_input)
            if info is not None:
                await self.async_set_unique_id(info.instance_id)
                self._abort_if_unique_id_mismatch(reason="wrong_backend")
                return self.async_update_reload_and_abort(entry, data_updates={CONF_URL: url, CONF_API_KEY: api_key})
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(STEP_USER_SCHEMA, user_input or dict(entry.data)),
            errors=errors,
        )

    @classmethod
    @callback
    def async_get_supported_subentry_types(cls, config_entry: ConfigEntry) -> dict[str, type[ConfigSubentryFlow]]:
        """Conversation agents, AI Tasks and speech entities, each a subentry."""
        return dict.fromkeys(DEFAULT_NAMES, HavenCoreSubentryFlow)


class HavenCoreSubentryFlow(ConfigSubentryFlow):
    """Creates and reconfigures one entity's subentry with one shared step."""

    @property
    def _is_new(self) -> bool:
        return self.source == "user"

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Adds an entity."""
        return await self.async_step_set_options(user_input)

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Changes an entity's options."""
        return await self.async_step_set_options(user_input)

    async def async_step_set_options(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Shows the options of this kind of entity, filled with the current or default values."""
        entry: HavenCoreConfigEntry = self._get_entry()
        if entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded")
        if user_input is not None:
            if self._is_new:
                title = user_input.pop(CONF_NAME)
                return self.async_create_entry(title=title, data=user_input)
            return self.async_update_and_abort(entry, self._get_reconfigure_subentry(), data=user_input)

        kind = self._subentry_type
        if kind in (SUBENTRY_STT, SUBENTRY_TTS) and (
            (entry.runtime_data.stt_info if kind == SUBENTRY_STT else entry.runtime_data.tts_info) is None
        ):
            return self.async_abort(reason="no_speech_server")
        current = DEFAULT_OPTIONS[kind] if self._is_new else self._get_reconfigure_subentry().data
        schema: dict[Any, Any] = {}
        if self._is_new:
            schema[vol.Required(CONF_NAME, default=DEFAULT_NAMES[kind])] = str
        if kind in (SUBENTRY_CONVERSATION, SUBENTRY_AI_TASK):
            try:
                models = await entry.runtime_data.client.async_list_models()
            except HavenCoreError:
                return self.async_abort(reason="cannot_connect")
            models = [model for model in models if model != entry.runtime_data.info.embeddings_model]
            schema.update(self._llm_schema(kind, current, models))
        elif kind == SUBENTRY_STT:
            schema.update(self._stt_schema(entry, current))
        else:
            schema.update(self._tts_schema(entry, current))
        return self.async_show_form(step_id="set_options", data_schema=vol.Schema(schema))

    def _llm_schema(self, kind: str, current: Mapping[str, Any], models: list[str]) -> dict[Any, Any]:
        model_options = [SelectOptionDict(value="", label="Backend default")] + [
            SelectOptionDict(value=model, label=model) for model in models
        ]
        schema: dict[Any, Any] = {
            vol.Optional(CONF_MODEL, default=current.get(CONF_MODEL, "")): SelectSelector(
                SelectSelectorConfig(options=model_options, custom_value=True)
            )
        }
        if kind != SUBENTRY_CONVERSATION:
            return schema
        apis = [SelectOptionDict(value=api.id, label=api.name) for api in llm.async_get_apis(self.hass)]
        known_apis = {option["value"] for option in apis}
        schema.update(
            {
                vol.Optional(
                    CONF_PROMPT, description={"suggested_value": current.get(CONF_PROMPT)}
                ): TemplateSelector(),
                vol.Optional(
                    CONF_LLM_HASS_API,
                    description={
                        "suggested_value": [api for api in current.get(CONF_LLM_HASS_API, []) if api in known_apis]
                    },
                ): SelectSelector(SelectSelectorConfig(options=apis, multiple=True)),
                vol.Optional(CONF_TEMPERATURE, default=current.get(CONF_TEMPERATURE)): NumberSelector(
                    NumberSelectorConfig(min=0, max=2, step=0.05, mode=NumberSelectorMode.SLIDER)
                ),
                vol.Optional(CONF_MAX_TOKENS, default=current.get(CONF_MAX_TOKENS)): NumberSelector(
                    NumberSelectorConfig(min=16, max=8192, step=1, mode=NumberSelectorMode.BOX)
                ),
                vol.Optional(CONF_MAX_TOOL_ITERATIONS, default=current.get(CONF_MAX_TOOL_ITERATIONS)): NumberSelector(
                    NumberSelectorConfig(min=1, max=20, step=1, mode=NumberSelectorMode.BOX)
                ),
                vol.Optional(CONF_MAX_HISTORY, default=current.get(CONF_MAX_HISTORY)): NumberSelector(
                    NumberSelectorConfig(min=0, max=100, step=1, mode=NumberSelectorMode.BOX)
                ),
                vol.Optional(
                    CONF_PREFER_LOCAL_INTENTS, default=current.get(CONF_PREFER_LOCAL_INTENTS, True)
                ): BooleanSelector(),
                vol.Optional(
                    CONF_DIRECT_ACTION_REPLIES, default=current.get(CONF_DIRECT_ACTION_REPLIES, True)
                ): BooleanSelector(),
                vol.Optional(CONF_PREPARE_PROMPT, default=current.get(CONF_PREPARE_PROMPT, True)): BooleanSelector(),
                vol.Optional(
                    CONF_RESUME_WINDOW, default=current.get(CONF_RESUME_WINDOW, DEFAULT_RESUME_WINDOW)
                ): NumberSelector(
                    NumberSelectorConfig(
                        min=0, max=1440, step=1, mode=NumberSelectorMode.BOX, unit_of_measurement="min"
                    )
                ),
                vol.Optional(
                    CONF_MEMORY_TOKEN_BUDGET,
                    default=current.get(CONF_MEMORY_TOKEN_BUDGET, DEFAULT_MEMORY_TOKEN_BUDGET),
                ): NumberSelector(NumberSelectorConfig(min=0, max=4000, step=10, mode=NumberSelectorMode.BOX)),
            }
        )
        return schema

    @staticmethod
    def _stt_schema(entry: HavenCoreConfigEntry, current: Mapping[str, Any]) -> dict[Any, Any]:
        info = entry.runtime_data.stt_info
        models = [model.name for program in (info.asr if info else ()) for model in program.models if model.installed]
        return {
            vol.Optional(CONF_MODEL, default=current.get(CONF_MODEL, "")): SelectSelector(
                SelectSelectorConfig(
                    options=[SelectOptionDict(value="", label="Backend default")]
                    + [SelectOptionDict(value=model, label=model) for model in models]
                )
            ),
            vol.Optional(CONF_LANGUAGE, description={"suggested_value": current.get(CONF_LANGUAGE, [])}): (
                SelectSelector(SelectSelectorConfig(options=backend_stt_languages(entry), multiple=True))
            ),
        }

    @staticmethod
    def _tts_schema(entry: HavenCoreConfigEntry, current: Mapping[str, Any]) -> dict[Any, Any]:
        voices = {voice.voice_id: voice.name for found in backend_voices(entry).values() for voice in found}
        return {
            vol.Optional(CONF_VOICE, default=current.get(CONF_VOICE, "")): SelectSelector(
                SelectSelectorConfig(
                    options=[SelectOptionDict(value="", label="Backend default")]
                    + [SelectOptionDict(value=voice_id, label=name) for voice_id, name in sorted(voices.items())]
                )
            ),
            vol.Optional(CONF_SPEED, default=current.get(CONF_SPEED, 1.0)): NumberSelector(
                NumberSelectorConfig(min=0.5, max=2.0, step=0.05, mode=NumberSelectorMode.SLIDER)
            ),
        }
