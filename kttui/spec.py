"""The sweep spec: pydantic models of what a user writes in a YAML file.

These models are the edge of the system: everything a spec may contain is
declared here (and nowhere else), the JSON Schema and the README's spec
reference are generated from them, and :mod:`kttui.specload` turns their
validation errors into ``FILE:LINE: field: message`` lines.
"""

from __future__ import annotations

import itertools
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

NAME_RE = r"^[A-Za-z_][A-Za-z0-9_]*$"
SESSION_NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
#: Placeholders every command may use besides the params.
BUILTIN_PLACEHOLDERS = ("python", "trial_number", "trial_dir", "session_dir")


def _scalar(value: Any) -> Any:
    """Accept exactly str/int/float/bool; pydantic's unions would give 4 errors per item."""
    if isinstance(value, bool | int | float | str):
        return value
    raise ValueError(f"must be a number, a string or true/false, not {type(value).__name__}")


Scalar = Annotated[Any, BeforeValidator(_scalar)]

#: Params are stored as floats by Optuna: integers beyond this lose their identity.
MAX_INT_PARAM = 2**53


def _whole(value: Any) -> Any:
    """Counts and seeds: ``true`` is not 1 and ``1e29`` is not a count someone meant."""
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true/false")
    if isinstance(value, float):
        raise ValueError(f"must be a whole number written without a decimal point, not {value!r}")
    return value


def _int_param_bound(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true/false")
    if isinstance(value, int | float) and abs(value) > MAX_INT_PARAM:
        raise ValueError(f"must be within ±2**53 ({MAX_INT_PARAM}); Optuna stores params as floats")
    return value


Whole = Annotated[int, BeforeValidator(_whole)]
OptWhole = Annotated[int | None, BeforeValidator(_whole)]
IntBound = Annotated[int, BeforeValidator(_int_param_bound)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FloatParam(_Model):
    """A real-valued param; ``log`` samples uniformly in log space, ``step`` discretises."""

    type: Literal["float"]
    low: float
    high: float
    log: bool = False
    step: float | None = Field(default=None, gt=0)


class IntParam(_Model):
    """An integer param in ``[low, high]`` (both inclusive)."""

    type: Literal["int"]
    low: IntBound
    high: IntBound
    log: bool = False
    step: Whole = Field(default=1, ge=1)


class CategoricalParam(_Model):
    """One of a list of values (numbers keep their order for analysis)."""

    type: Literal["categorical"]
    choices: list[Scalar] = Field(min_length=1)

    @field_validator("choices")
    @classmethod
    def _unique(cls, choices: list[Any]) -> list[Any]:
        seen: set[tuple[type, Any]] = set()  # a set: 200 000 choices must stay linear
        for choice in choices:
            key = (type(choice), choice)
            if key in seen:
                raise ValueError(f"choice {choice!r} is listed twice")
            seen.add(key)
        return choices


class BoolParam(_Model):
    """true or false."""

    type: Literal["bool"]


Param = Annotated[FloatParam | IntParam | CategoricalParam | BoolParam, Field(discriminator="type")]


class Objective(_Model):
    """What the sweep optimises: one metric the trials report."""

    metric: str = Field(min_length=1, description="name of the metric (a key of the metric lines)")
    direction: Literal["maximize", "minimize"] = Field(default="maximize")
    summary: Literal["best", "last"] = Field(
        default="best",
        description="trial value: best epoch or last epoch (a final line always wins)",
    )


class Baseline(_Model):
    """The reference to beat: a known value, and/or the params that produced it."""

    value: float | None = None
    params: dict[str, Scalar] | None = None
    label: str | None = None


class Metrics(_Model):
    """How trials report per-epoch metrics."""

    format: Literal["jsonl", "regex", "pykt"] = Field(
        default="jsonl",
        description=(
            "jsonl: JSON lines written to $KTTUI_METRICS; regex: named groups of `pattern` "
            "matched on output lines; pykt: pykt-toolkit's per-epoch line"
        ),
    )
    pattern: str | None = Field(default=None, description="regex with named groups (format: regex)")
    source: Literal["stdout", "stderr"] = "stdout"

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is None:
            return None
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
        if not compiled.groupindex:
            raise ValueError("the pattern needs named groups, e.g. (?P<val_loss>[0-9.]+)")
        return pattern


class Strategy(_Model):
    """How configurations are chosen."""

    sampler: Literal[
        "grid", "random", "tpe", "gp", "cmaes", "qmc", "sobol", "extremes+tpe", "list", "ofat"
    ] = "tpe"
    n_trials: OptWhole = Field(
        default=None,
        ge=1,
        le=10_000_000,
        description="trials to run (grid: defaults to every feasible point; list: to every config)",
    )
    seed: OptWhole = None
    configs: list[dict[str, Scalar]] | None = Field(
        default=None, description="sampler: list - the configs to run, in order"
    )
    initial: OptWhole = Field(
        default=None,
        ge=1,
        description="start-up trials (tpe/gp/cmaes); extremes+tpe: size of the forced phase",
    )
    base: dict[str, Scalar] | None = Field(
        default=None, description="ofat: the config to vary around (default: baseline, centre)"
    )
    values: dict[str, list[Scalar]] | None = Field(
        default=None, description="ofat: values to try per param (default: its levels)"
    )


class Repeats(_Model):
    """Run every config once per seed: the only way a config runs more than once."""

    seeds: list[Whole] = Field(min_length=1, description="one run of each config per seed")
    param: str = Field(default="seed", description="the param each run's seed is passed as")

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds):
            raise ValueError("a seed is listed twice")
        return seeds


class Budgets(_Model):
    """Budget tiers (seed 004's 5 -> 20 -> 40 epochs): the best configs of a tier run again
    with the next tier's budget, resuming from their checkpoint when the trainer can."""

    param: str = Field(description="the param that carries the budget, e.g. epochs")
    tiers: list[float] = Field(min_length=2, description="budgets, smallest first")
    promote: float = Field(
        default=1 / 3, gt=0, lt=1, description="share of each tier's results promoted"
    )
    resume: bool = Field(
        default=True, description="give a promoted trial $KTTUI_RESUME_FROM (its tier's trial dir)"
    )

    @field_validator("tiers")
    @classmethod
    def _increasing(cls, tiers: list[float]) -> list[float]:
        if any(b <= a for a, b in itertools.pairwise(tiers)):
            raise ValueError("tiers must increase")
        return [int(t) if float(t).is_integer() else t for t in tiers]


class StopWhen(_Model):
    """Rules that end a sweep before its budget (the runner says which one fired)."""

    target: float | None = Field(default=None, description="stop once a trial reaches it")
    no_improvement_trials: OptWhole = Field(
        default=None, ge=1, description="stop after this many completed trials without a new best"
    )
    regret_below: float | None = Field(
        default=None,
        gt=0,
        description="stop when the estimated room for improvement is below this (e.g. seed noise)",
    )
    min_trials: Whole = Field(default=20, ge=5, description="completed trials before regret_below")


class Pruner(_Model):
    """Early stopping of unpromising trials, decided on each reported epoch."""

    type: Literal["none", "median", "percentile", "asha", "hyperband"] = "none"
    min_epochs: Whole = Field(default=1, ge=0, description="epochs before a trial may be pruned")
    n_startup_trials: Whole = Field(default=5, ge=0, description="trials to finish before pruning")
    percentile: float = Field(default=25.0, gt=0, lt=100)
    reduction_factor: Whole = Field(default=3, ge=2)
    max_epochs: OptWhole = Field(default=None, ge=1, description="hyperband's max resource")


def _gpus(value: Any) -> Any:
    if value == "auto" or value is None:
        return "auto"
    if isinstance(value, bool):
        raise ValueError("must be 'auto', a number of GPUs or a list of GPU indices")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("the number of GPUs cannot be negative")
        return value
    if isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        if len(set(value)) != len(value):
            raise ValueError("a GPU index is listed twice")
        if any(v < 0 for v in value):
            raise ValueError("GPU indices cannot be negative")
        return value
    raise ValueError("must be 'auto', a number of GPUs or a list of GPU indices")


def _cpu_slots(value: Any) -> Any:
    if value == "auto" or value is None:
        return "auto"
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise ValueError("must be 'auto' or a whole number >= 1")


class Slurm(_Model):
    """sbatch options for ``backend: slurm`` (every job: --job-name kttui-SESSION-TRIAL)."""

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    mem: str | None = Field(default=None, description="e.g. 16G")
    time: str | None = Field(
        default=None, description="sbatch --time (default: from timeout_min when set)"
    )
    cpus_per_task: Whole = Field(default=1, ge=1)
    gpus_per_trial: OptWhole = Field(
        default=None, ge=0, description="--gres=gpu:N (default: resources.gpus_per_trial)"
    )
    sbatch_args: list[str] = Field(default_factory=list, description="extra sbatch arguments")
    max_pending: Whole = Field(default=20, ge=1, description="jobs queued at once, at most")
    poll_s: float = Field(default=5.0, gt=0, description="seconds between squeue calls")
    signal: str | None = Field(
        default="B:USR1@120", description="sbatch --signal, so trials can checkpoint in time"
    )
    requeue: bool = Field(default=False, description="let SLURM requeue preempted jobs itself")


class Resources(_Model):
    """Where and how many trials run at once."""

    backend: Literal["local", "slurm"] = "local"
    gpus: Annotated[int | list[int] | Literal["auto"], BeforeValidator(_gpus)] = Field(
        default="auto",
        description="'auto' (detect), N (the first N), a list of indices, or 0 for CPU only",
    )
    trials_per_gpu: Whole = Field(default=1, ge=1)
    gpus_per_trial: Whole = Field(default=1, ge=1)
    cpu_slots: Annotated[int | Literal["auto"], BeforeValidator(_cpu_slots)] = Field(
        default="auto", description="concurrent trials when there is no GPU ('auto': CPU count)"
    )
    max_concurrent: OptWhole = Field(default=None, ge=1)
    timeout_min: float | None = Field(default=None, gt=0)
    retries: Whole = Field(default=0, ge=0, description="re-runs (same params) of a failed trial")
    kill_grace_s: float = Field(
        default=10.0, ge=0, description="seconds between SIGTERM and SIGKILL when stopping a trial"
    )
    slurm: Slurm | None = Field(default=None, description="sbatch options (backend: slurm)")
    pause_after_failures: int = Field(
        default=3,
        ge=0,
        description=(
            "pause launching when the first N trials all fail the same way before any epoch "
            "(a broken command burns no more slots); 0 = never"
        ),
    )


class Spec(_Model):
    """A sweep: what to vary, what to run, what to optimise and with what resources."""

    name: str = Field(pattern=SESSION_NAME_RE, description="short name; used in session ids")
    description: str | None = Field(default=None, description="free text, shown in reports")
    objective: Objective = Field(description="the metric to optimise and its direction")
    baseline: Baseline | None = Field(default=None, description="the reference to beat")
    target: float | None = Field(default=None, description="a value worth reaching")
    command: list[str] = Field(
        min_length=1,
        description="argv list; {param} placeholders are replaced, never run through a shell",
    )
    evaluate: list[list[str]] = Field(
        default_factory=list,
        description="argv lists run after training succeeds, in the trial's slot with the same "
        "placeholders (e.g. pykt's wandb_predict.py); their metric lines become final metrics",
    )
    pass_params: Literal["auto", "flags", "none"] = Field(
        default="auto",
        description=(
            "append params as `--name value`: flags = always (for params without a placeholder), "
            "auto = only when the command has no placeholder"
        ),
    )
    workdir: str | None = Field(default=None, description="relative to the spec file")
    env: dict[str, str] = Field(default_factory=dict, description="extra environment variables")
    metrics: Metrics = Field(default_factory=Metrics, description="how trials report epochs")
    space: dict[str, Param] = Field(min_length=1, description="the params to vary, by name")
    fixed: dict[str, Scalar] = Field(
        default_factory=dict, description="params every trial gets unchanged"
    )
    derived: dict[str, str] = Field(
        default_factory=dict, description="params computed from others, e.g. d_ff: 'd_model * 4'"
    )
    constraints: list[str] = Field(
        default_factory=list, description="expressions every launched config satisfies"
    )
    strategy: Strategy = Field(default_factory=Strategy, description="how configs are chosen")
    pruner: Pruner = Field(default_factory=Pruner, description="early stopping of bad trials")
    stop_when: StopWhen | None = Field(default=None, description="end the sweep early")
    repeats: Repeats | None = Field(
        default=None, description="seeds to run each config with (mean and std are reported)"
    )
    budgets: Budgets | None = Field(
        default=None, description="budget tiers with promotion of the best configs"
    )
    resources: Resources = Field(default_factory=Resources, description="slots, GPUs, limits")
    storage: str | None = Field(
        default=None, description="Optuna RDB URL; default: study.db (SQLite) in the session"
    )

    @field_validator("command")
    @classmethod
    def _no_empty_argv(cls, command: list[str]) -> list[str]:
        if not command[0].strip():
            raise ValueError("the program (first element) is empty")
        return command

    @property
    def param_names(self) -> list[str]:
        return list(self.space)

    @property
    def all_names(self) -> list[str]:
        seed = [self.repeats.param] if self.repeats else []
        budget = [self.budgets.param] if self.budgets else []
        return [*self.space, *self.fixed, *self.derived, *seed, *budget]


#: The models whose keys a user writes, by position in the YAML tree; "*" is a user key.
MODELS_BY_PATH: dict[tuple[str, ...], tuple[type[BaseModel], ...]] = {
    (): (Spec,),
    ("objective",): (Objective,),
    ("baseline",): (Baseline,),
    ("metrics",): (Metrics,),
    ("strategy",): (Strategy,),
    ("pruner",): (Pruner,),
    ("stop_when",): (StopWhen,),
    ("repeats",): (Repeats,),
    ("budgets",): (Budgets,),
    ("resources",): (Resources,),
    ("resources", "slurm"): (Slurm,),
    ("space", "*"): (FloatParam, IntParam, CategoricalParam, BoolParam),
}
