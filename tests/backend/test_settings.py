"""Settings precedence (flags > environment > TOML file > defaults) and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from havencore_backend.settings import SettingsError, build_argument_parser, load_settings


def test_defaults() -> None:
    settings = load_settings([], environ={})
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.api_key == ""
    assert settings.wyoming_stt_port == 10300
    assert settings.wyoming_tts_port == 10200


def test_flags_beat_environment_beat_file(tmp_path: Path) -> None:
    config = tmp_path / "havencore.toml"
    config.write_text('port = 9001\nhost = "0.0.0.0"\napi_key = "from-file"\nwyoming_tts_port = 10999\n')
    environ = {"HAVENCORE_CONFIG": str(config), "HAVENCORE_PORT": "9002", "HAVENCORE_API_KEY": "from-env"}

    settings = load_settings(["--port", "9003"], environ=environ)

    assert settings.port == 9003  # flag
    assert settings.api_key == "from-env"  # environment over file
    assert settings.host == "0.0.0.0"  # file over default
    assert settings.wyoming_tts_port == 10999
    assert load_settings([], environ=environ).port == 9002


def test_config_flag_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "other.toml"
    config.write_text(f'data_dir = "{tmp_path / "d"}"\n')
    assert load_settings(["--config", str(config)], environ={}).data_dir == tmp_path / "d"


@pytest.mark.parametrize(
    ("argv", "environ", "file_text", "message"),
    [
        (["--port", "eighty"], {}, None, "--port: expected int"),
        ([], {"HAVENCORE_PORT": "70000"}, None, "port must be between 0 and 65535"),
        ([], {}, "port = true\n", "port: expected int"),
        ([], {}, "colour = 'blue'\n", "unknown settings: colour"),
        ([], {}, "port = \n", "not valid TOML"),
        (["--log-level", "loud"], {}, None, "log_level must be"),
    ],
)
def test_bad_values_are_named(
    tmp_path: Path, argv: list[str], environ: dict[str, str], file_text: str | None, message: str
) -> None:
    if file_text is not None:
        config = tmp_path / "bad.toml"
        config.write_text(file_text)
        environ = {**environ, "HAVENCORE_CONFIG": str(config)}
    with pytest.raises(SettingsError, match=message):
        load_settings(argv, environ=environ)


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read config file"):
        load_settings(["--config", str(tmp_path / "absent.toml")], environ={})


def test_help_documents_every_setting_and_its_variable() -> None:
    text = build_argument_parser().format_help()
    for flag, variable in [
        ("--port", "HAVENCORE_PORT"),
        ("--api-key", "HAVENCORE_API_KEY"),
        ("--data-dir", "HAVENCORE_DATA_DIR"),
        ("--wyoming-stt-port", "HAVENCORE_WYOMING_STT_PORT"),
        ("--config", "HAVENCORE_CONFIG"),
    ]:
        assert flag in text
        assert variable in text


def test_voice_settings_parse_booleans_and_numbers(tmp_path: Path) -> None:
    config = tmp_path / "voice.toml"
    config.write_text('stt_vad_filter = true\ntts_speed = 1.25\ntts_engine = "kokoro"\n')
    environ = {"HAVENCORE_STT_VAD_FILTER": "no"}
    settings = load_settings(["--config", str(config), "--stt-beam-size", "5"], environ=environ)
    assert settings.stt_vad_filter is False  # environment over file
    assert settings.tts_speed == 1.25
    assert settings.tts_engine == "kokoro"
    assert settings.stt_beam_size == 5
    defaults = load_settings([], environ={})
    assert (defaults.tts_engine, defaults.stt_device, defaults.stt_compute_type) == ("piper", "cpu", "int8")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--tts-engine", "festival"], "tts_engine must be piper or kokoro"),
        (["--stt-device", "tpu"], "stt_device must be"),
        (["--stt-vad-filter", "maybe"], "--stt-vad-filter: expected bool"),
        (["--tts-speed", "9"], "tts_speed must be between"),
        (["--openai-voices", "alloy"], "openai_voices: expected name=voice pairs"),
        (["--audio-upload-limit-mb", "0"], "audio_upload_limit_mb must be at least 1"),
    ],
)
def test_bad_voice_settings_are_named(argv: list[str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(argv, environ={})
