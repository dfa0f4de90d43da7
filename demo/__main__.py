"""``scripts/demo``: starts the demo home and keeps it running until Ctrl-C, or with ``--check`` runs one command
through the Assist pipeline and exits 0 when it worked."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

from .stack import CHECK_COMMAND, DemoHome, start_demo


def _progress(message: str) -> None:
    print(f"[havencore] {message}", file=sys.stderr, flush=True)


def _describe(home: DemoHome) -> str:
    entities = ", ".join(sorted(home.entities.values()))
    return (
        f"\n  Home Assistant: {home.hass.url}\n"
        f"  user name:      {home.state.username}\n"
        f"  password:       {home.state.password}\n"
        f"  HavenCore:      backend {home.backend.url}; in Home Assistant: {entities}\n"
        "  Assist:         pipeline 'HavenCore' (preferred)\n"
        f"  try:            open Assist (top right, or press 'a') and type '{CHECK_COMMAND}'\n"
        "  stop:           Ctrl-C\n"
    )


async def _main(check: bool) -> int:
    cache = Path(os.environ.get("HAVENCORE_CACHE", Path.home() / ".cache" / "havencore"))
    demo_dir = Path(os.environ.get("HAVENCORE_DEMO_DIR", cache / "demo"))
    backend_port = int(os.environ.get("HAVENCORE_PORT", "8000"))
    ha_port = int(os.environ.get("HAVENCORE_HA_PORT", "8123"))
    home = await start_demo(demo_dir, backend_port, ha_port, _progress)
    try:
        if check:
            ok, run = await home.run_check()
            _progress(f"check: '{CHECK_COMMAND}' -> {run.types}")
            _progress(f"check {'passed' if ok else 'FAILED'}: HavenCore answered {run.speech!r}")
            return 0 if ok else 1
        print(_describe(home), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        _progress("stopping")
        return 0
    finally:
        await home.stop()


def main() -> int:
    """Parses the arguments and runs the demo."""
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__)
    parser.add_argument("--check", action="store_true", help="run one command through Assist headless, exit 0/1")
    return asyncio.run(_main(parser.parse_args().check))


if __name__ == "__main__":
    sys.exit(main())
