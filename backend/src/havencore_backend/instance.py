"""The backend's stable identity, kept in the data dir so Home Assistant recognises the same backend after a restart."""

from __future__ import annotations

import uuid
from pathlib import Path

INSTANCE_ID_FILE = "instance_id"


def load_or_create_instance_id(data_dir: Path) -> str:
    """Returns the instance id stored in ``data_dir``, creating it on first start."""
    path = data_dir / INSTANCE_ID_FILE
    try:
        stored = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        stored = ""
    if stored:
        return stored
    instance_id = uuid.uuid4().hex
    data_dir.mkdir(parents=True, exist_ok=True)
    # Write then rename so a crash never leaves an empty id behind.
    tmp = path.with_suffix(".tmp")
    tmp.write_text(instance_id + "\n", encoding="ascii")
    tmp.replace(path)
    return instance_id
