"""``kttui report``: the Markdown analysis of a session, plus refined specs and proposals."""

from __future__ import annotations

import argparse
from pathlib import Path

from kttui.cli import fail


def cmd_report(args: argparse.Namespace) -> int:
    from kttui.analysis.load import load_session, session_spec
    from kttui.report import export_csv, markdown_of, report_sections
    from kttui.session import Session, SessionError, default_store

    try:
        session = Session.open(default_store(args.sessions_dir), args.session)
    except SessionError as exc:
        return fail(str(exc))
    table = load_session(session)
    if table.df.empty:
        return fail(f"{session.id} has no trials yet")
    spec = session_spec(session)
    command = (spec or {}).get("command")
    # One set of sections for the Markdown and the CSV: the two cannot disagree.
    sections = report_sections(table, spec=spec, top_n=args.top, command=command)
    text = markdown_of(sections)
    out = Path(args.output) if args.output else session.path / "report.md"
    written = [out]
    try:
        out.write_text(text, encoding="utf-8")
        if args.csv_dir:
            written += export_csv(table, args.csv_dir, spec=spec, sections=sections)
        if args.refine or args.proposals:
            written += _recommendations(table, spec, args)
    except OSError as exc:
        return fail(f"cannot write {exc.filename}: {exc.strerror}")
    for path in written:
        print(path)
    return 0


def _recommendations(table: object, spec: dict | None, args: argparse.Namespace) -> list[Path]:
    from kttui.analysis.overview import analyze
    from kttui.recommend.proposals import proposals_yaml, supplementary_trials
    from kttui.recommend.refine import refined_specs

    analysis = analyze(table)  # type: ignore[arg-type]
    written: list[Path] = []
    if args.refine:
        aggressive, conservative = refined_specs(table, spec, analysis=analysis)  # type: ignore[arg-type]
        path = Path(args.refine)
        path.write_text(aggressive.yaml_text, encoding="utf-8")
        other = path.with_name(f"{path.stem}.conservative{path.suffix or '.yaml'}")
        other.write_text(conservative.yaml_text, encoding="utf-8")
        written += [path, other]
    if args.proposals:
        trials = supplementary_trials(table, analysis=analysis, base_spec=spec)  # type: ignore[arg-type]
        path = Path(args.proposals)
        path.write_text(proposals_yaml(table, trials, spec), encoding="utf-8")  # type: ignore[arg-type]
        written.append(path)
    return written
