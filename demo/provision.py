"""Brings a booted Home Assistant to the demo's state; every step checks first, so a second start changes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

from .ha_client import HomeAssistantClient, HomeAssistantError, client_id
from .home_config import AREAS, DEMO_ENTITIES, HELPER_ENTITIES

PIPELINE_NAME = "HavenCore"
LANGUAGE = "en"
HAVENCORE = "havencore"


async def onboard(client: HomeAssistantClient, name: str, username: str, password: str) -> str:
    """Creates the owner through onboarding's REST step and returns a long-lived token for them."""
    cid = client_id(client.base_url)
    reply = await client.request(
        "POST",
        "/api/onboarding/users",
        json={"client_id": cid, "name": name, "username": username, "password": password, "language": LANGUAGE},
    )
    await client.exchange_code(reply["auth_code"])
    token: str = await client.command("auth/long_lived_access_token", client_name="HavenCore demo", lifespan=3650)
    return token


async def wait_until_running(client: HomeAssistantClient) -> None:
    """Waits until Home Assistant has finished starting every integration."""
    async with asyncio.timeout(120):
        while True:
            if (await client.request("GET", "/api/config"))["state"] == "RUNNING":
                return
            await asyncio.sleep(0.2)


async def place_entities(client: HomeAssistantClient) -> None:
    """Puts each demo entity in its area and shows Assist the demo entities but not their helpers."""
    existing = {area["area_id"] for area in await client.command("config/area_registry/list")}
    for area_id, name in AREAS.items():
        if area_id not in existing:
            await client.command("config/area_registry/create", name=name)
    for entity in DEMO_ENTITIES:
        await client.command("config/entity_registry/update", entity_id=entity.entity_id, area_id=entity.area_id)
    for exposed in (True, False):
        await client.command(
            "homeassistant/expose_entity",
            assistants=["conversation"],
            entity_ids=[e.entity_id for e in (*DEMO_ENTITIES, *HELPER_ENTITIES) if e.exposed is exposed],
            should_expose=exposed,
        )


async def _havencore_entry(client: HomeAssistantClient) -> dict[str, Any] | None:
    entries: list[dict[str, Any]] = await client.request("GET", "/api/config/config_entries/entry")
    return next((entry for entry in entries if entry["domain"] == HAVENCORE), None)


CONFIG_FLOW = "/api/config/config_entries/flow"
SUBENTRY_FLOW = "/api/config/config_entries/subentries/flow"


async def run_flow(
    client: HomeAssistantClient, start: dict[str, Any], user_input: dict[str, Any], path: str = CONFIG_FLOW
) -> dict[str, Any]:
    """Runs a one-form config flow (or, with ``SUBENTRY_FLOW``, a subentry flow) through the same REST calls the
    frontend's dialog makes; raises when it shows no form, or errors instead of finishing."""
    form = await client.request("POST", path, json=start)
    if form.get("type") != "form":
        raise HomeAssistantError(f"the config flow {start} did not show its form: {form}")
    result: dict[str, Any] = await client.request("POST", f"{path}/{form['flow_id']}", json=user_input)
    if result.get("type") not in ("create_entry", "abort") or result.get("errors"):
        raise HomeAssistantError(f"the config flow {start} failed: {result}")
    return result


async def configure_havencore(
    client: HomeAssistantClient, url: str, api_key: str, *, recreate: bool, reconfigure: bool
) -> None:
    """Adds the backend through HavenCore's real config flow; ``recreate`` starts over (the backend gained
    capabilities, so the default STT/TTS subentries must be made), ``reconfigure`` points it at a new URL."""
    entry = await _havencore_entry(client)
    if entry is not None and recreate:
        await client.request("DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}")
        entry = None
    credentials = {"url": url, "api_key": api_key}
    if entry is None:
        await run_flow(client, {"handler": HAVENCORE}, credentials)
    elif reconfigure:
        await run_flow(client, {"handler": HAVENCORE, "entry_id": entry["entry_id"]}, credentials)
    try:
        async with asyncio.timeout(60):
            while True:
                entry = await _havencore_entry(client)
                if entry is not None and entry["state"] == "loaded":
                    return
                await asyncio.sleep(0.2)
    except TimeoutError as err:
        raise HomeAssistantError(f"HavenCore's config entry did not load: {entry}") from err


async def integration_entities(client: HomeAssistantClient, platform: str) -> dict[str, str]:
    """An integration's enabled entity ids by domain (e.g. conversation, stt, tts), the first of each."""
    entities: list[dict[str, Any]] = await client.command("config/entity_registry/list")
    found: dict[str, str] = {}
    for entity in entities:
        if entity["platform"] == platform and not entity.get("disabled_by"):
            found.setdefault(entity["entity_id"].split(".", 1)[0], entity["entity_id"])
    return found


async def havencore_entities(client: HomeAssistantClient) -> dict[str, str]:
    """HavenCore's entity ids by domain (conversation, stt, tts, ai_task), the first of each."""
    return await integration_entities(client, HAVENCORE)


async def closest_language(client: HomeAssistantClient, kind: str, engine_id: str) -> str:
    """The engine's language closest to the demo's (e.g. ``en-US`` for ``en``), as HA ranks them."""
    listing = await client.command(f"{kind}/engine/list", language=LANGUAGE)
    engine = next((p for p in listing["providers"] if p["engine_id"] == engine_id), None)
    if engine is None or not engine["supported_languages"]:
        raise HomeAssistantError(f"{engine_id} speaks no language close to {LANGUAGE!r}")
    language: str = engine["supported_languages"][0]
    return language


async def ensure_pipeline(
    client: HomeAssistantClient,
    name: str,
    conversation: str,
    stt: str | None,
    tts: str | None,
    *,
    prefer_local_intents: bool = False,
) -> str:
    """Creates the Assist pipeline ``name`` with these engines, or updates it to them, and returns its id."""
    wanted: dict[str, Any] = {
        "name": name,
        "language": LANGUAGE,
        "conversation_engine": conversation,
        "conversation_language": LANGUAGE,
        "stt_engine": stt,
        "stt_language": await closest_language(client, "stt", stt) if stt else None,
        "tts_engine": tts,
        "tts_language": await closest_language(client, "tts", tts) if tts else None,
        "tts_voice": None,
        "wake_word_entity": None,
        "wake_word_id": None,
        "prefer_local_intents": prefer_local_intents,
    }
    listing = await client.command("assist_pipeline/pipeline/list")
    current = next((p for p in listing["pipelines"] if p["name"] == name), None)
    if current is None:
        current = await client.command("assist_pipeline/pipeline/create", **wanted)
    elif any(current.get(key) != value for key, value in wanted.items()):
        current = await client.command("assist_pipeline/pipeline/update", pipeline_id=current["id"], **wanted)
    pipeline_id: str = current["id"]
    return pipeline_id


async def set_up_pipeline(
    client: HomeAssistantClient,
    name: str = PIPELINE_NAME,
    conversation_engine: str | None = None,
    *,
    preferred: bool = True,
) -> str:
    """Creates or updates an Assist pipeline with HavenCore's speech engines where they exist and HavenCore's agent
    (or ``conversation_engine``), makes it preferred unless told not to, and returns its id."""
    entities = await havencore_entities(client)
    pipeline_id = await ensure_pipeline(
        client, name, conversation_engine or entities["conversation"], entities.get("stt"), entities.get("tts")
    )
    if preferred and (await client.command("assist_pipeline/pipeline/list"))["preferred_pipeline"] != pipeline_id:
        await client.command("assist_pipeline/pipeline/set_preferred", pipeline_id=pipeline_id)
    return pipeline_id
