"""A real PostgreSQL for the tests: the one scripts/test starts, or a throwaway server of our own."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

from tests.backend_process import free_port


@contextmanager
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server: ``HAVENCORE_TEST_DATABASE_URL`` when set, else one started here."""
    if url := os.environ.get("HAVENCORE_TEST_DATABASE_URL"):
        yield url
        return
    # Same recipe as scripts/test: the server refuses root, so it runs as the postgres user in a temp dir.
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))[-1]
    folder = Path(tempfile.mkdtemp(prefix="havencore-pg-"))
    shutil.chown(folder, "postgres")
    port = free_port()
    as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_postgres, str(binaries / "initdb"), "-D", str(folder / "data"), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off"
    pg_ctl = [*as_postgres, str(binaries / "pg_ctl"), "-D", str(folder / "data")]
    subprocess.run([*pg_ctl, "-l", str(folder / "log"), "-w", "-o", options, "start"], check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "-w", "stop"], check=False, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


async def create_database(server_url: str) -> str:
    """A new empty database on the server; returns its URL."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(server_url)
    try:
        await connection.execute(f"CREATE DATABASE {name}")
    finally:
        await connection.close()
    return server_url.rsplit("/", 1)[0] + f"/{name}"
