"""The papers public code needs: the licence, REUSE, publiccode.yml, and the SBOM."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from license_expression import ExpressionError, get_spdx_licensing
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SCHEMA = json.loads((ROOT / "docs" / "publiccode.schema.json").read_text())


def publiccode() -> dict[str, Any]:
    """The repository's publiccode.yml, read as a catalogue would."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "publiccode.yml").read_text(encoding="utf-8"))
    return data


def problems(data: dict[str, Any]) -> list[str]:
    """Everything wrong with a publiccode.yml: the schema's rules, then what a schema cannot say."""
    found = [
        f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in jsonschema.Draft202012Validator(SCHEMA).iter_errors(data)
    ]
    licence = data.get("legal", {}).get("license")
    if isinstance(licence, str):
        try:
            get_spdx_licensing().parse(licence, validate=True, strict=True)
        except ExpressionError as error:
            found.append(f"legal/license: not a valid SPDX expression: {error}")
    for lang, text in data.get("description", {}).items():
        for shot in text.get("screenshots", []):
            if not (ROOT / shot).is_file():
                found.append(f"description/{lang}/screenshots: no file {shot}")
    return found


def test_the_licence_is_the_eupl() -> None:
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("EUROPEAN UNION PUBLIC LICENCE v. 1.2\n")
    assert licence == (ROOT / "LICENSES" / "EUPL-1.2.txt").read_text(encoding="utf-8")
    assert "Appendix" in licence and len(licence) > 13_000


def test_the_schema_is_a_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_publiccode_yml_follows_the_standard() -> None:
    data = publiccode()
    assert problems(data) == []
    assert data["publiccodeYmlVersion"] == "0.7"
    assert data["legal"]["license"] == "EUPL-1.2"
    assert set(data["description"]) == {"sv", "en"}
    assert data["localisation"]["availableLanguages"] == ["sv", "en"]
    assert (ROOT / "translations" / "sv" / "LC_MESSAGES" / "messages.po").is_file()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert data["softwareVersion"] == project["version"]
    assert project["license"] == data["legal"]["license"]
    open_deps = {d["name"]: d for d in data["dependsOn"]["open"]}
    assert open_deps["PostgreSQL"]["optional"] and open_deps["Redis"]["optional"]


def _without(data: dict[str, Any], *path: str) -> dict[str, Any]:
    """A copy of data with the key at path removed."""
    broken = copy.deepcopy(data)
    parent = broken
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return broken


def _with(data: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    """A copy of data with the key at path set to value."""
    broken = copy.deepcopy(data)
    parent = broken
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return broken


BROKEN = {
    "no licence section": lambda d: _without(d, "legal"),
    "no url": lambda d: _without(d, "url"),
    "no localisation": lambda d: _without(d, "localisation"),
    "no short description": lambda d: _without(d, "description", "en", "shortDescription"),
    "a licence id SPDX does not know": lambda d: _with(d, "EUPL-1.3", "legal", "license"),
    "a licence written out": lambda d: _with(d, "EU Public Licence", "legal", "license"),
    "a status the standard lacks": lambda d: _with(d, "finished", "developmentStatus"),
    "a category the standard lacks": lambda d: _with(d, ["workshops"], "categories"),
    "a short description too long": lambda d: _with(
        d, "x" * 151, "description", "sv", "shortDescription"
    ),
    "a long description too short": lambda d: _with(
        d, "Kort.", "description", "sv", "longDescription"
    ),
    "community maintenance without contacts": lambda d: _without(d, "maintenance", "contacts"),
    "contract maintenance without contractors": lambda d: _with(
        d, "contract", "maintenance", "type"
    ),
    "a dependency without a name": lambda d: _with(d, [{"optional": True}], "dependsOn", "open"),
    "a screenshot that is not there": lambda d: _with(
        d, ["docs/screenshots/none.png"], "description", "en", "screenshots"
    ),
    "a misspelt key": lambda d: _with(d, "web", "platform"),
    "a version of the standard that does not exist": lambda d: _with(
        d, "0.6", "publiccodeYmlVersion"
    ),
}


@pytest.mark.parametrize("breakage", sorted(BROKEN))
def test_a_broken_publiccode_yml_is_refused(breakage: str) -> None:
    assert problems(BROKEN[breakage](publiccode()))


def reuse_lint(root: Path) -> subprocess.CompletedProcess[str]:
    """`reuse lint` on a folder, as `make lint` runs it on the repository."""
    return subprocess.run(
        [BIN / "reuse", "--root", root, "lint"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_reuse_lint_finds_every_file_licensed() -> None:
    result = reuse_lint(ROOT)
    assert result.returncode == 0, result.stdout
    assert "Used licenses: EUPL-1.2, MIT" in result.stdout


def test_reuse_lint_fails_without_a_licence_text(tmp_path: Path) -> None:
    shutil.copy(ROOT / "REUSE.toml", tmp_path)
    shutil.copytree(ROOT / "LICENSES", tmp_path / "LICENSES")
    (tmp_path / "static" / "vendor").mkdir(parents=True)
    (tmp_path / "static" / "vendor" / "client.js").write_text("export {};\n")
    (tmp_path / "app.py").write_text("print()\n")
    assert reuse_lint(tmp_path).returncode == 0
    (tmp_path / "LICENSES" / "MIT.txt").unlink()
    result = reuse_lint(tmp_path)
    assert result.returncode == 1
    assert "Missing licenses: MIT" in result.stdout


def test_make_sbom_lists_the_runtime_packages_with_their_versions(tmp_path: Path) -> None:
    output = tmp_path / "samsyn.cdx.json"
    # The command `make sbom` runs.
    subprocess.run([sys.executable, ROOT / "sbom" / "build.py", output], check=True, timeout=240)
    text = output.read_text()
    validator = JsonStrictValidator(SchemaVersion.V1_6)
    assert validator.validate_str(text) is None
    sbom = json.loads(text)
    assert sbom["bomFormat"] == "CycloneDX" and sbom["specVersion"] == "1.6"
    subject = sbom["metadata"]["component"]
    assert (subject["name"], subject["version"]) == (
        "samsyn",
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"],
    )
    assert subject["licenses"] == [{"license": {"acknowledgement": "declared", "id": "EUPL-1.2"}}]
    assert "timestamp" not in sbom["metadata"]  # reproducible: the same installation, the same file

    versions = {canonicalize_name(c["name"]): c["version"] for c in sbom["components"]}
    pins = dict(
        line.split("==")
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert versions["flask"] == pins["Flask"]
    assert {c["purl"] for c in sbom["components"]} >= {f"pkg:pypi/flask@{pins['Flask']}"}
    assert all(versions[canonicalize_name(name)] == version for name, version in pins.items())
    # Transitive packages are listed too; the test tools beside them are not.
    assert {"werkzeug", "jinja2", "greenlet"} <= set(versions)
    assert not {"pytest", "ruff", "reuse", "cyclonedx-bom"} & set(versions)
    # Every package says its licence, as its own metadata declares it.
    licences = {canonicalize_name(c["name"]): c.get("licenses") for c in sbom["components"]}
    assert [name for name, declared in licences.items() if not declared] == []
    assert licences["flask"] == [{"license": {"acknowledgement": "declared", "id": "BSD-3-Clause"}}]
    # The graph starts at the subject and ends inside the list.
    refs = {c["bom-ref"] for c in sbom["components"]}
    graph = {d["ref"]: set(d.get("dependsOn", [])) for d in sbom["dependencies"]}
    flask = next(c["bom-ref"] for c in sbom["components"] if c["name"] == "Flask")
    assert flask in graph[subject["bom-ref"]]
    assert all(needs <= refs for needs in graph.values())

    broken = json.loads(text)
    broken["components"][0]["type"] = "python-package"
    assert validator.validate_str(json.dumps(broken)) is not None


def test_security_and_contributing_say_what_they_must() -> None:
    security = (ROOT / "SECURITY.md").read_text()
    for heading in ("Reporting a vulnerability", "Response times", "Supported versions", "Scope"):
        assert f"\n## {heading}\n" in security
    assert "privately" in security
    contributing = (ROOT / "CONTRIBUTING.md").read_text()
    readme = (ROOT / "README.md").read_text()
    two_commands = readme.split("```sh\n", 1)[1].split("```", 1)[0]
    assert "make run" in two_commands and f"```sh\n{two_commands}```" in contributing
    assert "Signed-off-by:" in contributing and "git commit -s" in contributing
    assert "EUPL-1.2" in contributing
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert f"| {'.'.join(project['version'].split('.')[:2])}.x" in security
