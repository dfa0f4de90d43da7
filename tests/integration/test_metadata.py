"""Static files HACS and hassfest read: manifest, hacs.json, translations."""

from __future__ import annotations

import json
from pathlib import Path

from custom_components.havencore.const import DOMAIN

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPONENT = REPO_ROOT / "custom_components" / DOMAIN


def test_manifest_is_complete() -> None:
    manifest = json.loads((COMPONENT / "manifest.json").read_text())
    assert manifest["domain"] == DOMAIN
    assert manifest["config_flow"] is True
    assert manifest["integration_type"] == "service"
    assert manifest["iot_class"] == "local_push"
    for key in ("name", "version", "documentation", "issue_tracker", "codeowners", "dependencies", "requirements"):
        assert key in manifest
    # hassfest wants domain first, then keys sorted.
    keys = list(manifest)
    assert keys == ["domain", "name", *sorted(keys[2:])]


def test_english_translation_matches_strings() -> None:
    strings = json.loads((COMPONENT / "strings.json").read_text())
    english = json.loads((COMPONENT / "translations" / "en.json").read_text())
    assert english == strings


def test_hacs_json_is_valid() -> None:
    hacs = json.loads((REPO_ROOT / "hacs.json").read_text())
    assert set(hacs) <= {
        "name",
        "content_in_root",
        "zip_release",
        "filename",
        "hide_default_branch",
        "country",
        "homeassistant",
        "persistent_directory",
        "render_readme",
    }
    assert hacs["name"] == "HavenCore"
