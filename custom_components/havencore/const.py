"""Constants for the HavenCore integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "havencore"
LOGGER: Final = logging.getLogger(__package__)

DEFAULT_URL: Final = "http://127.0.0.1:8000"
# How long setup and the config flow wait for the backend's info before calling it unreachable.
CONNECT_TIMEOUT: Final = 10.0

INFO_PATH: Final = "/v1/havencore/info"
