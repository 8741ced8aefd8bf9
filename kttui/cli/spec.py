"""``kttui validate`` and ``kttui schema``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kttui.cli import fail


def cmd_validate(args: argparse.Namespace) -> int:
    from kttui.space import describe_size
    from kttui.specload import SpecError, load_spec

    status = 0
    for path in args.specs:
        try:
            loaded = load_spec(path)
        except SpecError as exc:
            for issue in exc.issues:
                print(issue, file=sys.stderr)
            status = 2
            continue
        spec = loaded.spec
        strategy = spec.strategy
        trials = f"{strategy.n_trials} trials" if strategy.n_trials else "every feasible point"
        print(
            f"OK {path}: {spec.name}: {describe_size(loaded.space)}; "
            f"{strategy.sampler}, {trials}; {spec.objective.direction} {spec.objective.metric}"
        )
    return status


def schema_text() -> str:
    from kttui.spec import Spec

    schema = Spec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "kttui sweep spec"
    return json.dumps(schema, indent=2) + "\n"


def cmd_schema(args: argparse.Namespace) -> int:
    text = schema_text()
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            return fail(f"cannot write {args.output}: {exc.strerror}")
        return 0
    sys.stdout.write(text)
    return 0
