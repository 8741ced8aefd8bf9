"""The SLURM backend, one module per job.

- :mod:`.options`: the spec's ``resources.slurm`` block, checked;
- :mod:`.script`: a trial's batch script, rendered from its request;
- :mod:`.sharedfs`: whether the compute nodes can see the session directory;
- :mod:`.parse`: pure readers of squeue, scontrol, sacct, sinfo and sbatch output;
- :mod:`.outcome`: how a job ended, as a trial's final status;
- :mod:`.commands`: how SLURM's commands are run (injectable);
- :mod:`.backend`: :class:`SlurmBackend`, the job state machine behind the protocol.
"""

from kttui.backends.slurm.backend import SlurmBackend
from kttui.backends.slurm.commands import CommandRunner, QueueStats, run_command
from kttui.backends.slurm.options import SlurmOptions, options_from_resources
from kttui.backends.slurm.script import job_name, render_script, sbatch_environment
from kttui.backends.slurm.sharedfs import FsCheck, check_shared_filesystem

BACKEND = SlurmBackend

__all__ = [
    "BACKEND",
    "CommandRunner",
    "FsCheck",
    "QueueStats",
    "SlurmBackend",
    "SlurmOptions",
    "check_shared_filesystem",
    "job_name",
    "options_from_resources",
    "render_script",
    "run_command",
    "sbatch_environment",
]
