"""The ``kttui`` command: an argparse front over the session services.

Sub-commands import what they need when they run, so ``kttui --help`` stays
as fast as a bare Python start (no pydantic, Optuna, pandas or Textual).
Every failure the user can cause ends in a one-line message and exit code 2
(bad input) or 1 (the operation failed), never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from kttui import __version__

Handler = Callable[[argparse.Namespace], int]


def _add_store(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sessions-dir",
        metavar="DIR",
        help="session store (default: $KTTUI_HOME, else ./sessions)",
    )


def build_parser() -> argparse.ArgumentParser:
    from kttui.cli.completion import SHELLS, Parser

    parser = Parser(
        prog="kttui",
        description="Keyboard-driven console for hyperparameter sweeps "
        "(with no command: open the console).",
    )
    parser.add_argument("--version", action="version", version=f"kttui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help="start a sweep from a spec (detached)")
    p.add_argument("spec", help="spec YAML file")
    p.add_argument("--foreground", action="store_true", help="run here with a progress bar")
    p.add_argument(
        "--configs", metavar="CSV", help="run exactly these configs (one per row; sampler: list)"
    )
    _add_store(p)
    p.set_defaults(handler="kttui.cli.run:cmd_run")

    p = sub.add_parser("resume", help="restart the runner of a stopped or crashed session")
    p.add_argument("session", nargs="?", help="session id, prefix or path (default: latest)")
    p.add_argument("--foreground", action="store_true", help="run here with a progress bar")
    _add_store(p)
    p.set_defaults(handler="kttui.cli.run:cmd_resume")

    p = sub.add_parser("demo", help="run a real KT sweep (DKT/SAKT, synthetic data) on the CPU")
    p.add_argument("--spec", help="spec to run (default: specs/kt-demo.yaml, written if absent)")
    p.add_argument("--no-tui", action="store_true", help="progress bar instead of the console")
    p.add_argument("--trials", type=int, help="number of trials (default: the spec's)")
    p.add_argument("--students", type=int, help="synthetic students (default 2000)")
    _add_store(p)
    p.set_defaults(handler="kttui.cli.demo:cmd_demo")

    p = sub.add_parser("report", help="Markdown analysis of a session (and next specs)")
    p.add_argument("session", nargs="?", help="session id, prefix or path (default: latest)")
    p.add_argument("-o", "--output", help="Markdown file (default: SESSION/report.md)")
    p.add_argument("--refine", metavar="YAML", help="write a refined next spec (+ .conservative)")
    p.add_argument("--proposals", metavar="YAML", help="write supplementary trials as a spec")
    p.add_argument("--csv-dir", metavar="DIR", help="also export every table as CSV")
    p.add_argument("--top", type=int, default=10, help="rows in the top-N table")
    _add_store(p)
    p.set_defaults(handler="kttui.cli.report:cmd_report")

    p = sub.add_parser("import", help="import results (CSV, Optuna study, experiment folders)")
    isub = p.add_subparsers(dest="source", metavar="SOURCE", required=True)
    q = isub.add_parser("csv", help="a table with one row per trial")
    q.add_argument("file")
    q.add_argument("--objective", required=True, help="the objective column")
    q.add_argument("--direction", default="max", choices=["max", "min", "maximize", "minimize"])
    q.add_argument("--params", help="comma-separated param columns (default: detected)")
    q.add_argument("--id", help="column naming each trial")
    q.add_argument("--baseline", help="the baseline: a value of the --id column, or a number")
    _add_store(q)
    q.set_defaults(handler="kttui.cli.imports:cmd_import")
    q = isub.add_parser("optuna", help="an Optuna study (sqlite:///..., postgresql://...)")
    q.add_argument("url")
    q.add_argument("--study", help="study name (needed when the storage has several)")
    q.add_argument("--metric", default="value", help="name of the study's objective")
    _add_store(q)
    q.set_defaults(handler="kttui.cli.imports:cmd_import")
    q = isub.add_parser("dirs", help="experiment folders with config.json/eval_results.json")
    q.add_argument("dir")
    q.add_argument("--objective", default="test_auc", help="key of eval_results.json")
    q.add_argument("--direction", default="max", choices=["max", "min", "maximize", "minimize"])
    _add_store(q)
    q.set_defaults(handler="kttui.cli.imports:cmd_import")

    p = sub.add_parser("kt", help="knowledge-tracing data tools")
    ksub = p.add_subparsers(dest="kt_command", metavar="TOOL", required=True)
    q = ksub.add_parser(
        "export-pykt", help="write synthetic students as a pykt-toolkit dataset (data + configs)"
    )
    q.add_argument("dir", help="pykt's root (holds configs/, data/, examples/)")
    q.add_argument("--dataset", default="kttui_synthetic", help="name in data_config.json")
    q.add_argument("--students", type=int, default=300)
    q.add_argument("--seq-len", type=int, default=50)
    q.add_argument("--epochs", type=int, default=2, help="num_epochs of a new kt_config.json")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument(
        "--scripts", action="store_true", help="also write launchers for a pip-installed pykt"
    )
    q.set_defaults(handler="kttui.cli.pykt:cmd_export_pykt")

    p = sub.add_parser("validate", help="check spec files")
    p.add_argument("specs", nargs="+", metavar="SPEC")
    p.set_defaults(handler="kttui.cli.spec:cmd_validate")

    p = sub.add_parser("schema", help="print the JSON Schema of specs (for editors)")
    p.add_argument("-o", "--output", help="write to a file instead of stdout")
    p.set_defaults(handler="kttui.cli.spec:cmd_schema")

    p = sub.add_parser("status", help="state of a session")
    p.add_argument("session", nargs="?", help="session id, prefix or path (default: latest)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _add_store(p)
    p.set_defaults(handler="kttui.cli.inspect:cmd_status")

    p = sub.add_parser("sessions", help="all sessions in the store")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--storage", metavar="URL", help="list the studies of a database instead (read-only)"
    )
    _add_store(p)
    p.set_defaults(handler="kttui.cli.inspect:cmd_sessions")

    for name, text in (
        ("pause", "stop launching new trials (running ones go on)"),
        ("resume-launch", "launch trials again after a pause"),
        ("stop", "finish the running trials, launch no more, then exit"),
        ("shutdown", "kill the running trials and exit the runner"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("session", nargs="?", help="session id, prefix or path (default: latest)")
        _add_store(p)
        p.set_defaults(handler="kttui.cli.control:cmd_control", action=name)

    p = sub.add_parser("attach", help="open the console on a session's dashboard")
    p.add_argument(
        "session", nargs="?", help="session id, prefix or path (default: latest running)"
    )
    p.add_argument("--storage", metavar="URL", help="a study that lives only in a database")
    p.add_argument("--study", help="with --storage: the study name (if there are several)")
    _add_store(p)
    p.set_defaults(handler="kttui.cli.tui:cmd_attach")

    p = sub.add_parser("enqueue", help="add a config to a running sweep")
    p.add_argument("session", help="session id, prefix or path")
    p.add_argument("params", nargs="+", metavar="KEY=VALUE", help="param values (others: best)")
    _add_store(p)
    p.set_defaults(handler="kttui.cli.control:cmd_enqueue")

    p = sub.add_parser("kill", help="kill one running trial")
    p.add_argument("session", help="session id, prefix or path")
    p.add_argument("trial", type=int, help="trial number")
    _add_store(p)
    p.set_defaults(handler="kttui.cli.control:cmd_kill")

    p = sub.add_parser("completion", help="print tab completion code for a shell")
    p.add_argument("shell", choices=SHELLS, help="e.g. `source <(kttui completion bash)`")
    p.set_defaults(handler="kttui.cli.completion:cmd_completion")
    return parser


def _resolve(spec: str) -> Handler:
    module_name, func = spec.split(":")
    import importlib

    module = importlib.import_module(module_name)
    handler: Handler = getattr(module, func)
    return handler


def main(argv: list[str] | None = None) -> int:
    from kttui.cli.completion import complete_if_asked

    parser = build_parser()
    complete_if_asked(parser)  # a shell asking for completions gets them, then we exit
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        args.handler = "kttui.cli.tui:cmd_tui"  # no command: open the console
    handler = _resolve(args.handler)
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("kttui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def fail(message: str, code: int = 1) -> int:
    print(f"kttui: {message}", file=sys.stderr)
    return code
