"""The sweep spec: pydantic models of what a user writes in a YAML file.

These models are the edge of the system: everything a spec may contain is
declared here or in its two parts, :mod:`kttui.specparams` (the space's params
and shared field types) and :mod:`kttui.specresources` (``resources``), and
nowhere else. The JSON Schema and the README's spec reference are generated from
them, and :mod:`kttui.specload` turns their validation errors into
``FILE:LINE: field: message`` lines.
"""

from __future__ import annotations

import itertools
import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from kttui.specparams import (
    BoolParam,
    CategoricalParam,
    FloatParam,
    IntParam,
    OptWhole,
    Param,
    Scalar,
    SpecModel,
    Whole,
)
from kttui.specresources import Resources, Slurm

NAME_RE = r"^[A-Za-z_][A-Za-z0-9_]*$"
SESSION_NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
#: Placeholders every command may use besides the params.
BUILTIN_PLACEHOLDERS = ("python", "trial_number", "trial_dir", "session_dir")


class Objective(SpecModel):
    """What the sweep optimises: one metric the trials report."""

    metric: str = Field(min_length=1, description="name of the metric (a key of the metric lines)")
    direction: Literal["maximize", "minimize"] = Field(default="maximize")
    summary: Literal["best", "last"] = Field(
        default="best",
        description="trial value: best epoch or last epoch (a final line always wins)",
    )


class Baseline(SpecModel):
    """The reference to beat: a known value, and/or the params that produced it."""

    value: float | None = None
    params: dict[str, Scalar] | None = None
    label: str | None = None


class Metrics(SpecModel):
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


class Strategy(SpecModel):
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


class Repeats(SpecModel):
    """Run every config once per seed: the only way a config runs more than once."""

    seeds: list[Whole] = Field(min_length=1, description="one run of each config per seed")
    param: str = Field(default="seed", description="the param each run's seed is passed as")

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds):
            raise ValueError("a seed is listed twice")
        return seeds


class Budgets(SpecModel):
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


class StopWhen(SpecModel):
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


class Pruner(SpecModel):
    """Early stopping of unpromising trials, decided on each reported epoch."""

    type: Literal["none", "median", "percentile", "asha", "hyperband"] = "none"
    min_epochs: Whole = Field(default=1, ge=0, description="epochs before a trial may be pruned")
    n_startup_trials: Whole = Field(default=5, ge=0, description="trials to finish before pruning")
    percentile: float = Field(default=25.0, gt=0, lt=100)
    reduction_factor: Whole = Field(default=3, ge=2)
    max_epochs: OptWhole = Field(default=None, ge=1, description="hyperband's max resource")


class Spec(SpecModel):
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
