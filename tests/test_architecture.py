"""Structural rules: the core never imports a UI, `--help` stays cheap, packaging is complete."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = [
    "kttui.spec",
    "kttui.specload",
    "kttui.space",
    "kttui.session",
    "kttui.runner",
    "kttui.daemon",
    "kttui.control",
    "kttui.backends.local",
    "kttui.backends.gpus",
    "kttui.backends.slurm",
    "kttui.trial",
    "kttui.service",
]
HEAVY = ("textual", "torch", "pandas", "optuna", "pydantic", "plotext", "scipy")


def _imported(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line.split(".")[0] for line in out.splitlines()}


@pytest.mark.parametrize("module", CORE)
def test_core_modules_never_import_textual_or_torch(module: str) -> None:
    mods = _imported(f"import {module}")
    assert "textual" not in mods
    assert "torch" not in mods


def test_help_imports_nothing_heavy() -> None:
    mods = _imported(
        "import sys; sys.argv=['kttui','--help']\nfrom kttui.cli import build_parser\n"
        "build_parser().format_help()"
    )
    assert not mods & set(HEAVY), mods & set(HEAVY)


def test_backends_depend_only_on_the_protocol() -> None:
    for path in (ROOT / "backends").rglob("*.py"):
        for line in path.read_text().splitlines():
            if line.startswith(("import kttui", "from kttui")):
                assert line.startswith("from kttui.backends"), f"{path.name}: {line}"


def test_every_package_directory_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {"kttui.backends"}
    for init in (ROOT / "kttui").rglob("__init__.py"):
        rel = init.parent.relative_to(ROOT)
        found.add(".".join(rel.parts))
    for init in (ROOT / "backends").rglob("__init__.py"):  # installed as kttui.backends.*
        found.add(".".join(("kttui", *init.parent.relative_to(ROOT).parts)))
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    blocks = readme.split("```")
    commands = [
        line for line in blocks[1].splitlines() if line and not line.startswith(("sh", "#"))
    ]
    assert len(commands) == 2, commands
    assert commands[1] in ci


def test_readme_spec_reference_is_generated_from_the_models() -> None:
    from kttui.docs import README_BEGIN, README_END, spec_reference

    readme = (ROOT / "README.md").read_text()
    current = readme.split(README_BEGIN)[1].split(README_END)[0]
    assert current.strip() == spec_reference().strip(), "run: python -m kttui.docs --write"


def test_a_backend_package_imports_only_the_protocol_and_itself() -> None:
    """Every import, at any indentation: a backend split into modules stays one unit."""
    for package in (p for p in (ROOT / "backends").iterdir() if (p / "__init__.py").exists()):
        own = f"kttui.backends.{package.name}"
        for path in package.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module or ""]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                else:
                    continue
                for name in names:
                    if name.split(".")[0] == "kttui":
                        ok = name == "kttui.backends.base" or name.startswith(own)
                        assert ok, f"{path.relative_to(ROOT)}: imports {name}"
