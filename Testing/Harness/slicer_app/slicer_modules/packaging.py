"""``slicer.packaging`` stand-in (Slicer v5.12.3 Base/Python/slicer/packaging.py, "versionadded 5.11").

``load_requirements`` parses a requirements file (skipping comments, blank and option lines); ``pip_check``
tells whether the installed distributions satisfy the requirements; ``pip_ensure`` records the call and, as the real
one does under ``--testing`` (``skip_in_testing=True``), installs nothing: it raises if something is missing so a
test never passes on a package the environment lacks. The harness' ``slicer`` package does not import this module
(Slicer's ``slicer/__init__.py`` does not either): a module must ``import slicer.packaging`` itself.
"""

from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ENSURE_CALLS: list[dict] = []


def load_requirements(path) -> list[Requirement]:
    lines = Path(path).read_text().splitlines()
    return [Requirement(line.split("#")[0].strip()) for line in lines if line.split("#")[0].strip() and not line.lstrip().startswith("-")]


def _asRequirements(requirements) -> list[Requirement]:
    if isinstance(requirements, (str, Requirement)):
        requirements = [requirements]
    return [r if isinstance(r, Requirement) else Requirement(r) for r in requirements]


def pip_check(requirements) -> bool:
    for requirement in _asRequirements(requirements):
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            return False
        if not requirement.specifier.contains(version, prereleases=True):
            return False
    return True


def pip_ensure(requirements, constraints=None, skip_packages=None, prompt_install=True, prompt_restart=True, requester=None, skip_in_testing=True, show_progress=True):
    requirements = _asRequirements(requirements)
    ENSURE_CALLS.append({"requirements": [str(r) for r in requirements], "requester": requester, "prompt_install": prompt_install})
    missing = [str(r) for r in requirements if not pip_check(r)]
    if missing:
        raise RuntimeError(f"harness: pip_ensure would install {missing}; the test environment must already have them")
    return None
