"""Typed turns against a real Home Assistant and backend, over HA's websocket and REST APIs as a client sends them."""

from __future__ import annotations

import asyncio

import pytest

from demo.assist import converse, run_pipeline
from demo.ha_client import HomeAssistantError
from demo.stack import DemoHome

pytestmark = pytest.mark.asyncio(loop_scope="session")

LOCAL_REPLY = "Turned on the light"


async def test_conversation_process_switches_a_light(demo_home: DemoHome) -> None:
    """``conversation/process`` with HavenCore's agent turns the bedroom light on and says so."""
    client = demo_home.client
    await client.call_service("light", "turn_off", entity_id="light.bedroom_light")

    reply = await converse(client, "turn on the bedroom light", demo_home.entities["conversation"])

    assert reply == LOCAL_REPLY
    assert await client.state("light.bedroom_light") == "on"


async def test_preferred_pipeline_runs_a_typed_command(demo_home: DemoHome) -> None:
    """A text ``assist_pipeline/run`` on the preferred (HavenCore) pipeline runs its stages in order."""
    client = demo_home.client
    listing = await client.command("assist_pipeline/pipeline/list")
    assert listing["preferred_pipeline"] == demo_home.pipeline_id
    await client.call_service("light", "turn_on", entity_id="light.kitchen_light")

    run = await run_pipeline(client, demo_home.pipeline_id, text="turn off the kitchen light", end_stage="intent")

    assert run.types == ["run-start", "intent-start", "intent-end", "run-end"]
    assert run.speech == "Turned off the light"
    assert await client.state("light.kitchen_light") == "off"


async def _wait_for_state(demo_home: DemoHome, entity_id: str, wanted: str | None = None) -> str:
    """Polls an entity until it exists (and has ``wanted``); returns its state."""
    async with asyncio.timeout(30):
        while True:
            try:
                state = await demo_home.client.state(entity_id)
            except HomeAssistantError:
                state = None
            if state is not None and wanted in (None, state):
                return state
            await asyncio.sleep(0.1)


async def test_automation_gets_the_answer_of_havencore_ask(demo_home: DemoHome) -> None:
    """An automation calls ``havencore.ask`` with a response variable and writes the answer into a text helper."""
    client = demo_home.client
    await client.call_service("light", "turn_off", entity_id="light.living_room_lamp")
    await client.command("input_text/create", name="HavenCore answer", max=255)
    automation = {
        "alias": "Ask HavenCore",
        "triggers": [{"trigger": "event", "event_type": "havencore_e2e_ask"}],
        "actions": [
            {
                "action": "havencore.ask",
                "data": {"prompt": "turn on the living room lamp"},
                "response_variable": "answer",
            },
            {
                "action": "input_text.set_value",
                "target": {"entity_id": "input_text.havencore_answer"},
                "data": {"value": "{{ answer.response }}"},
            },
        ],
    }
    await client.request("POST", "/api/config/automation/config/havencore_e2e_ask", json=automation)
    await _wait_for_state(demo_home, "automation.ask_havencore", "on")

    await client.request("POST", "/api/events/havencore_e2e_ask")

    assert await _wait_for_state(demo_home, "input_text.havencore_answer", LOCAL_REPLY) == LOCAL_REPLY
    assert await client.state("light.living_room_lamp") == "on"
