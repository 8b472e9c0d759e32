"""Write the software bill of materials (CycloneDX JSON) of what the app runs on: `make sbom`.

Usage: python sbom/build.py OUTPUT.json

Starts from requirements.txt and follows each installed package's own requirements (with
their extras and environment markers) through the environment this runs in, so the list is
exactly what `make install` put there for the app, transitive packages included, and none of
the test tools beside it. cyclonedx-py describes the installed packages, each with the licence
its metadata declares, reproducibly (the same installation gives the same file).
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements.txt"


def direct() -> list[Requirement]:
    """The requirements requirements.txt names."""
    lines = (line.split("#", 1)[0].strip() for line in REQUIREMENTS.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def closure(roots: list[Requirement]) -> dict[str, str]:
    """Every installed distribution the roots need, by name, with its installed version."""
    pinned: dict[str, str] = {}
    visited: set[tuple[str, str]] = set()
    todo = [(req, extra) for req in roots for extra in ("", *sorted(req.extras))]
    while todo:
        req, extra = todo.pop()
        key = canonicalize_name(req.name)
        if (key, extra) in visited:
            continue
        visited.add((key, extra))
        try:
            dist = distribution(req.name)
        except PackageNotFoundError:
            sys.exit(f"{req.name} is required but not installed: run `make install` first")
        pinned[dist.metadata["Name"]] = dist.version
        for line in dist.requires or []:
            need = Requirement(line)
            # A requirement under an extra counts only when that extra was asked for.
            if need.marker and not need.marker.evaluate({"extra": extra}):
                continue
            todo.extend((need, e) for e in ("", *sorted(need.extras)))
    return pinned


def build(output: Path) -> None:
    """Write the SBOM to output, with pyproject.toml's name, version and licence as its subject.

    cyclonedx-py reads the whole environment (so every package keeps the licence its own
    metadata declares); only the app's closure is kept, and the subject depends on the
    packages requirements.txt names, which completes the dependency graph.
    """
    whole = subprocess.run(
        [
            sys.executable,
            # The subject has no dependencies until they are added below; it warns of that.
            "-W",
            "ignore:The Component this BOM is describing",
            "-m",
            "cyclonedx_py",
            "environment",
            sys.executable,
            "--pyproject",
            str(REQUIREMENTS.parent / "pyproject.toml"),
            "--spec-version",
            "1.6",
            "--output-format",
            "JSON",
            "--output-reproducible",
            "--output-file",
            "-",
        ],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    ).stdout
    bom = json.loads(whole)
    names = {canonicalize_name(name) for name in closure(direct())}
    bom["components"] = [c for c in bom["components"] if canonicalize_name(c["name"]) in names]
    kept = {c["bom-ref"] for c in bom["components"]}
    subject = bom["metadata"]["component"]["bom-ref"]
    roots = {canonicalize_name(req.name) for req in direct()}
    graph = [
        {
            "ref": subject,
            "dependsOn": sorted(
                c["bom-ref"] for c in bom["components"] if canonicalize_name(c["name"]) in roots
            ),
        }
    ]
    for entry in bom.get("dependencies", []):
        if entry["ref"] in kept:
            needs = sorted(ref for ref in entry.get("dependsOn", []) if ref in kept)
            graph.append(
                {"ref": entry["ref"], "dependsOn": needs} if needs else {"ref": entry["ref"]}
            )
    bom["dependencies"] = graph
    output.write_text(json.dumps(bom, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build(Path(sys.argv[1]))
