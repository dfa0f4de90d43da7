"""Config flow for HavenCore: the backend's URL and API key, checked live."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .api import BackendInfo, HavenCoreAuthError, HavenCoreClient, HavenCoreConnectionError
from .const import DEFAULT_URL, DOMAIN, LOGGER

STEP_USER_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_URL, default=DEFAULT_URL): TextSelector(TextSelectorConfig(type=TextSelectorType.URL)),
        vol.Optional(CONF_API_KEY, default=""): TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD)),
    }
)
STEP_REAUTH_SCHEMA = vol.Schema(
    {vol.Optional(CONF_API_KEY, default=""): TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))}
)


class HavenCoreConfigFlow(ConfigFlow, domain=DOMAIN):
    """Sets up a connection to one HavenCore backend."""

    VERSION = 1

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

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Asks for the backend URL and key."""
        errors: dict[str, str] = {}
        if user_input is not None:
            url = user_input[CONF_URL].strip().rstrip("/")
            api_key = user_input.get(CONF_API_KEY, "").strip()
            info, errors = await self._async_validate(url, api_key)
            if info is not None:
                await self.async_set_unique_id(info.instance_id)
                self._abort_if_unique_id_configured()
                return self.async_create_entry(title="HavenCore", data={CONF_URL: url, CONF_API_KEY: api_key})
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(STEP_USER_SCHEMA, user_input),
            errors=errors,
        )

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
            data_schema=STEP_REAUTH_SCHEMA,
            description_placeholders={"url": entry.data[CONF_URL]},
            errors=errors,
        )
