"""Tab completion in the three shells, through the code `kttui completion SHELL` prints.

Each shell runs for real: bash calls the completion function the script registers,
fish answers `complete -C`, and zsh is typed into in a tmux terminal, TAB and all.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import missing, wait_for
from tests.test_tui_tmux import Tmux, tmux  # noqa: F401  (the fixture)

BIN = Path(sys.executable).parent  # the venv's `kttui` script
SESSIONS = {"20261129-120000-ab12": "dkt lr sweep", "20261128-090000-cd34": "sakt baseline"}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder with a session store, a spec, a CSV and an unrelated file."""
    for sid, name in SESSIONS.items():
        (tmp_path / "store" / sid).mkdir(parents=True)
        (tmp_path / "store" / sid / "session.json").write_text(json.dumps({"name": name}))
    (tmp_path / "store" / "not-a-session").mkdir()
    (tmp_path / "sweep.yaml").write_text("name: x\n")
    (tmp_path / "configs.csv").write_text("lr\n0.1\n")
    (tmp_path / "notes.txt").write_text("")
    return tmp_path


def shell_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KTTUI_HOME", "COLUMNS", "LINES")}
    return {**env, "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}", **extra}


def needs(shell: str) -> str:
    path = shutil.which(shell)
    if path is None:
        missing(f"needs {shell} (apt-get install {shell})")
    return path


BASH_COMPLETE = """
source <(kttui completion bash)
COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}
read -ra COMP_WORDS <<< "$COMP_LINE"
[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_python_argcomplete kttui
printf '%s\\n' "${COMPREPLY[@]}"
"""


def bash(line: str, cwd: Path, **env: str) -> list[str]:
    out = subprocess.run(
        [needs("bash"), "-c", BASH_COMPLETE, "bash", line],
        cwd=cwd,
        env=shell_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return [w.strip() for w in out.stdout.splitlines() if w.strip()]


def fish(line: str, cwd: Path) -> dict[str, str]:
    script = f"kttui completion fish | source; complete -C {json.dumps(line)}"
    out = subprocess.run(
        [needs("fish"), "--no-config", "-c", script],
        cwd=cwd,
        env=shell_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    rows = (row.partition("\t") for row in out.stdout.splitlines())
    return {value: about for value, _, about in rows}


def test_bash_completes_commands_session_ids_and_files(workdir: Path) -> None:
    assert bash("kttui att", workdir) == ["attach"]
    assert "completion" in bash("kttui ", workdir)
    ids = bash("kttui attach --sessions-dir store ", workdir)
    assert sorted(ids) == sorted(SESSIONS)  # no options before a "-", no non-session folder
    assert bash("kttui report --sessions-dir store 20261129", workdir) == ["20261129-120000-ab12"]
    # the store named by $KTTUI_HOME, as every sub-command reads it
    assert sorted(bash("kttui status ", workdir, KTTUI_HOME=str(workdir / "store"))) == sorted(
        SESSIONS
    )
    assert "sweep.yaml" in bash("kttui validate ", workdir)
    assert "notes.txt" not in bash("kttui validate ", workdir)
    assert "configs.csv" in bash("kttui run sweep.yaml --configs ", workdir)
    assert "--foreground" in bash("kttui run --f", workdir)
    assert sorted(bash("kttui completion ", workdir)) == ["bash", "fish", "zsh"]


def test_bash_completion_of_a_missing_store_offers_nothing(workdir: Path) -> None:
    assert bash("kttui attach --sessions-dir nowhere ", workdir) == []


def test_fish_lists_session_ids_with_their_names(workdir: Path) -> None:
    got = fish("kttui attach --sessions-dir store ", workdir)
    assert got == SESSIONS
    assert fish("kttui val", workdir) == {"validate": "check spec files"}
    assert "sweep.yaml" in fish("kttui run ", workdir)


def test_zsh_completes_a_session_id_on_tab_in_a_terminal(
    tmux: Tmux,  # noqa: F811
    workdir: Path,
) -> None:
    zsh = needs("zsh")
    tmux(
        "new-session",
        "-d",
        "-x",
        "120",
        "-y",
        "30",
        "-c",
        str(workdir),
        f"env PATH={BIN}:$PATH {zsh} -f",
    )
    setup = "autoload -U compinit && compinit -u && source <(kttui completion zsh) && echo READY"
    tmux("send-keys", setup, "Enter")
    wait_for(lambda: "READY" in tmux.screen().replace("echo READY", ""), timeout=30)
    tmux("send-keys", "clear", "Enter")
    tmux("send-keys", "kttui attach --sessions-dir store 20261128", "Tab")
    wait_for(lambda: "cd34" in tmux.screen(), timeout=30)  # the unique prefix was completed
    assert "kttui attach --sessions-dir store 20261128-090000-cd34" in tmux.screen()


def test_completion_of_an_unknown_shell_is_refused() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "kttui", "completion", "tcsh"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "invalid choice: 'tcsh'" in out.stderr, out.stderr


def test_a_normal_run_does_not_import_argcomplete() -> None:
    code = "import sys; from kttui.cli import main; main(['schema', '-o', '/dev/null']);"
    code += "print('argcomplete' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=shell_env()
    )
    assert out.stdout.strip() == "False", out.stderr
