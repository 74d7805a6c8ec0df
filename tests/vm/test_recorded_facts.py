"""The kernel facts of ``facts.py`` on every recorded boot of every recorded kernel (``make test``, no VM)."""

from __future__ import annotations

import pytest

from . import facts


@pytest.mark.parametrize(("fact", "name"), facts.CASES)
def test_fact_on_recorded_boots(kernel, recorded, fact, name):
    for i, boot in enumerate(recorded(name), 1):
        try:
            getattr(facts, fact)(boot, kernel)
        except AssertionError as e:
            raise AssertionError(f"{kernel} {name} boot-{i}: {e}") from e
