"""One version for a release: pyproject.toml's, which `apitokens --version`, the template's
application metadata and the changelog's newest release all state."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

from apitokens_dev.template import PROJECT_ROOT, load_template


def project_version() -> str:
    with (PROJECT_ROOT / "pyproject.toml").open("rb") as file:
        version: str = tomllib.load(file)["project"]["version"]
    return version


def test_the_version_is_semantic() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", project_version())


def test_the_command_prints_the_project_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "apitokens_dev", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"apitokens {project_version()}"


def test_the_template_metadata_states_the_project_version() -> None:
    application = load_template()["Metadata"]["AWS::ServerlessRepo::Application"]
    assert application["SemanticVersion"] == project_version()
    assert application["SpdxLicenseId"] == "Apache-2.0"
    for path in (application["LicenseUrl"], application["ReadmeUrl"]):
        assert (PROJECT_ROOT / path).is_file()


def test_the_changelog_names_the_project_version_as_its_newest_release() -> None:
    changelog = (PROJECT_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", changelog, flags=re.MULTILINE)
    assert releases, "no release heading of the form '## [x.y.z] - YYYY-MM-DD'"
    assert releases[0] == project_version()
    assert "## [Unreleased]" in changelog


def test_the_licence_is_the_one_pyproject_declares() -> None:
    licence = (PROJECT_ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in licence
    assert "Version 2.0, January 2004" in licence
    with (PROJECT_ROOT / "pyproject.toml").open("rb") as file:
        assert tomllib.load(file)["project"]["license"] == "Apache-2.0"
