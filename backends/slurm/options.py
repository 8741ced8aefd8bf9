"""The SLURM backend's options: the spec's ``resources.slurm`` block, checked, with defaults.

Options reach the backend as a plain mapping (``BackendConfig.options``), so they are
checked again here: a backend built by hand (a benchmark, a test) gets the same
one-line errors as one built from a spec.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kttui.backends.base import BackendError, Resources

DEFAULT_MAX_PENDING = 20
DEFAULT_POLL_S = 5.0
DEFAULT_SIGNAL = "B:USR1@120"

#: Options read from ``BackendConfig.options`` (anything else is an error).
OPTION_KEYS = frozenset(
    {
        "partition",
        "account",
        "qos",
        "mem",
        "time",
        "cpus_per_task",
        "gpus_per_trial",
        "sbatch_args",
        "max_pending",
        "poll_s",
        "signal",
        "requeue",
    }
)


def options_from_resources(resources: Resources) -> dict[str, Any]:
    """The options a spec's ``resources`` gives the backend.

    ``time`` defaults to the runner's timeout plus a minute, so the runner acts first;
    ``gpus_per_trial`` to the spec's (0 for ``gpus: 0``). A ``signal: null`` in the spec
    means no signal, so it is kept while other unset options are dropped.
    """
    dumped = resources.slurm.model_dump() if resources.slurm is not None else {}
    options = {k: v for k, v in dumped.items() if v is not None or k == "signal"}
    if "time" not in options and resources.timeout_min:
        options["time"] = str(int(resources.timeout_min) + 1)
    options.setdefault("gpus_per_trial", 0 if resources.gpus == 0 else resources.gpus_per_trial)
    return options


@dataclass(frozen=True)
class SlurmOptions:
    """``BackendConfig.options`` checked and with defaults."""

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    mem: str | None = None
    time: str | None = None
    cpus_per_task: int = 1
    gpus_per_trial: int | None = None  # None: from BackendConfig (see SlurmBackend)
    sbatch_args: tuple[str, ...] = ()
    max_pending: int = DEFAULT_MAX_PENDING
    poll_s: float = DEFAULT_POLL_S
    signal: str | None = DEFAULT_SIGNAL
    requeue: bool = False

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> SlurmOptions:
        unknown = sorted(set(raw) - OPTION_KEYS)
        if unknown:
            known = ", ".join(sorted(OPTION_KEYS))
            raise BackendError(f"unknown slurm option(s) {unknown} (known: {known})")

        def check(value: str, key: str) -> str:
            if not value or any(c in value for c in '"\\\n\r') or value != value.strip():
                raise BackendError(f"slurm option {key}={value!r} is empty or has a quote")
            return value

        def text(key: str) -> str | None:
            value = raw.get(key)
            return None if value is None else check(str(value), key)

        def integer(key: str, default: int | None, low: int) -> int | None:
            value = raw.get(key, default)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise BackendError(f"slurm option {key} must be an integer >= {low}")
            return value

        sbatch_args = raw.get("sbatch_args") or []
        if isinstance(sbatch_args, str) or not all(isinstance(a, str) for a in sbatch_args):
            raise BackendError("slurm option sbatch_args must be a list of strings")
        poll_s = raw.get("poll_s", DEFAULT_POLL_S)
        if isinstance(poll_s, bool) or not isinstance(poll_s, int | float) or poll_s < 0:
            raise BackendError("slurm option poll_s must be a number >= 0")
        time_limit = raw.get("time")
        if isinstance(time_limit, int | float) and not isinstance(time_limit, bool):
            time_limit = str(max(1, math.ceil(time_limit)))  # minutes
        signal_opt = raw.get("signal", DEFAULT_SIGNAL)
        return cls(
            partition=text("partition"),
            account=text("account"),
            qos=text("qos"),
            mem=text("mem"),
            time=text("time") if time_limit is None else str(time_limit),
            cpus_per_task=integer("cpus_per_task", 1, 1) or 1,
            gpus_per_trial=integer("gpus_per_trial", None, 0),
            sbatch_args=tuple(sbatch_args),
            max_pending=integer("max_pending", DEFAULT_MAX_PENDING, 1) or DEFAULT_MAX_PENDING,
            poll_s=float(poll_s),
            signal=None if signal_opt in (None, "", False) else check(str(signal_opt), "signal"),
            requeue=bool(raw.get("requeue", False)),
        )
