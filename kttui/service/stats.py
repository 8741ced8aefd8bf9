"""The advice pane and the session report, taken from :mod:`kttui.analysis` and :mod:`kttui.report`.

Nothing here computes an importance or a finding of its own: the console shows
the report's numbers, so the two can never disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kttui.atomicfile import write_text_atomic
from kttui.best import ranked
from kttui.mdtable import md_table, md_value
from kttui.safetext import format_value, md_code, md_escape
from kttui.service import ServiceError
from kttui.service.rows import TrialRow
from kttui.service.watch import SessionWatcher
from kttui.session import Session

#: Below this many completed trials the pane shows the best config only.
MIN_ANALYSIS_TRIALS = 3


@dataclass(frozen=True)
class Stats:
    """The advice pane's text and the report analysis behind it (None: too few trials).

    The console's importance chart and pair view read the same analysis, so the
    numbers they show are the report's.
    """

    markdown: str
    analysis: Any = None  # kttui.service.analysis_proc.ChartAnalysis


def recommendations_markdown(
    session: Session, rows: Sequence[TrialRow], *, maximize: bool = True, metric: str = "value"
) -> str:
    """The recommendations pane's Markdown (see :func:`session_stats`)."""
    return session_stats(session, rows, maximize=maximize, metric=metric).markdown


def session_stats(
    session: Session,
    rows: Sequence[TrialRow],
    *,
    maximize: bool = True,
    metric: str = "value",
    cancelled: Callable[[], bool] = lambda: False,
) -> Stats:
    """The recommendations pane: best config, the report's findings and elite analysis,
    per-param values of the top trials, failures.

    The findings come from :func:`kttui.report.render_recommendations`, the functions
    ``kttui report`` and the ``x`` key use, computed in the analysis process
    (:mod:`kttui.service.analysis_proc`); this waits for it in a worker thread
    (``cancelled`` ends the wait).
    """
    done = [r for r in rows if r.state == "complete" and r.value is not None]
    out = [f"**Recommendations** ({len(done)} complete of {len(rows)} trials)"]
    # only finite values rank: a NaN/inf trial is never shown as the best config
    ordered = ranked(sorted(done, key=lambda r: r.number), lambda r: r.value, maximize)
    if not ordered:
        out.append(
            "\nNo completed trial with a finite value yet." if done else "\nNo completed trial yet."
        )
    else:
        best = ordered[0]
        value = format_value(best.value)
        out.append(f"\n### Best config: trial {best.number}, {metric} = {value}\n")
        out += [f"- {md_code(k)} = {md_escape(format_value(v))}" for k, v in best.params]
        top = ordered[: max(3, len(ordered) // 10)]
        out.append(f"\n### Per-param values of the top {len(top)} trials\n")
        table_rows = []
        for name in param_names(top):
            values = [r.param(name) for r in top if r.param(name) is not None]
            numeric = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
            if numeric and len(numeric) == len(values):
                span = f"{format_value(min(numeric))} … {format_value(max(numeric))}"
            else:
                common = Counter(format_value(v) for v in values).most_common(3)
                span = ", ".join(f"{v} ×{n}" for v, n in common)
            table_rows.append([md_escape(name), md_value(best.param(name)), md_escape(span)])
        out.append(md_table(["param", "best", "top range"], table_rows))
    analysis = None
    if len(done) >= MIN_ANALYSIS_TRIALS:
        from kttui.service.analysis_proc import ANALYSIS, AnalysisError, analyze_session

        try:  # in the analysis process: it holds the GIL for seconds on big sweeps
            text, analysis = ANALYSIS.call(analyze_session, session.path, cancelled=cancelled)
            out.append("\n" + text)
        except AnalysisError as exc:  # the analysis must never take the console down
            out.append(f"\n(analysis unavailable: {exc})")
    failed = [r for r in rows if r.state == "fail"]
    out.append(f"\n### Failed trials ({len(failed)})\n")
    if not failed:
        out.append("None.")
    else:
        reasons = Counter((r.reason or "unknown").split("\n")[0][:80] for r in failed)
        table_rows = []
        for reason, n in reasons.most_common(8):
            numbers = [str(r.number) for r in failed if (r.reason or "unknown")[:80] == reason]
            shown = ", ".join(numbers[:6]) + (" …" if len(numbers) > 6 else "")
            table_rows.append([f"{md_escape(reason)} ({n})", shown])
        out.append(md_table(["reason", "trials"], table_rows))
    return Stats("\n".join(out) + "\n", analysis)


def report_markdown(session: Session) -> str:
    """The whole Markdown report of a session: :mod:`kttui.report`'s analysis.

    A session without trials gets the summary of :func:`summary_markdown` instead.
    """
    from kttui.analysis.load import load_session, session_spec
    from kttui.report import render_report

    table = load_session(session)
    if table.df.empty:
        return summary_markdown(session)
    spec = session_spec(session)
    try:
        return render_report(table, spec=spec, command=(spec or {}).get("command"))
    except Exception as exc:  # the analysis must never take the console down
        raise ServiceError(f"the report failed: {type(exc).__name__}: {exc}") from exc


def summary_markdown(session: Session) -> str:
    """A short Markdown summary of a session, from its status files only."""
    watcher = SessionWatcher(session, follow_metrics=False)
    watcher.poll()
    rows = sorted(watcher.rows.values(), key=lambda r: r.number)
    info = session.info()
    counts = watcher.counts()
    head = [
        f"# Sweep report: {session.id}",
        "",
        f"- state: {watcher.runner.state}",
        f"- objective: {watcher.metric} ({watcher.direction})",
        f"- created: {info.get('created', '-')}",
        f"- trials: {len(rows)} ({counts.get('complete', 0)} complete, "
        f"{counts.get('running', 0)} running, {counts.get('pruned', 0)} pruned, "
        f"{counts.get('fail', 0)} failed)",
    ]
    baseline = (info.get("baseline") or {}).get("value")
    if baseline is not None:
        head.append(f"- baseline: {format_value(baseline)}")
    body = recommendations_markdown(session, rows, maximize=watcher.maximize, metric=watcher.metric)
    watcher.close()
    return "\n".join(head) + "\n\n" + body


def export_report(session: Session) -> Path:
    """Write ``<session>/report.md`` and return its path.

    The report is computed in the analysis process (:mod:`kttui.service.analysis_proc`):
    on a big sweep it takes minutes of GIL-bound work the console must not wait behind.
    """
    from kttui.service.analysis_proc import ANALYSIS, AnalysisError

    try:
        path, problem = ANALYSIS.call(write_report, session.path)
    except AnalysisError as exc:
        raise ServiceError(f"the report failed: {exc}") from None
    if problem:
        raise ServiceError(problem)
    return Path(path)


def write_report(where: Path) -> tuple[Path, str]:
    """(In the analysis process) write the report; its path and a problem ("" if none)."""
    session = Session(where)
    path = session.path / "report.md"
    try:
        write_text_atomic(path, report_markdown(session))
    except ServiceError as exc:
        return path, str(exc)
    except OSError as exc:
        return path, f"cannot write {path}: {exc.strerror}"
    return path, ""


def param_names(rows: Iterable[TrialRow]) -> list[str]:
    names: set[str] = set()
    for row in rows:
        names.update(k for k, _ in row.params)
    return sorted(names)
