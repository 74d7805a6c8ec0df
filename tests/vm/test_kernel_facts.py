"""The kernel facts of ``facts.py`` on today's boots (``make vm-test``)."""

from __future__ import annotations

import pytest

from . import facts

pytestmark = pytest.mark.vm


@pytest.mark.parametrize(("fact", "name"), facts.CASES)
def test_fact_on_a_fresh_boot(kernel, kernel_run, fact, name):
    getattr(facts, fact)(kernel_run(name).records, kernel)
