"""The detached runner starts from any directory (issue 13 §4).

``python -m`` puts the caller's directory first on ``sys.path``; from a clone of
this repository (a ``kttui/`` folder in the working directory) the runner used
to import that folder instead of the installed package and die on start.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kttui.session import list_sessions
from tests.conftest import wait_for, write_spec


def test_kttui_run_from_a_directory_holding_kttui_and_backends_folders(
    tmp_path: Path, store: Path
) -> None:
    import subprocess

    here = tmp_path / "clone"
    for name in ("kttui", "backends"):
        (here / name).mkdir(parents=True)
    spec = write_spec(tmp_path / "s.yaml", strategy={"sampler": "random", "n_trials": 2})
    # the installed console script, as a user types it (not ``python -m``, which
    # would shadow the package in this very process too)
    script = Path(sys.executable).parent / "kttui"
    done = subprocess.run(
        [str(script), "run", str(spec), "--sessions-dir", str(store)],
        cwd=here,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (session,) = list_sessions(store)
    wait_for(lambda: (session.runner() or {}).get("state") == "finished", timeout=90)
    log = session.runner_log.read_text(errors="replace")
    assert "ImportError" not in log and "Traceback" not in log
    assert all((session.trial_status(n) or {}).get("state") == "complete" for n in range(2))
