"""Wall time of `kttui demo --no-tui` on this machine, trials completed/pruned,
best test AUC against the generator's oracle and the trivial baseline."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kttui.cli.demo import best_test_auc
from kttui.session import list_sessions, summarize


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="kttui-demo-bench-"))
    store = tmp / "sessions"
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "kttui", "demo", "--no-tui", "--sessions-dir", str(store)],
        cwd=tmp,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    session = list_sessions(store)[0]
    s = summarize(session)
    refs = session.info()["demo"]
    found = best_test_auc(session)
    c = s["counts"]
    print(f"kttui demo --no-tui: {wall:.1f} s wall (goal < 180 s on 2 cores)")
    print(
        f"trials: {s['trials']} ({c['complete']} completed, {c['pruned']} pruned, "
        f"{c['fail']} failed)"
    )
    if found:
        print(
            f"best trial {found[0]}: test AUC {found[1]:.4f}; trivial baseline "
            f"{refs['baseline_auc']:.4f}; oracle {refs['oracle_auc']:.4f}"
        )


if __name__ == "__main__":
    main()
