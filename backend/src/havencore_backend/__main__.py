"""``havencore-backend`` / ``python -m havencore_backend``: read settings, prepare the runtime, serve."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence

from .runtime import BackendRuntime
from .serve import serve
from .settings import SettingsError, load_settings

_LOGGER = logging.getLogger("havencore_backend")


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the backend until interrupted; returns the process exit code."""
    try:
        settings = load_settings(argv)
    except SettingsError as err:
        print(f"havencore-backend: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        runtime = BackendRuntime.create(settings)
    except OSError as err:
        _LOGGER.error("cannot use data dir %s: %s", settings.data_dir, err)
        return 1
    _LOGGER.info(
        "HavenCore backend %s (instance %s), data in %s, HTTP on http://%s:%d%s",
        runtime.version,
        runtime.instance_id,
        settings.data_dir,
        settings.host,
        settings.port,
        "" if settings.api_key else " (no API key: open to anyone who can reach it)",
    )
    return asyncio.run(serve(runtime))


if __name__ == "__main__":
    sys.exit(main())
