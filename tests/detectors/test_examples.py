"""The shared test base: every registered detector's examples produce what they promise."""

from __future__ import annotations

import pytest

from core.errors import MissingExtra
from detectors.registry import default_registry


def _cases() -> list[tuple[type, object]]:
    out = []
    for cls in default_registry().all():
        for ex in cls.examples():
            out.append(pytest.param(cls, ex, id=f"{cls.name}:{ex.name}"))
    return out


def _subset(expected: dict, got: dict) -> bool:
    return all(k in got and got[k] == v for k, v in expected.items())


@pytest.mark.parametrize(("cls", "example"), _cases())
def test_example(cls, example) -> None:
    try:
        findings = cls.run_example(example)
    except (MissingExtra, ImportError) as exc:
        pytest.skip(f"{cls.name}: optional part missing ({exc})")
    got = [f.to_json() for f in findings]
    if not example.expect:
        assert got == [], f"{cls.name}/{example.name}: expected nothing, got {got}"
    for want in example.expect:
        assert any(_subset(want, g) for g in got), f"{cls.name}/{example.name}: {want} not in {got}"


def test_names_unique_and_kinds_declared() -> None:
    reg = default_registry()
    assert len(reg.names()) == len(set(reg.names()))
    for cls in reg.all():
        assert cls.kinds, cls.name
