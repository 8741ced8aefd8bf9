"""The docs name real things: README's examples come from the files they name, and every
module path in ARCHITECTURE.md exists (so neither can drift from the code)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from kttui.kt.pykt_export import export_pykt

ROOT = Path(__file__).resolve().parent.parent
#: Backticked repository paths (`specs/x.yaml`, `kttui/tail.py`, `backends/slurm/`).
REPO_PATH = re.compile(r"`((?:\.ci|specs|bench|tests|kttui|backends)/[\w./-]*)`")
#: Backticked dotted module names (`kttui.runner`, `kttui.backends.local`).
DOTTED = re.compile(r"`(kttui(?:\.\w+)+)`")


def module_exists(dotted: str, root: Path = ROOT) -> bool:
    parts = dotted.split(".")
    if parts[:2] == ["kttui", "backends"]:  # installed as kttui.backends, kept in backends/
        parts = parts[1:]
    base = root.joinpath(*parts)
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def missing_paths(text: str, root: Path = ROOT) -> list[str]:
    missing = [p for p in REPO_PATH.findall(text) if not (root / p).exists()]
    missing += [m for m in DOTTED.findall(text) if not module_exists(m, root)]
    return missing


def test_every_module_named_in_architecture_md_exists() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    assert len(REPO_PATH.findall(text)) > 30  # the checker reads the file's paths at all
    assert missing_paths(text) == []


def test_the_path_checker_catches_a_renamed_module(tmp_path: Path) -> None:
    (tmp_path / "kttui" / "tui").mkdir(parents=True)
    (tmp_path / "kttui" / "tail.py").write_text("")
    (tmp_path / "kttui" / "tui" / "__init__.py").write_text("")
    text = "`kttui/tail.py` `kttui/tailer.py` `kttui.tui` `kttui.runner` `kttui/tui/`"
    assert missing_paths(text, tmp_path) == ["kttui/tailer.py", "kttui.runner"]


def test_every_repository_path_named_in_the_readme_exists() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert missing_paths(readme) == []
    # the benchmark list names files of bench/ by their bare names
    sentence = readme.split("Benchmarks print figures:", 1)[1].split(".\n", 1)[0]
    names = re.findall(r"`(?:bench/)?(\w+\.py)`", sentence)
    assert len(names) >= 5
    assert [n for n in names if not (ROOT / "bench" / n).is_file()] == []


def test_readme_pykt_data_config_entry_is_what_export_pykt_writes(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("entry to `configs/data_config.json`", 1)[1]
    block = block.split("```json\n", 1)[1].split("```", 1)[0]
    shown = json.loads("{" + block + "}")
    export_pykt(tmp_path)
    written = json.loads((tmp_path / "configs" / "data_config.json").read_text())
    assert shown == written
