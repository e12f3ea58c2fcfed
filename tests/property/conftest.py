"""Hypothesis profiles for the property tests: ``ci`` (default) is derandomised and bounded, so every run
checks the same examples in a few seconds; ``dev`` explores more (``HYPOTHESIS_PROFILE=dev pytest …``)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Route-level properties share one app (and its fakes) across examples on purpose: building them per
# example would cost seconds each; the state they carry over (dedup ids) is made unique per example.
_SHARED = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=_SHARED
)
settings.register_profile("dev", max_examples=500, deadline=None, suppress_health_check=_SHARED)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
