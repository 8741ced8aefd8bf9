"""``kttui import csv|optuna|dirs``: other results as read-only sessions."""

from __future__ import annotations

import argparse
from pathlib import Path

from kttui.cli import fail


def cmd_import(args: argparse.Namespace) -> int:
    from kttui.importers import ImportError_, write_session
    from kttui.session import default_store

    raw = getattr(args, "direction", "max")
    direction = {"max": "maximize", "min": "minimize"}.get(raw, raw)
    try:
        if args.source == "csv":
            from kttui.importers.csv_source import read_csv

            params = [p.strip() for p in args.params.split(",")] if args.params else None
            imp = read_csv(
                Path(args.file),
                objective=args.objective,
                direction=direction,
                params=params,
                id_column=args.id,
                baseline=args.baseline,
            )
        elif args.source == "optuna":
            from kttui.importers.optuna_source import read_study

            imp = read_study(args.url, args.study, metric=args.metric)
        else:
            from kttui.importers.dirs_source import read_dirs

            imp = read_dirs(Path(args.dir), objective=args.objective, direction=direction)
        session = write_session(default_store(args.sessions_dir), imp)
    except ImportError_ as exc:
        return fail(str(exc), code=2)
    except OSError as exc:
        return fail(f"cannot write the session: {exc.strerror or exc}")
    states = [t.state for t in imp.trials]
    print(
        f"{session.id}: imported {len(states)} trials ({states.count('complete')} complete, "
        f"{states.count('incomplete')} incomplete) with params {', '.join(imp.params)}"
    )
    print(f"  kttui report {session.id}")
    return 0
