"""``kttui kt export-pykt DIR``: synthetic students in pykt-toolkit's layout."""

from __future__ import annotations

import argparse

from kttui.cli import fail


def cmd_export_pykt(args: argparse.Namespace) -> int:
    from kttui.kt.pykt_export import export_pykt

    if args.students < 10 or args.seq_len < 3 or args.epochs < 1:
        return fail("--students must be >= 10, --seq-len >= 3 and --epochs >= 1", 2)
    try:
        done = export_pykt(
            args.dir,
            dataset=args.dataset,
            students=args.students,
            seq_len=args.seq_len,
            epochs=args.epochs,
            seed=args.seed,
            scripts=args.scripts,
        )
    except ValueError as exc:
        return fail(str(exc), 2)
    except OSError as exc:
        return fail(f"cannot write {exc.filename or args.dir}: {exc.strerror or exc}")
    for path in done.written:
        print(f"wrote {path}")
    for path in done.kept:
        print(f"kept  {path} (exists)")
    print(f"dataset {done.dataset!r}: pass --dataset_name {done.dataset} to pykt's scripts")
    return 0
