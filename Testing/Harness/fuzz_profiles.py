"""Hypothesis profiles of the fuzz tests (``Testing/Tests/library/test_fuzz.py``): ``ci`` (the default) and ``long``.

    pytest Testing/Tests/library/test_fuzz.py                                 # ci: deterministic, 400 + 20 + 60 + 40 examples, ~30 s
    HYPOTHESIS_PROFILE=long pytest Testing/Tests/library/test_fuzz.py         # long: random, 12000 + 400 + 2000 + 1000, ~20-35 min
    pytest Testing/Tests/library/test_fuzz.py --hypothesis-profile=long       # the same, once Testing/Tests/conftest.py imports this module

Hypothesis' pytest plugin loads ``--hypothesis-profile`` in ``pytest_configure``, after the conftest files are
imported and before any test module is; a profile registered only by a test module is unknown at that point
("Profile 'long' has not been registered"). Imported from a conftest, this module registers the profiles in time
and the command line wins; imported by the test module alone, ``HYPOTHESIS_PROFILE`` selects the profile.

``ci`` is like Hypothesis' built-in ``ci`` profile (derandomized, no example database, no deadline), which it
replaces, with fewer and smaller examples, so that every CI run checks the same cases; ``long`` draws new cases on
every run and keeps failing ones in ``.hypothesis/`` to replay first next time.
"""

import os

from hypothesis import HealthCheck, Phase, settings

# Per profile: examples of the round-trip property, examples of the validator property, and the largest volume
# (voxels) drawn. Shapes go up to 64 per axis in both; ``ci`` keeps the product small. ``text_examples``: the
# property over user text and codes; ``header_examples``: the one over NIfTI headers (units, sform/qform).
LIMITS = {
    "ci": {"examples": 400, "dciodvfy_examples": 20, "max_voxels": 4096, "text_examples": 60, "header_examples": 40},
    "long": {"examples": 12000, "dciodvfy_examples": 400, "max_voxels": 64**3, "text_examples": 2000, "header_examples": 1000},
}
SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large]
# No explain phase: after a failure it re-runs the test hundreds of times (a minute in ci) to list the lines
# only failing examples ran; the shrunk Case recipe says more.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)

# Common to both; ci is derandomized and keeps no example database, so every CI run checks the same cases.
COMMON = {"deadline": None, "print_blob": True, "suppress_health_check": SLOW_IS_FINE, "phases": PHASES}
settings.register_profile("ci", max_examples=LIMITS["ci"]["examples"], derandomize=True, database=None, **COMMON)
settings.register_profile("long", max_examples=LIMITS["long"]["examples"], derandomize=False, **COMMON)

# Nothing chosen yet (Hypothesis starts in "default", or in its built-in "ci" when the CI variable is set, which
# the registration above has just replaced): take HYPOTHESIS_PROFILE, else ci. A profile given on the command line
# is loaded after this when a conftest imports this module, and is already active when a test module does.
if settings.get_current_profile_name() in ("default", "ci"):
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def profile_name() -> str:
    """The active profile, without the suffixes the pytest plugin adds (``ci-with-verbose-verbosity``)."""
    return settings.get_current_profile_name().split("-with-")[0]


def limit(name: str) -> int:
    """A limit of the active profile; a profile not defined here gets the ``ci`` limits."""
    return LIMITS.get(profile_name(), LIMITS["ci"])[name]
