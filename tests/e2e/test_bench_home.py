"""The benchmark's generated home: unique names, spread over every area."""

from __future__ import annotations

from bench.big_home import EXTRA_AREAS, extra_devices


def test_generated_devices_are_unique_and_spread_over_the_areas() -> None:
    devices = extra_devices(0, 500)
    assert len({device.name for device in devices}) == 500
    assert {device.area for device in devices} == set(EXTRA_AREAS)
    assert devices[0].name == "Hallway Lamp"
    assert all(device.name.startswith(device.area) for device in devices)


def test_growing_in_steps_continues_the_same_sequence() -> None:
    assert extra_devices(0, 43) + extra_devices(43, 457) == extra_devices(0, 500)
