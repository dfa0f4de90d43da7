"""The generated homes: exact sizes, the same home for the same seed, names Assist can tell apart, and commands that
name only what the home has."""

from __future__ import annotations

import pytest

from bench.generated_commands import home_commands
from bench.generated_home import SIZES, configuration, generate_home


@pytest.mark.parametrize("size", SIZES)
def test_a_home_has_exactly_its_size_exposed_and_unique_names(size: int) -> None:
    home = generate_home(size)

    assert len(home.exposed) == size
    names = [name.lower() for device in home.devices for name in (device.name, *device.aliases)]
    assert len(set(names)) == len(names)
    assert len({device.entity_id for device in home.devices}) == len(home.devices)
    assert {device.area for device in home.devices} <= {area.name for area in home.areas}
    assert not set(home.helpers) & {device.entity_id for device in home.devices}
    assert len(home.devices) - size >= 2, "some devices are not exposed"


def test_the_same_seed_and_size_make_the_same_home_and_another_seed_another() -> None:
    assert generate_home(150) == generate_home(150)
    assert configuration(generate_home(150)) == configuration(generate_home(150))
    assert generate_home(150, seed=1) != generate_home(150)


def test_homes_have_look_alike_names_every_domain_floors_and_aliases() -> None:
    home = generate_home(40)
    names = {device.name for device in home.exposed}

    assert {"Kitchen light", "Kitchenette light", "Office desk lamp", "Office floor lamp"} <= names
    assert {d.kind.domain for d in home.exposed} >= {
        "light", "switch", "fan", "cover", "lock", "climate", "sensor", "binary_sensor",
    }  # fmt: skip
    assert len(home.floors) >= 2
    assert any(area.aliases for area in home.areas)
    assert any(floor.aliases for floor in home.floors)


@pytest.mark.parametrize("size", SIZES)
def test_commands_expect_only_exposed_entities_and_cover_every_kind(size: int) -> None:
    home = generate_home(size)
    cases = home_commands(home)
    exposed = {device.entity_id for device in home.exposed}

    assert all(set(case.expect) <= exposed for case in cases)
    unexposed = [case for case in cases if case.kind == "unexposed"]
    assert unexposed
    assert all(not case.expect for case in unexposed)
    kinds = {case.kind for case in cases}
    assert kinds >= {"name", "alias", "area", "set", "query", "indirect", "everyday word", "chit-chat", "unexposed"}
