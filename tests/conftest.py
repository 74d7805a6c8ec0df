"""Test-suite configuration: Hypothesis profiles.

Developers explore new random examples on every run (the default profile); CI (``CI=true``) runs a derandomized
profile so that a submission's result does not depend on which examples a run happened to draw.
"""

from __future__ import annotations

import os

from hypothesis import settings

# no per-example deadline: on a loaded 2-core machine one example can take 300 ms where it takes 1 ms idle (a
# deadline would measure the machine, not the code; speed targets live in benchmarks/)
settings.register_profile("ci", derandomize=True, print_blob=True, deadline=None)
settings.register_profile("dev", print_blob=True, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))
