"""Which release of Samsyn this is: pyproject.toml's `[project] version`, the one place a
release number is written, read once when the module is imported.

Layer: infrastructure. Imports only the standard library.

The version follows semantic versioning, in the spelling Python packaging requires (PEP 440:
`1.0.0.dev0` is the development of 1.0.0, before its release). A copy of Samsyn without
its pyproject.toml (installed as a package) takes the installed package's version instead.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from facilitation.infrastructure.config import ROOT

PYPROJECT = ROOT / "pyproject.toml"


def read_version(pyproject: Path = PYPROJECT) -> str:
    """The version pyproject.toml declares; the installed package's when there is no such
    file; "unknown" when neither says."""
    try:
        with pyproject.open("rb") as file:
            return str(tomllib.load(file)["project"]["version"])
    except FileNotFoundError:
        try:
            return metadata.version("samsyn")
        except metadata.PackageNotFoundError:
            return "unknown"


VERSION = read_version()
