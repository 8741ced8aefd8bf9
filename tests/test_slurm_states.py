"""The SLURM backend's parsers and job state machine, without a cluster.

A scripted SLURM (:class:`ScriptedSlurm`) is injected as the backend's command runner:
it answers sbatch, squeue, scontrol, sacct, scancel and sinfo in the formats the real
commands print (the sample lines below were recorded from tests/infra/slurm_up.sh's
cluster, Slurm 22.05), and the test moves its jobs through states a real cluster
shows rarely or never on demand: preemption, node failure, a lost exit file,
accounting that is off or down. tests/test_slurm_backend.py covers the same backend
against the real cluster.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kttui.backends.base import BackendConfig, Handle, JobStatus, TrialRequest
from kttui.backends.local import LocalBackend
from kttui.backends.slurm import SlurmBackend
from kttui.backends.slurm.parse import (
    JobRecord,
    QueueRow,
    job_gres,
    parse_sacct,
    parse_scontrol,
    parse_sinfo,
    parse_squeue,
    sacct_disabled,
    sbatch_job_id,
)

from kttui.spec import Resources

SQUEUE_RECORDED = """\
148|FAILED|NonZeroExitCode|vm|gres:gpu:1|wrap
147|PENDING|JobHeldUser||gres:gpu:1|kttui-pipe|name
2|RUNNING|None|vm|N/A|wrap
"""
SCONTROL_RECORDED = (
    "JobId=148 JobName=wrap UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901613 "
    "Nice=0 Account=(null) QOS=(null) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) "
    "Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=3:0 RunTime=00:00:00 "
    "TimeLimit=UNLIMITED NodeList=vm BatchHost=vm TresPerNode=gres:gpu:1 \n"
)
#: sacct's words when the cluster keeps no accounting (src/sacct/options.c), then and now.
DISABLED = ["Slurm accounting storage is disabled\n", "SLURM accounting storage is disabled\n"]
#: What sacct says while slurmdbd is down or hiccups: worth asking again later.
TRANSIENT = [
    "sacct: error: Problem talking to the database: Connection refused\n",
    "sacct: error: Could not read msg_size from connection 3(localhost) uid(0)\n",
    "sacct: error: Problem talking to the database: Unable to connect to database\n",
]


# -- parsers -------------------------------------------------------------------------------


def test_squeue_rows_as_slurm_prints_them() -> None:
    rows = parse_squeue(SQUEUE_RECORDED + "garbage line\n|RUNNING|x|y|z|w\n")
    assert rows == {
        "148": QueueRow("FAILED", "NonZeroExitCode", "wrap", "vm", "gpu:1"),
        "147": QueueRow("PENDING", "JobHeldUser", "kttui-pipe|name", "", "gpu:1"),
        "2": QueueRow("RUNNING", "None", "wrap", "vm", ""),
    }


@pytest.mark.parametrize(
    ("raw", "gres"),
    [
        ("gres:gpu:2", "gpu:2"),  # Slurm 22.05
        ("gres/gpu:a100:1", "gpu:a100:1"),  # Slurm 23.02 and later
        ("gres/gpu:1,gres/shard:2", "gpu:1,shard:2"),
        ("N/A", ""),
        ("(null)", ""),
        ("", ""),
    ],
)
def test_job_gres(raw: str, gres: str) -> None:
    assert job_gres(raw) == gres


def test_scontrol_and_sacct_records() -> None:
    assert parse_scontrol(SCONTROL_RECORDED) == JobRecord("FAILED", (3, 0), "wrap")
    assert parse_scontrol("slurm_load_jobs error: Invalid job id specified\n") is None
    assert parse_sacct("CANCELLED by 1000|0:15|kttui-s-3\n") == JobRecord(
        "CANCELLED", (0, 15), "kttui-s-3"
    )
    assert parse_sacct("NODE_FAIL|0:0|x\nCOMPLETED|0:0|x\n") == JobRecord("NODE_FAIL", (0, 0), "x")
    assert parse_sacct("") is None
    assert parse_sacct("|0:0|x\n") is None


def test_sinfo_and_sbatch_output() -> None:
    assert parse_sinfo("1|8|gpu:4\n") == (1, 8, 4)
    assert parse_sinfo("2|64|gpu:a100:8(S:0-1),shard:16\n3|32+|(null)\nbad\n") == (5, 224, 16)
    assert sbatch_job_id("123\n") == "123"
    assert sbatch_job_id("124;cluster2\n") == "124"
    assert sbatch_job_id("sbatch: warning: x\n125\n") == "125"
    assert sbatch_job_id("Submitted batch job 7\n") == ""
    assert sbatch_job_id("") == ""


@pytest.mark.parametrize("stderr", DISABLED)
def test_sacct_disabled_matches_slurms_own_words(stderr: str) -> None:
    assert sacct_disabled(stderr)


@pytest.mark.parametrize("stderr", TRANSIENT)
def test_sacct_hiccups_do_not_turn_accounting_off(stderr: str) -> None:
    assert not sacct_disabled(stderr)


# -- a scripted SLURM ----------------------------------------------------------------------


@dataclass
class FakeJob:
    name: str
    gres: str
    state: str = "PENDING"
    reason: str = "Priority"
    node: str = ""
    exit: str = "0:0"
    in_queue: bool = True  # squeue still lists it
    known: bool = True  # scontrol still knows it


def _done(
    argv: Sequence[str], out: str = "", err: str = "", rc: int = 0
) -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess(list(argv), rc, out, err)


class ScriptedSlurm:
    """Answers SLURM commands from ``jobs``, which the test moves from state to state."""

    def __init__(self, sinfo: str = "1|8|gpu:4\n") -> None:
        self.jobs: dict[str, FakeJob] = {}
        self.calls: list[list[str]] = []
        self.sinfo = sinfo
        self.sacct_error: str | None = None
        self.squeue_error: str | None = None
        self.next_id = 100

    def __call__(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(argv))
        command, args = argv[0], list(argv[1:])
        if command == "sbatch":
            script = Path(args[-1]).read_text()
            name = script.split("--job-name=")[1].split("\n")[0]
            gres = script.split("--gres=")[1].split("\n")[0] if "--gres=" in script else ""
            self.next_id += 1
            self.jobs[str(self.next_id)] = FakeJob(name, f"gres:{gres}" if gres else "N/A")
            return _done(argv, f"{self.next_id}\n")
        if command == "squeue":
            if self.squeue_error:
                return _done(argv, err=self.squeue_error, rc=1)
            wanted = args[args.index("-j") + 1].split(",") if "-j" in args else list(self.jobs)
            lines = [
                f"{i}|{j.state}|{j.reason}|{j.node}|{j.gres}|{j.name}"
                for i, j in self.jobs.items()
                if i in wanted and j.in_queue
            ]
            if not lines and "-j" in args:
                return _done(argv, err="slurm_load_jobs error: Invalid job id specified\n", rc=1)
            return _done(argv, "".join(line + "\n" for line in lines))
        if command == "scontrol":
            job = self.jobs.get(args[-1])
            if job is None or not job.known:
                return _done(argv, err="slurm_load_jobs error: Invalid job id specified\n", rc=1)
            return _done(
                argv,
                f"JobId={args[-1]} JobName={job.name} JobState={job.state} "
                f"Reason={job.reason} ExitCode={job.exit} NodeList={job.node}\n",
            )
        if command == "sacct":
            if self.sacct_error is not None:
                return _done(argv, err=self.sacct_error, rc=1)
            job = self.jobs.get(args[args.index("-j") + 1])
            return _done(argv, f"{job.state}|{job.exit}|{job.name}\n" if job else "")
        if command == "scancel":
            for job_id in (a for a in args if a.isdigit()):
                if "--signal=TERM" not in args:
                    self.jobs[job_id].state = "CANCELLED"
            return _done(argv)
        if command == "sinfo":
            return _done(argv, self.sinfo)
        raise AssertionError(f"unexpected command {argv}")


@pytest.fixture
def slurm() -> ScriptedSlurm:
    return ScriptedSlurm()


def make(slurm: ScriptedSlurm, **config: Any) -> SlurmBackend:
    config.setdefault("kill_grace_s", 0.0)
    return SlurmBackend(BackendConfig(options={"poll_s": 0}, **config), run_cmd=slurm)


def request(tmp_path: Path, number: int) -> TrialRequest:
    tdir = tmp_path / "trials" / str(number)
    return TrialRequest(
        number=number,
        argv=["python", "train.py"],
        env={"PATH": "/usr/bin"},
        cwd=tmp_path,
        trial_dir=tdir,
        stdout=tdir / "stdout.log",
        stderr=tdir / "stderr.log",
        token=f"s1:{number}",
    )


def exits(handle: Handle, code: int) -> None:
    """What the batch script's last line does."""
    Path(handle.data["exit_file"]).write_text(f"{code}\n")


def status(b: SlurmBackend, h: Handle) -> JobStatus:
    return b.poll([h])[h.job_id]


# -- the state machine -----------------------------------------------------------------------


def test_queued_then_running_then_done(slurm: ScriptedSlurm, tmp_path: Path) -> None:
    b = make(slurm, gpus=4, gpus_per_trial=1)
    h = b.submit(request(tmp_path, 0))
    assert "#SBATCH --gres=gpu:1" in Path(h.data["script"]).read_text()
    assert status(b, h) == JobStatus("queued", reason="Priority")
    slurm.jobs[h.job_id].reason = "Resources"
    assert status(b, h) == JobStatus("queued", reason="Resources")
    assert b.capacity() == 19  # max_pending 20, one pending
    slurm.jobs[h.job_id].__dict__.update(state="RUNNING", reason="None", node="gpu-07")
    assert status(b, h) == JobStatus("running", node="gpu-07", gres="gpu:1")
    assert b.capacity() == 20
    slurm.jobs[h.job_id].state = "SUSPENDED"
    assert status(b, h) == JobStatus("running", reason="suspended", node="gpu-07", gres="gpu:1")
    exits(h, 0)
    slurm.jobs[h.job_id].state = "COMPLETED"
    assert status(b, h) == JobStatus("done", 0, None, "")
    calls = len(slurm.calls)
    assert status(b, h) == JobStatus("done", 0, None, "")  # final: SLURM is not asked again
    assert len(slurm.calls) == calls


def test_a_job_that_leaves_the_queue_unseen_ends_from_its_exit_file(
    slurm: ScriptedSlurm, tmp_path: Path
) -> None:
    b = make(slurm, gpus=0)
    ok, killed = b.submit(request(tmp_path, 0)), b.submit(request(tmp_path, 1))
    assert {s.state for s in b.poll([ok, killed]).values()} == {"queued"}
    exits(ok, 4)
    exits(killed, 128 + 9)
    for job in slurm.jobs.values():
        job.in_queue = False
    final = b.poll([ok, killed])
    assert final[ok.job_id] == JobStatus("done", 4, None, "")
    assert final[killed.job_id] == JobStatus("done", None, 9, "SIGKILL")
    # scontrol is asked how it ended (preempted?), and knew: accounting is not asked
    assert [c[0] for c in slurm.calls].count("scontrol") == 2
    assert "sacct" not in [c[0] for c in slurm.calls]


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ("PREEMPTED", "preempted"),
        ("NODE_FAIL", "node failure"),
        ("BOOT_FAIL", "node failure (boot)"),
    ],
)
def test_lost_jobs_end_without_exit_code_so_the_runner_requeues(
    slurm: ScriptedSlurm, tmp_path: Path, state: str, reason: str
) -> None:
    b = make(slurm, gpus=0)
    h = b.submit(request(tmp_path, 0))
    slurm.jobs[h.job_id].__dict__.update(state="RUNNING", node="n1")
    assert status(b, h).state == "running"
    exits(h, 143)  # the trial was killed with the node: its exit file does not count
    slurm.jobs[h.job_id].state = state
    assert status(b, h) == JobStatus("done", None, None, reason)


def test_preempted_after_leaving_the_queue_is_found_by_scontrol(
    slurm: ScriptedSlurm, tmp_path: Path
) -> None:
    b = make(slurm, gpus=0)
    h = b.submit(request(tmp_path, 0))
    status(b, h)
    slurm.jobs[h.job_id].__dict__.update(state="PREEMPTED", in_queue=False)
    assert status(b, h) == JobStatus("done", None, None, "preempted")


def test_a_missing_exit_file(slurm: ScriptedSlurm, tmp_path: Path) -> None:
    b = make(slurm, gpus=0)
    done, failed, shot = (b.submit(request(tmp_path, n)) for n in range(3))
    b.poll([done, failed, shot])
    slurm.jobs[done.job_id].state = "COMPLETED"
    slurm.jobs[failed.job_id].__dict__.update(state="FAILED", reason="NonZeroExitCode", exit="3:0")
    slurm.jobs[shot.job_id].__dict__.update(state="FAILED", reason="NonZeroExitCode", exit="0:9")
    final = b.poll([done, failed, shot])
    trial_dir = Path(done.data["trial_dir"])
    assert final[done.job_id] == JobStatus(
        "done", 0, None, f"no exit_code file: is {trial_dir} shared with the nodes?"
    )
    assert final[failed.job_id] == JobStatus("done", 3, None, "")
    assert final[shot.job_id] == JobStatus("done", None, 9, "SIGKILL")


def test_accounting_disabled_is_asked_once(slurm: ScriptedSlurm, tmp_path: Path) -> None:
    b = make(slurm, gpus=0)
    slurm.sacct_error = DISABLED[0]
    handles = [b.submit(request(tmp_path, n)) for n in range(2)]
    b.poll(handles)
    for job in slurm.jobs.values():
        job.in_queue = job.known = False  # gone from slurmctld's memory, no exit file
    final = b.poll(handles)
    assert set(final.values()) == {
        JobStatus("done", None, None, "job left the queue without a trace")
    }
    assert [c[0] for c in slurm.calls].count("sacct") == 1


def test_accounting_down_is_asked_again(slurm: ScriptedSlurm, tmp_path: Path) -> None:
    b = make(slurm, gpus=0)
    first, second = b.submit(request(tmp_path, 0)), b.submit(request(tmp_path, 1))
    b.poll([first, second])
    slurm.sacct_error = TRANSIENT[1]  # has a "not" in it, and is no reason to give up
    slurm.jobs[first.job_id].__dict__.update(in_queue=False, known=False)
    assert status(b, first) == JobStatus("done", None, None, "job left the queue without a trace")
    assert b.stats.errors[-1] == TRANSIENT[1].strip()
    slurm.sacct_error = None  # slurmdbd is back
    slurm.jobs[second.job_id].__dict__.update(state="NODE_FAIL", in_queue=False, known=False)
    assert status(b, second) == JobStatus("done", None, None, "node failure")
    assert [c[0] for c in slurm.calls].count("sacct") == 2


def test_a_failing_squeue_decides_nothing(slurm: ScriptedSlurm, tmp_path: Path) -> None:
    b = make(slurm, gpus=0)
    h = b.submit(request(tmp_path, 0))
    slurm.jobs[h.job_id].__dict__.update(state="RUNNING", node="n1")
    assert status(b, h).state == "running"
    slurm.squeue_error = "squeue: error: Socket timed out on send/recv operation\n"
    slurm.jobs[h.job_id].in_queue = False
    assert status(b, h) == JobStatus("running", node="n1")  # what was known stays
    assert "Socket timed out" in b.stats.errors[-1]
    slurm.squeue_error = None
    exits(h, 0)
    assert status(b, h) == JobStatus("done", 0, None, "")


def test_cancel_queued_and_running(slurm: ScriptedSlurm, tmp_path: Path) -> None:
    b = make(slurm, gpus=0)
    queued, running = b.submit(request(tmp_path, 0)), b.submit(request(tmp_path, 1))
    slurm.jobs[running.job_id].__dict__.update(state="RUNNING", node="n1")
    b.poll([queued, running])
    b.cancel(queued)
    b.cancel(running)
    b.cancel(running)  # once is enough
    cancels = [c for c in slurm.calls if c[0] == "scancel"]
    assert cancels == [
        ["scancel", queued.job_id],
        ["scancel", "--full", "--signal=TERM", running.job_id],
        ["scancel", running.job_id],  # kill_grace_s 0: at once
    ]
    exits(running, 128 + 15)
    final = b.poll([queued, running])
    assert final[queued.job_id] == JobStatus("done", None, None, "cancelled")
    assert final[running.job_id] == JobStatus("done", None, 15, "cancelled (SIGTERM)")


def test_reattach_after_the_runner_died(slurm: ScriptedSlurm, tmp_path: Path) -> None:
    first = make(slurm, gpus=0)
    live, ended = first.submit(request(tmp_path, 0)), first.submit(request(tmp_path, 1))
    slurm.jobs[live.job_id].__dict__.update(state="RUNNING", node="n2")
    slurm.jobs[ended.job_id].state = "COMPLETED"  # listed until MinJobAge passes
    exits(ended, 5)
    second = make(slurm, gpus=0)
    slurm.calls.clear()
    saved = [Handle.from_json(h.to_json()) for h in (live, ended)]
    assert all(second.reattach(h) for h in saved)
    assert [c[0] for c in slurm.calls] == ["squeue"]  # one look at the user's jobs
    final = second.poll(saved)
    assert final[live.job_id] == JobStatus("running", node="n2")
    assert final[ended.job_id] == JobStatus("done", 5, None, "")
    # the id now names someone else's job, and ours left no exit file: lost
    slurm.jobs[live.job_id].name = "not-ours"
    third = make(slurm, gpus=0)
    assert third.reattach(Handle.from_json(live.to_json())) is False


# -- building from the spec ------------------------------------------------------------------


def test_each_backend_builds_itself_from_resources() -> None:
    r = Resources.model_validate(
        {
            "backend": "slurm",
            "gpus": 0,
            "timeout_min": 30,
            "kill_grace_s": 3,
            "slurm": {"partition": "gpu", "signal": None, "mem": "4G"},
        }
    )
    b = SlurmBackend.from_resources(r)
    assert (b.options.partition, b.options.mem, b.options.time) == ("gpu", "4G", "31")
    assert b.options.signal is None  # `signal: null` means no signal, not the default
    assert b.gpus_per_trial() == 0
    assert b.config.kill_grace_s == 3
    default = SlurmBackend.from_resources(Resources.model_validate({"backend": "slurm"}))
    assert default.options.signal == "B:USR1@120" and default.options.time is None
    assert default.options.gpus_per_trial == 1
    local = LocalBackend.from_resources(Resources.model_validate({"cpu_slots": 3, "gpus": 0}))
    assert isinstance(local, LocalBackend)
    assert (local.config.cpu_slots, local.config.gpus, local.config.options) == (3, 0, {})


def test_preflight_warns_about_a_session_dir_the_nodes_cannot_see(tmp_path: Path) -> None:
    one_node = make(ScriptedSlurm("1|8|gpu:4\n"), gpus=0)
    assert one_node.preflight(tmp_path) == []
    many = make(ScriptedSlurm("16|64|gpu:8\n"), gpus=0)
    warnings = many.preflight(Path("/tmp"))
    assert len(warnings) == 1 and "16 nodes" in warnings[0]
    assert LocalBackend(BackendConfig()).preflight(tmp_path) == []
