"""Shared test configuration: Hypothesis profiles.

``default`` keeps ``make test`` quick; ``soak`` (``HYPOTHESIS_PROFILE=soak``, used by
``make soak``) runs many more examples.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, max_examples=50, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("soak", deadline=None, max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

HANDINS = os.path.join(os.path.dirname(__file__), "handins")
