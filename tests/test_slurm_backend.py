"""SlurmBackend against a real one-node SLURM cluster (tests/infra/slurm_up.sh starts it).

The cluster has 4 fake GPUs and two partitions (``debug``, the default, and ``urgent``,
whose jobs preempt ``debug``'s). Tests that need it skip with the command to run when
``sinfo`` is absent or the node is not up; the pure tests (script content, options,
the filesystem check) always run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from kttui.backends.base import (
    BackendConfig,
    BackendError,
    Handle,
    JobStatus,
    TrialRequest,
    read_proc_stat,
)
from kttui.backends.slurm import (
    SlurmBackend,
    SlurmOptions,
    check_shared_filesystem,
    job_name,
    render_script,
)

from tests.conftest import missing

SKIP = "slurm not running: run tests/infra/slurm_up.sh"


def _sh(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def _cluster() -> dict[str, Any] | None:
    if shutil.which("sinfo") is None:
        return None
    try:
        res = _sh("sinfo", "-h", "-o", "%P|%t|%G|%N")
    except (OSError, subprocess.TimeoutExpired):
        return None
    if res.returncode != 0:
        return None
    parts = [line.split("|") for line in res.stdout.split()]
    up = [p for p in parts if len(p) == 4 and p[1] in ("idle", "mix", "alloc")]
    if not up:
        return None
    gpus = sum(int(g.split(":")[-1]) for g in up[0][2].split(",") if g.startswith("gpu:"))
    return {
        "partitions": {p[0].rstrip("*") for p in up},
        "gpus": gpus,
        "node": up[0][3],
    }


@pytest.fixture(scope="module")
def cluster() -> dict[str, Any]:
    info = _cluster()
    if info is None:
        missing(SKIP)
    return info


@pytest.fixture
def session() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


Factory = Callable[..., SlurmBackend]


@pytest.fixture
def backend(cluster: dict[str, Any], session: str) -> Iterator[Factory]:
    """Backends for the test's session; every job of the session is cancelled afterwards."""
    made: list[SlurmBackend] = []

    def make(**options: Any) -> SlurmBackend:
        config_keys = ("gpus", "gpus_per_trial", "max_concurrent", "kill_grace_s")
        config = {k: options.pop(k) for k in config_keys if k in options}
        options.setdefault("poll_s", 0.2)
        options.setdefault("mem", "64M")
        config.setdefault("kill_grace_s", 3.0)
        b = SlurmBackend(BackendConfig(options=options, **config))
        made.append(b)
        return b

    yield make
    if made:
        made[0].cleanup(session)


def trial(
    root: Path, session: str, number: int, code: str, *args: str, env: dict[str, str] | None = None
) -> TrialRequest:
    tdir = root / "trials" / str(number)
    tdir.mkdir(parents=True, exist_ok=True)
    full_env = dict(os.environ)
    full_env.update(
        {"KTTUI_TRIAL_DIR": str(tdir), "KTTUI_TRIAL_NUMBER": str(number), "PYTHONUNBUFFERED": "1"}
    )
    full_env.update(env or {})
    return TrialRequest(
        number=number,
        argv=[sys.executable, "-c", code, *args],
        env=full_env,
        cwd=root,
        trial_dir=tdir,
        stdout=tdir / "stdout.log",
        stderr=tdir / "stderr.log",
        token=f"{session}:{number}",
    )


def wait_until(
    b: SlurmBackend,
    handles: Sequence[Handle],
    pred: Callable[[dict[str, JobStatus]], bool],
    timeout: float = 30.0,
) -> dict[str, JobStatus]:
    deadline = time.monotonic() + timeout
    statuses: dict[str, JobStatus] = {}
    while time.monotonic() < deadline:
        statuses = b.poll(handles)
        if pred(statuses):
            return statuses
        time.sleep(0.1)
    raise AssertionError(f"not reached in {timeout} s: {statuses}")


def all_done(statuses: dict[str, JobStatus]) -> bool:
    return all(s.state == "done" for s in statuses.values())


def wait_file(path: Path, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path} not written in {timeout} s")


# -- against the cluster ----------------------------------------------------------------------

GPU_TRIAL = """
import os, pathlib, time
d = pathlib.Path(os.environ["KTTUI_TRIAL_DIR"])
(d / "cvd").write_text(os.environ.get("CUDA_VISIBLE_DEVICES", "-"))
go = d.parent.parent / "go"
deadline = time.time() + 40
while not go.exists() and time.time() < deadline:
    time.sleep(0.05)
"""


def test_four_trials_get_four_distinct_gpus(
    cluster: dict[str, Any], backend: Factory, session: str, tmp_path: Path
) -> None:
    if cluster["gpus"] < 4:
        missing("the cluster has fewer than 4 GPUs")
    b = backend(gpus_per_trial=1)
    assert b.gpus_per_trial() == 1
    assert b.total_slots() == cluster["gpus"]
    handles = [b.submit(trial(tmp_path, session, n, GPU_TRIAL)) for n in range(4)]
    cvd = sorted(wait_file(tmp_path / "trials" / str(n) / "cvd") for n in range(4))
    assert cvd == ["0", "1", "2", "3"]  # all four at once, each on its own GPU
    statuses = wait_until(b, handles, lambda s: all(x.state == "running" for x in s.values()))
    assert all(s.reason == "" for s in statuses.values())
    # where each runs and what it holds, as squeue says (the console's GPU pane shows it)
    assert {(s.node, s.gres) for s in statuses.values()} == {(cluster["node"], "gpu:1")}
    # a fifth waits for a GPU, and says so
    fifth = b.submit(trial(tmp_path, session, 4, GPU_TRIAL))
    queued = wait_until(b, [fifth], lambda s: s[fifth.job_id].reason == "Resources")
    assert queued[fifth.job_id].state == "queued"
    (tmp_path / "go").touch()
    final = wait_until(b, [*handles, fifth], all_done)
    assert {s.exit_code for s in final.values()} == {0}
    assert wait_file(tmp_path / "trials" / "4" / "cvd") in {"0", "1", "2", "3"}


def test_exit_code_and_literal_arguments(backend: Factory, session: str, tmp_path: Path) -> None:
    b = backend(gpus=0)
    dump = (
        "import json, os, sys; print(json.dumps({'argv': sys.argv[1:], 'weird': "
        "os.environ.get('WEIRD'), 'token': os.environ.get('KTTUI_TRIAL_TOKEN'), "
        "'cvd': os.environ.get('CUDA_VISIBLE_DEVICES'), 'cwd': os.getcwd(), "
        "'password': os.environ.get('KTTUI_DB_PASSWORD')}))"
    )
    odd = ["; rm -rf x", "$(touch pwned)", "`id`", 'it\'s "quoted"', "a\nb", "*", ""]
    weird = "$HOME 'single' \"double\" \\ ; echo no"
    ok = b.submit(
        trial(tmp_path, session, 0, dump, *odd, env={"WEIRD": weird, "KTTUI_DB_PASSWORD": "s3cr3t"})
    )
    fails = b.submit(trial(tmp_path, session, 1, "import sys; sys.exit(3)"))
    final = wait_until(b, [ok, fails], all_done)
    assert final[fails.job_id] == JobStatus("done", 3, None, "")
    assert (tmp_path / "trials" / "1" / "exit_code").read_text() == "3\n"
    assert final[ok.job_id] == JobStatus("done", 0, None, "")
    out = json.loads((tmp_path / "trials" / "0" / "stdout.log").read_text())
    assert out["argv"] == odd
    assert out["weird"] == weird
    assert out["token"] == f"{session}:0"
    assert out["cvd"] == ""  # no GPU asked for: none visible
    assert out["cwd"] == str(tmp_path)
    assert out["password"] is None  # never written into a script
    assert not (tmp_path / "pwned").exists()
    assert "s3cr3t" not in (tmp_path / "trials" / "0" / "job.sh").read_text()


SLEEPER = """
import os, pathlib, time
pathlib.Path(os.environ["KTTUI_TRIAL_DIR"], "pid").write_text(str(os.getpid()))
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    stat = read_proc_stat(pid)
    return stat is not None and stat.state != "Z"


def test_cancel_running_and_pending(backend: Factory, session: str, tmp_path: Path) -> None:
    b = backend(gpus=0)
    running = b.submit(trial(tmp_path, session, 0, SLEEPER))
    b2 = backend(gpus=0, sbatch_args=["--begin=now+600"])
    pending = b2.submit(trial(tmp_path, session, 1, SLEEPER))
    pid = int(wait_file(tmp_path / "trials" / "0" / "pid"))
    wait_until(b, [running], lambda s: s[running.job_id].state == "running")
    b.cancel(running)
    b2.cancel(pending)
    st = wait_until(b, [running], all_done, timeout=20)[running.job_id]
    assert st.signal == 15 and st.exit_code is None
    assert st.reason.startswith("cancelled")
    st2 = wait_until(b2, [pending], all_done, timeout=20)[pending.job_id]
    assert st2 == JobStatus("done", None, None, "cancelled")
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), "the trial process outlived its cancelled job"


def test_one_squeue_per_interval_for_many_handles(
    backend: Factory, session: str, tmp_path: Path
) -> None:
    b = backend(gpus=0, poll_s=0.5, sbatch_args=["--begin=now+600"], max_pending=50)
    handles = [b.submit(trial(tmp_path, session, n, "pass")) for n in range(12)]
    calls: list[list[str]] = []
    inner = b.run_cmd

    def counting(
        argv: Sequence[str], env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        calls.append(list(argv))
        return inner(argv, env)

    b.run_cmd = counting
    start = time.monotonic()
    polls = 0
    while time.monotonic() - start < 2.2:
        statuses = b.poll(handles)
        b.capacity()
        polls += 1
        time.sleep(0.02)
    elapsed = time.monotonic() - start
    squeues = [c for c in calls if c[0] == "squeue"]
    assert polls > 30
    assert 1 <= len(squeues) <= elapsed / 0.5 + 1, (len(squeues), elapsed)
    assert all(c[0] == "squeue" for c in calls), calls  # nothing per job
    ids = squeues[-1][squeues[-1].index("-j") + 1].split(",")
    assert sorted(ids) == sorted(h.job_id for h in handles)  # all jobs in one call
    assert {s.state for s in statuses.values()} == {"queued"}
    assert {s.reason for s in statuses.values()} == {"BeginTime"}


def test_max_pending_throttles_submissions(backend: Factory, session: str, tmp_path: Path) -> None:
    b = backend(gpus=0, max_pending=3, sbatch_args=["--begin=now+600"])
    submitted: list[Handle] = []
    while b.capacity() > 0:
        assert len(submitted) < 10, "max_pending did not stop the loop"
        submitted.append(b.submit(trial(tmp_path, session, len(submitted), "pass")))
    assert len(submitted) == 3
    statuses = wait_until(b, submitted, lambda s: all(x.reason == "BeginTime" for x in s.values()))
    assert {s.state for s in statuses.values()} == {"queued"}
    assert b.capacity() == 0
    b.cancel(submitted[0])
    wait_until(b, submitted[:1], all_done)
    b.release(submitted[0])
    assert b.capacity() == 1
    # max_concurrent caps running + pending
    c = backend(gpus=0, max_pending=5, max_concurrent=2, sbatch_args=["--begin=now+600"])
    c.submit(trial(tmp_path, session, 10, "pass"))
    assert c.capacity() == 1


def test_more_gpus_than_exist_is_refused(
    cluster: dict[str, Any], backend: Factory, session: str, tmp_path: Path
) -> None:
    b = backend(gpus_per_trial=cluster["gpus"] + 1)
    with pytest.raises(BackendError, match=r"sbatch refused trial 0: .*node configuration"):
        b.submit(trial(tmp_path, session, 0, "pass"))


def test_reattach_from_a_fresh_backend(backend: Factory, session: str, tmp_path: Path) -> None:
    first = backend(gpus=0)
    live = first.submit(trial(tmp_path, session, 0, "import time; time.sleep(2); print('ok')"))
    ended = first.submit(trial(tmp_path, session, 1, "import sys; sys.exit(5)"))
    wait_file(tmp_path / "trials" / "1" / "exit_code")
    saved = json.loads(json.dumps([live.to_json(), ended.to_json()]))  # as the session keeps them
    del first  # the runner dies

    second = backend(gpus=0)
    calls: list[str] = []
    inner = second.run_cmd

    def counting(
        argv: Sequence[str], env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        calls.append(argv[0])
        return inner(argv, env)

    second.run_cmd = counting
    handles = [Handle.from_json(raw) for raw in saved]
    assert all(second.reattach(h) for h in handles)
    assert calls == ["squeue"]  # one look at the queue for every reattached job
    final = wait_until(second, handles, all_done)
    assert final[live.job_id] == JobStatus("done", 0, None, "")
    assert final[ended.job_id] == JobStatus("done", 5, None, "")
    # exactly one job ran per trial: nothing resubmitted
    names = _sh("squeue", "-h", "-t", "all", "--me", "-o", "%j").stdout.split()
    assert names.count(job_name(session, 0)) == 1
    assert (tmp_path / "trials" / "0" / "stdout.log").read_text() == "ok\n"

    # the job id now belongs to another job: ours ended (exit_code file) or is lost
    renamed = {**saved[1], "data": {**saved[1]["data"], "job_name": "someone-else"}}
    third = backend(gpus=0)
    assert third.reattach(Handle.from_json(renamed)) is True
    assert third.poll([Handle.from_json(renamed)])[ended.job_id] == JobStatus("done", 5, None, "")
    (tmp_path / "trials" / "1" / "exit_code").unlink()
    fourth = backend(gpus=0)
    assert fourth.reattach(Handle.from_json(renamed)) is False
    # an id SLURM never heard of, and no exit_code file: lost
    (tmp_path / "trials" / "0" / "exit_code").unlink()
    assert fourth.reattach(Handle.from_json({**saved[0], "job_id": "99999999"})) is False


def test_usr1_reaches_the_trial(backend: Factory, session: str, tmp_path: Path) -> None:
    code = """
import os, pathlib, signal, sys, time
d = pathlib.Path(os.environ["KTTUI_TRIAL_DIR"])
def checkpoint(signum, frame):
    (d / "checkpoint").write_text("saved")
    sys.exit(7)
signal.signal(signal.SIGUSR1, checkpoint)
(d / "ready").write_text("1")
time.sleep(60)
"""
    b = backend(gpus=0)
    h = b.submit(trial(tmp_path, session, 0, code))
    assert "#SBATCH --signal=B:USR1@120" in (tmp_path / "trials" / "0" / "job.sh").read_text()
    wait_file(tmp_path / "trials" / "0" / "ready")
    # what SLURM does 120 s before the time limit: USR1 to the batch shell only
    assert _sh("scancel", "--batch", "--signal=USR1", h.job_id).returncode == 0
    st = wait_until(b, [h], all_done)[h.job_id]
    assert st == JobStatus("done", 7, None, "")
    assert (tmp_path / "trials" / "0" / "checkpoint").read_text() == "saved"


def test_node_failure_is_reported_for_requeue(
    cluster: dict[str, Any], backend: Factory, session: str, tmp_path: Path
) -> None:
    b = backend(gpus=0)
    h = b.submit(trial(tmp_path, session, 0, SLEEPER))
    wait_file(tmp_path / "trials" / "0" / "pid")
    node = cluster["node"]
    try:
        _sh("scontrol", "update", f"nodename={node}", "state=down", "reason=kttui-test")
        st = wait_until(b, [h], all_done, timeout=20)[h.job_id]
    finally:
        _sh("scontrol", "update", f"nodename={node}", "state=resume")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if _sh("sinfo", "-h", "-n", node, "-o", "%t").stdout.split()[:1] == ["idle"]:
                break
            time.sleep(0.1)
    assert st == JobStatus("done", None, None, "node failure")


def test_preemption_is_reported_for_requeue(
    cluster: dict[str, Any], backend: Factory, session: str, tmp_path: Path
) -> None:
    if "urgent" not in cluster["partitions"] or cluster["gpus"] < 1:
        missing("needs the 'urgent' partition of tests/infra/slurm_up.sh")
    gpus = cluster["gpus"]
    b = backend(gpus_per_trial=gpus, partition="debug")
    h = b.submit(trial(tmp_path, session, 0, SLEEPER))
    wait_file(tmp_path / "trials" / "0" / "pid")
    urgent = _sh(
        "sbatch", "--parsable", "-p", "urgent", f"--gres=gpu:{gpus}", "--mem=64M",
        f"--job-name={job_name(session, 99)}", "-o", "/dev/null", "--wrap", "sleep 1",
    )  # fmt: skip
    assert urgent.returncode == 0, urgent.stderr
    st = wait_until(b, [h], all_done, timeout=30)[h.job_id]
    assert st == JobStatus("done", None, None, "preempted")


def test_cleanup_cancels_the_sessions_jobs(backend: Factory, session: str, tmp_path: Path) -> None:
    b = backend(gpus=0, sbatch_args=["--begin=now+600"])
    handles = [b.submit(trial(tmp_path, session, n, "pass")) for n in range(3)]
    other = f"{session}x"  # a session whose id starts like ours is left alone
    keep = b.submit(trial(tmp_path, other, 1, "pass"))
    assert b.cleanup(session, [1]) == 1
    assert b.cleanup(session) == 2
    statuses = wait_until(b, handles, all_done)
    assert {s.reason for s in statuses.values()} == {"cancelled"}
    assert b.poll([keep])[keep.job_id].state == "queued"
    assert b.cleanup(other) == 1


def test_the_session_directory_check_on_the_test_cluster(backend: Factory, tmp_path: Path) -> None:
    check = backend().check_session_dir(tmp_path)
    assert check.ok and check.nodes == 1, check


# -- pure ------------------------------------------------------------------------------------


def test_batch_script_has_every_option(tmp_path: Path) -> None:
    options = SlurmOptions.parse(
        {
            "partition": "gpu",
            "account": "proj-42",
            "qos": "high",
            "mem": "16G",
            "time": "02:00:00",
            "cpus_per_task": 4,
            "gpus_per_trial": 2,
            "sbatch_args": ["--constraint=a100", "--exclusive"],
            "max_pending": 7,
            "poll_s": 10,
        }
    )
    root = tmp_path / "my runs%1"
    req = TrialRequest(
        number=12,
        argv=["python", "train.py", "--tag", "; rm -rf x"],
        env={"PATH": "/usr/bin", "LR": "1e-3", "SLURM_JOB_ID": "1", "KTTUI_DB_PASSWORD": "pw"},
        cwd=root / "code dir",
        trial_dir=root / "trials" / "12",
        stdout=root / "trials" / "12" / "stdout.log",
        stderr=root / "trials" / "12" / "stderr.log",
        token="sweep-1:12",
    )
    script = render_script(req, options, job_name("sweep-1", 12), 2, "sweep-1")
    head = [line for line in script.splitlines() if line.startswith("#SBATCH")]
    assert head == [
        "#SBATCH --job-name=kttui-sweep-1-12",
        f'#SBATCH --output="{tmp_path}/my runs%%1/trials/12/stdout.log"',
        f'#SBATCH --error="{tmp_path}/my runs%%1/trials/12/stderr.log"',
        "#SBATCH --open-mode=append",
        f'#SBATCH --chdir="{tmp_path}/my runs%1/trials/12"',
        "#SBATCH --export=ALL",
        "#SBATCH --nodes=1",
        "#SBATCH --ntasks=1",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --gres=gpu:2",
        "#SBATCH --mem=16G",
        "#SBATCH --time=02:00:00",
        "#SBATCH --partition=gpu",
        "#SBATCH --account=proj-42",
        "#SBATCH --qos=high",
        "#SBATCH --signal=B:USR1@120",
        "#SBATCH --no-requeue",
    ]
    assert script.startswith("#!/bin/bash\n#SBATCH")
    assert "--constraint=a100 --exclusive" in script  # recorded; passed on the command line
    assert "export LR=1e-3\n" in script
    assert "export KTTUI_TRIAL_TOKEN=sweep-1:12\n" in script
    assert "SLURM_JOB_ID=1" not in script and "KTTUI_DB_PASSWORD" not in script
    assert "CUDA_VISIBLE_DEVICES=" not in script  # SLURM sets it when GPUs are asked for
    assert f"cd -- '{root}/code dir' ||" in script
    assert "python train.py --tag '; rm -rf x' </dev/null &" in script
    assert f"_kttui_exit='{root}/trials/12/exit_code'" in script
    assert options.max_pending == 7 and options.poll_s == 10.0
    cpu = render_script(req, SlurmOptions.parse({"time": 90}), "n", 0, "s")
    assert "#SBATCH --gres" not in cpu and "#SBATCH --time=90" in cpu
    assert "export CUDA_VISIBLE_DEVICES=\n" in cpu
    assert "#SBATCH --mem" not in cpu and "#SBATCH --partition" not in cpu
    # the script is valid bash
    path = tmp_path / "job.sh"
    path.write_text(script)
    assert subprocess.run(["bash", "-n", str(path)], check=False).returncode == 0


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"partiton": "gpu"}, "unknown slurm option"),
        ({"partition": 'gpu"; x'}, "quote"),
        ({"partition": "a\nb"}, "quote"),
        ({"cpus_per_task": 0}, "cpus_per_task"),
        ({"max_pending": "5"}, "max_pending"),
        ({"sbatch_args": "--exclusive"}, "sbatch_args"),
        ({"poll_s": -1}, "poll_s"),
    ],
)
def test_bad_options_are_refused(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(BackendError, match=match):
        SlurmBackend(BackendConfig(options=raw))


MOUNTS = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:25 / /tmp rw shared:2 - tmpfs tmpfs rw
31 22 0:40 / /shared rw shared:3 - nfs4 srv:/export rw
32 31 0:41 / /shared/lustre rw shared:4 - lustre 10.0.0.1@o2ib:/fs rw
33 22 0:42 / /home/u/sshfs rw - fuse.sshfs u@h: rw
"""


@pytest.mark.parametrize(
    ("path", "nodes", "ok", "fstype"),
    [
        ("/shared/sessions", 16, True, "nfs4"),
        ("/shared/lustre/s", 16, True, "lustre"),
        ("/home/u/sshfs/s", 2, True, "fuse.sshfs"),
        ("/tmp/sessions", 16, False, "tmpfs"),
        ("/tmp/sessions", 1, True, "tmpfs"),
        ("/var/tmp/sessions", 4, False, "ext4"),
        ("/home/u/sessions", 4, False, "ext4"),
        ("/home/u/sessions", 1, True, "ext4"),
    ],
)
def test_shared_filesystem_check(path: str, nodes: int, ok: bool, fstype: str) -> None:
    check = check_shared_filesystem(Path(path), nodes, MOUNTS)
    assert (check.ok, check.fstype) == (ok, fstype), check.message
    if not ok:
        assert f"{nodes} nodes" in check.message


def test_job_names_are_safe() -> None:
    assert job_name("dkt lr/2024", 3) == "kttui-dkt_lr_2024-3"
