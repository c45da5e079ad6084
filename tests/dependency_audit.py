"""``python -m tests.dependency_audit``: check the pinned dependencies for known vulnerabilities.

Audits every version pinned in ``pyproject.toml`` (runtime and test), and the installed version
of every package those pull in, with pip-audit against the PyPI vulnerability data. A reported
vulnerability fails the run. A vulnerability service that cannot be reached (no network, a
mirror without the data) only prints a warning: the audit could not be done, which is not the
same as finding something.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
# What pip-audit's traceback names when it could not talk to the service at all.
UNREACHABLE = re.compile(
    r"ConnectionError|ProxyError|ConnectTimeout|ReadTimeout|NameResolutionError|"
    r"Max retries exceeded|Temporary failure in name resolution|ServiceError"
)
NOT_ON_SERVICE = "Dependency not found on PyPI"
OWN_NAME = "wellbeing-pulse"


@dataclass(frozen=True)
class Verdict:
    exit_code: int
    message: str


def pinned(pyproject: Path = PYPROJECT) -> dict[str, str]:
    """Each dependency pinned in the project file (runtime and every extra), name to version."""
    project = tomllib.loads(pyproject.read_text())["project"]
    lines = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        lines.extend(extra)
    found: dict[str, str] = {}
    for line in lines:
        requirement = Requirement(line)
        versions = [s.version for s in requirement.specifier if s.operator == "=="]
        if len(versions) != 1:
            raise SystemExit(f"{PYPROJECT.name}: {line!r} is not pinned with ==")
        found[canonicalize_name(requirement.name)] = versions[0]
    return found


def with_installed_dependencies(
    pins: dict[str, str], pyproject: Path = PYPROJECT
) -> dict[str, str]:
    """The pins plus the installed version of every package they need, all the way down."""
    found = dict(pins)
    queue = [(name, _extras(pyproject).get(name, set())) for name in pins]
    while queue:
        name, extras = queue.pop()
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker is not None and not any(
                marker.evaluate({"extra": extra}) for extra in extras | {""}
            ):
                continue
            wanted = canonicalize_name(requirement.name)
            if wanted in found or wanted == OWN_NAME:
                continue
            try:
                found[wanted] = metadata.version(wanted)
            except metadata.PackageNotFoundError:
                continue
            queue.append((wanted, set(requirement.extras)))
    return found


def _extras(pyproject: Path) -> dict[str, set[str]]:
    """The extras the project asks of its pins, such as psycopg's ``binary``."""
    project = tomllib.loads(pyproject.read_text())["project"]
    lines = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        lines.extend(extra)
    return {
        canonicalize_name(Requirement(line).name): set(Requirement(line).extras) for line in lines
    }


def judge(returncode: int, report: str | None, errors: str) -> Verdict:
    """What pip-audit's exit code, JSON report and error output mean for the build."""
    if report is None:
        if UNREACHABLE.search(errors):
            return Verdict(
                0,
                "WARNING: the vulnerability service could not be reached, so the dependencies "
                "were NOT audited. Run `make test` again with network access to audit them.",
            )
        return Verdict(1, f"pip-audit failed without a report:\n{errors.strip()}")
    dependencies = json.loads(report).get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    if vulnerable:
        lines = [
            f"  {d['name']} {d['version']}: "
            + ", ".join(
                f"{v['id']} (fixed in {', '.join(v.get('fix_versions') or []) or 'no release yet'})"
                for v in d["vulns"]
            )
            for d in vulnerable
        ]
        return Verdict(1, "Known vulnerabilities in the dependencies:\n" + "\n".join(lines))
    unchecked = [d["name"] for d in dependencies if NOT_ON_SERVICE in d.get("skip_reason", "")]
    if unchecked and len(unchecked) == len(dependencies):
        return Verdict(
            0,
            "WARNING: the vulnerability service answered without data for any dependency (a "
            "mirror without it?), so the dependencies were NOT audited.",
        )
    note = (
        f" ({len(unchecked)} not known to the service: {', '.join(unchecked)})" if unchecked else ""
    )
    if returncode != 0:
        return Verdict(1, f"pip-audit failed (exit {returncode}):\n{errors.strip()}")
    return Verdict(0, f"No known vulnerabilities in {len(dependencies)} dependencies{note}.")


def main() -> int:
    packages = with_installed_dependencies(pinned())
    with tempfile.TemporaryDirectory() as folder:
        requirements = Path(folder) / "requirements.txt"
        requirements.write_text("".join(f"{n}=={v}\n" for n, v in sorted(packages.items())))
        output = Path(folder) / "report.json"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip_audit",
                "--requirement",
                str(requirements),
                "--no-deps",
                "--disable-pip",
                "--progress-spinner",
                "off",
                "--timeout",
                "20",
                "--format",
                "json",
                "--output",
                str(output),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        report = output.read_text() if output.exists() and output.stat().st_size else None
    verdict = judge(result.returncode, report, result.stderr)
    print(f"Dependency audit of {len(packages)} packages: {verdict.message}")
    return verdict.exit_code


if __name__ == "__main__":
    sys.exit(main())
