"""Structural rules: the core never imports a UI, `--help` stays cheap, packaging is complete."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from collections.abc import Iterator
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
    "kttui.service.watch",
    "kttui.service.store",
    "kttui.service.logs",
    "kttui.service.gpus",
    "kttui.service.stats",
    "kttui.service.sessions",
    "kttui.service.specs",
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


# Every module outside these never imports a UI or torch, anywhere in the file.
UI_ALLOWED = ("kttui/tui/", "kttui/cli/")
TORCH_ALLOWED = ("kttui/kt/",)


def imports_of(path: Path, root: Path = ROOT) -> Iterator[tuple[int, str]]:
    """Every module a file imports, at any depth (inside functions, try blocks, ...).

    Relative imports are resolved against the file's package, so `from . import x`
    inside backends/ counts as kttui.backends.
    """
    rel = path.relative_to(root)
    parts = list(rel.with_suffix("").parts)
    if parts[0] == "backends":
        parts = ["kttui", *parts]
    package = parts[:-1]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            if node.module:
                yield node.lineno, ".".join([*base, node.module])
            else:  # `from . import x`: each name is a module of the package
                for alias in node.names:
                    yield node.lineno, ".".join([*base, alias.name])


def source_files() -> list[Path]:
    return sorted([*(ROOT / "kttui").rglob("*.py"), *(ROOT / "backends").rglob("*.py")])


def test_imports_of_reads_indented_and_relative_imports(tmp_path: Path) -> None:
    probe = tmp_path / "backends" / "probe.py"
    probe.parent.mkdir()
    probe.write_text(
        "def f():\n    if True:\n        import textual.app\n"
        "from . import base\nfrom .slurm import opts\n"
    )
    found = sorted(name for _, name in imports_of(probe, root=tmp_path))
    assert found == ["kttui.backends.base", "kttui.backends.slurm", "textual.app"]


def ui_or_torch_imports(root: Path = ROOT) -> list[str]:
    """Every import of Textual outside the UI, or of torch outside kttui/kt, at any depth."""
    bad = []
    files = sorted([*(root / "kttui").rglob("*.py"), *(root / "backends").rglob("*.py")])
    for path in files:
        rel = path.relative_to(root).as_posix()
        for lineno, name in imports_of(path, root):
            top = name.split(".")[0]
            if top == "textual" and not rel.startswith(UI_ALLOWED):
                bad.append(f"{rel}:{lineno}: imports {name}")
            if top == "torch" and not rel.startswith(TORCH_ALLOWED):
                bad.append(f"{rel}:{lineno}: imports {name}")
    return bad


def test_no_module_outside_the_ui_imports_textual_or_torch_anywhere() -> None:
    bad = ui_or_torch_imports()
    assert not bad, "\n".join(bad)


def test_the_checker_catches_an_indented_textual_import_in_a_core_module(tmp_path: Path) -> None:
    """The rule above would pass vacuously if the checker read only column-0 imports."""
    (tmp_path / "kttui" / "tui").mkdir(parents=True)
    (tmp_path / "backends").mkdir()
    (tmp_path / "kttui" / "spec.py").write_text(
        "import re\n\n\nclass Spec:\n    def show(self):\n"
        "        try:\n            import textual.app\n        except ImportError:\n"
        "            pass\n"
    )
    (tmp_path / "kttui" / "tui" / "app.py").write_text("from textual.app import App\n")
    (tmp_path / "backends" / "local.py").write_text("def f():\n    import torch\n")
    assert ui_or_torch_imports(tmp_path) == [
        "backends/local.py:2: imports torch",
        "kttui/spec.py:7: imports textual.app",
    ]


def test_widgets_never_talk_to_optuna_or_start_processes() -> None:
    bad = []
    for path in sorted((ROOT / "kttui" / "tui" / "widgets").rglob("*.py")):
        for lineno, name in imports_of(path):
            if name.split(".")[0] in ("optuna", "subprocess", "multiprocessing"):
                bad.append(f"{path.relative_to(ROOT)}:{lineno}: imports {name}")
    assert not bad, "\n".join(bad)


def test_the_core_never_imports_the_ui_layers() -> None:
    bad = []
    for path in source_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(UI_ALLOWED) or rel.startswith("kttui/__main__"):
            continue
        for lineno, name in imports_of(path):
            if name.startswith(("kttui.tui", "kttui.cli")):
                bad.append(f"{rel}:{lineno}: imports {name}")
    assert not bad, "\n".join(bad)


def test_backends_depend_only_on_the_protocol() -> None:
    bad = []
    for path in (ROOT / "backends").rglob("*.py"):
        for lineno, name in imports_of(path):
            if name.startswith("kttui") and not name.startswith("kttui.backends"):
                bad.append(f"{path.relative_to(ROOT)}:{lineno}: imports {name}")
    assert not bad, "\n".join(bad)


def test_readme_spec_example_is_the_file_it_names() -> None:
    readme = (ROOT / "README.md").read_text()
    marker = "this is `specs/quickstart.yaml`"
    assert marker in readme
    block = readme.split(marker, 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    assert block == (ROOT / "specs" / "quickstart.yaml").read_text()


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
