"""Test-suite configuration: Hypothesis profiles.

Developers explore new random examples on every run (the default profile); CI (``CI=true``) runs a derandomized
profile so that a submission's result does not depend on which examples a run happened to draw.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))
