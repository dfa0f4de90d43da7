"""Home Assistant's own frontend in headless Chromium: log in, open Assist, type a command, read HavenCore's reply."""

from __future__ import annotations

import shutil

import pytest
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from playwright.async_api import async_playwright, expect

from demo.stack import DemoHome
from tests.backend_process import REPO_ROOT

pytestmark = pytest.mark.asyncio(loop_scope="session")

ARTIFACTS = REPO_ROOT / "artifacts"
# Debian's chromium; playwright's own browser downloads are never used.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


async def test_assist_dialog_shows_havencore_reply(demo_home: DemoHome) -> None:
    """The demo user logs in with the demo password, asks Assist to switch a light and sees the reply."""
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: run scripts/setup"
    await demo_home.client.call_service("light", "turn_off", entity_id="light.kitchen_light")
    ARTIFACTS.mkdir(exist_ok=True)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        try:
            await page.goto(demo_home.hass.url)
            await page.locator("input[name='username']").fill(demo_home.state.username)
            await page.locator("input[name='password']").fill(demo_home.state.password)
            await page.locator("input[name='password']").press("Enter")
            await expect(page.get_by_role("heading", name="Welcome Demo User")).to_be_visible(timeout=30_000)
            dialog = page.get_by_role("alertdialog", name="Assist")
            # 'a' is the frontend's shortcut for the Assist dialog (as is the toolbar's speech bubble); it only
            # works once the dashboard has wired its shortcuts, a moment after it shows, and the dialog's code loads
            # lazily (seconds on a busy 2-core machine), so a second press comes only when the first surely missed.
            for _ in range(6):
                await page.keyboard.press("a")
                try:
                    await dialog.wait_for(state="visible", timeout=10_000)
                    break
                except PlaywrightTimeoutError:
                    continue
            await expect(page.get_by_role("button", name="HavenCore")).to_be_visible(timeout=15_000)
            # The dialog's content is slotted into it, so it is found from the page, not inside the dialog element.
            request = page.get_by_role("textbox", name="Enter a request")
            await request.fill("turn on the kitchen light")
            await request.press("Enter")
            await expect(page.get_by_text("Turned on the light")).to_be_visible(timeout=30_000)
        finally:
            await page.screenshot(path=ARTIFACTS / "e2e-frontend-assist.png")
            await browser.close()

    assert await demo_home.client.state("light.kitchen_light") == "on"
