"""Spec validation: the canonical spec loads; each bad spec names its file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kttui.cli import main
from kttui.specload import SpecError, load_spec, load_spec_text

CANONICAL = """\
name: dkt-width-lr
objective: {metric: val_auc, direction: maximize, summary: best}
baseline: {value: 0.7181}
command: [python, train.py, --lr, "{lr}", --d_model, "{d_model}", --dropout, "{dropout}"]
metrics: {format: jsonl}
space:
  lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
  d_model: {type: categorical, choices: [64, 128, 256]}
  n_heads: {type: int, low: 1, high: 8}
  dropout: {type: float, low: 0.0, high: 0.5, step: 0.05}
  use_bias: {type: bool}
fixed: {epochs: 20}
derived: {d_ff: "d_model * 4"}
constraints: ["d_model % n_heads == 0"]
strategy: {sampler: tpe, n_trials: 40, seed: 0}
pruner: {type: median, min_epochs: 3}
resources: {backend: local, gpus: auto, trials_per_gpu: 1, timeout_min: 120, retries: 0}
"""


def test_canonical_spec_loads() -> None:
    loaded = load_spec_text(CANONICAL, "c.yaml")
    spec = loaded.spec
    assert spec.objective.metric == "val_auc"
    assert spec.space["d_model"].choices == [64, 128, 256]  # type: ignore[union-attr]
    assert (
        loaded.space.complete(
            {"lr": 1e-3, "d_model": 128, "n_heads": 4, "dropout": 0.1, "use_bias": True}
        )["d_ff"]
        == 512
    )


def test_finite_space_counts_feasible_points(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = CANONICAL.replace(
        "{type: float, low: 1.0e-4, high: 1.0e-2, log: true}",
        "{type: categorical, choices: [0.001, 0.01]}",
    )
    path = tmp_path / "g.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    # 2 lr x 3 d_model x 8 n_heads x 11 dropout x 2 bias = 1056; n_heads must divide
    # 64/128/256: 1, 2, 4, 8 -> 2*3*4*11*2 = 528 feasible
    assert "1,056 points (528 feasible)" in out
    assert out.startswith("OK ")


# (yaml text, line, field path, message fragment)
BAD: list[tuple[str, int, str, str]] = [
    (CANONICAL.replace("metric: val_auc, ", ""), 2, "objective.metric", "required"),
    (
        CANONICAL.replace("direction: maximize", "direction: up"),
        2,
        "objective.direction",
        "'maximize' or 'minimize'",
    ),
    (
        CANONICAL.replace("n_trials: 40", "n_trails: 40"),
        15,
        "strategy.n_trails",
        "did you mean 'n_trials'",
    ),
    (
        CANONICAL.replace("type: float, low: 1.0e-4", "type: flaot, low: 1.0e-4"),
        7,
        "space.lr",
        "unknown type 'flaot'",
    ),
    (
        CANONICAL.replace("low: 0.0, high: 0.5", "low: 0.5, high: 0.0"),
        10,
        "space.dropout.high",
        "greater than low",
    ),
    (CANONICAL.replace("low: 1.0e-4, high", "low: 0.0, high"), 7, "space.lr.low", "log range"),
    (CANONICAL.replace("step: 0.05", "step: 0.07"), 10, "space.dropout.step", "does not divide"),
    (
        CANONICAL.replace('"d_model * 4"', '"d_model * 4 +"'),
        13,
        "derived.d_ff",
        "invalid expression",
    ),
    (
        CANONICAL.replace('"d_model % n_heads == 0"', '"d_modle % n_heads == 0"'),
        14,
        "constraints[0]",
        "unknown name(s): d_modle",
    ),
    (
        CANONICAL.replace('"d_model * 4"', "\"__import__('os')\""),
        13,
        "derived.d_ff",
        "only these functions",
    ),
    (CANONICAL.replace('"{dropout}"', '"{dropuot}"'), 4, "command[7]", "did you mean {dropout}"),
    (
        CANONICAL.replace("trials_per_gpu: 1", "trials_per_gpu: 0"),
        17,
        "resources.trials_per_gpu",
        "greater than or equal to 1",
    ),
    (CANONICAL.replace("gpus: auto", "gpus: lots"), 17, "resources.gpus", "'auto', a number"),
    (
        CANONICAL.replace("choices: [64, 128, 256]", "choices: [64, 64]"),
        8,
        "space.d_model.choices",
        "listed twice",
    ),
    (
        CANONICAL.replace("fixed: {epochs: 20}", "fixed: {lr: 20}"),
        12,
        "fixed.lr",
        "also defined in space",
    ),
    (
        CANONICAL.replace("sampler: tpe, n_trials: 40", "sampler: tpe"),
        15,
        "strategy.sampler",
        "needs `n_trials`",
    ),
    (
        CANONICAL.replace("sampler: tpe, n_trials: 40", "sampler: grid"),
        7,
        "space.lr",
        "grid search",
    ),
    (
        CANONICAL.replace("{format: jsonl}", "{format: regex}"),
        5,
        "metrics.format",
        "needs a `pattern`",
    ),
    (
        CANONICAL.replace("{format: jsonl}", "{format: regex, pattern: '(unclosed'}"),
        5,
        "metrics.pattern",
        "invalid regular expression",
    ),
    (CANONICAL.replace("name: dkt-width-lr", "name: dkt width/lr"), 1, "name", "match pattern"),
    (
        CANONICAL.replace(
            'derived: {d_ff: "d_model * 4"}', 'derived: {d_ff: "d_x * 4", d_x: "d_ff / 4"}'
        ),
        13,
        "derived.d_ff",
        "circular",
    ),
    (CANONICAL + "colour: blue\n", 18, "colour", "unknown key 'colour'"),
    (
        CANONICAL.replace("baseline: {value: 0.7181}", "baseline: {params: {width: 3}}"),
        3,
        "baseline.params.width",
        "not a param",
    ),
    (CANONICAL.replace("command: [python,", 'command: ["",'), 4, "command", "program"),
    (
        CANONICAL.replace(
            "  use_bias: {type: bool}\n", "  use_bias: {type: bool}\n  use_bias: {type: bool}\n"
        ),
        12,
        "",
        "duplicate key",
    ),
    ("name: [unclosed\n", 2, "", "YAML"),
    ("- just\n- a list\n", 1, "", "must be a mapping"),
    (CANONICAL.replace("{epochs: 20}", "{epochs: !!python/object:os.system ls}"), 12, "", "YAML"),
]


@pytest.mark.parametrize(
    ("text", "line", "path", "fragment"), BAD, ids=[f"{b[2] or 'yaml'}-{b[3]}" for b in BAD]
)
def test_bad_spec_names_line_and_field(text: str, line: int, path: str, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        load_spec_text(text, "bad.yaml")
    rendered = [str(i) for i in info.value.issues]
    expected_prefix = f"bad.yaml:{line}: " + (f"{path}: " if path else "")
    hits = [r for r in rendered if r.startswith(expected_prefix) and fragment in r]
    assert hits, f"no issue starting {expected_prefix!r} containing {fragment!r} in {rendered}"


def test_cli_validate_bad_spec_exit_2_no_traceback(tmp_path: Path) -> None:
    from tests.conftest import kttui

    bad = tmp_path / "bad.yaml"
    bad.write_text(CANONICAL.replace("n_trials: 40", "n_trails: 40"))
    proc = kttui("validate", str(bad))
    assert proc.returncode == 2
    assert (
        f"{bad}:15: strategy.n_trails: unknown key 'n_trails' (did you mean 'n_trials'?)"
        in proc.stderr
    )
    assert "Traceback" not in proc.stderr
    missing = kttui("validate", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_every_example_spec_validates() -> None:
    specs = sorted((Path(__file__).parent.parent / "specs").glob("*.yaml"))
    assert specs
    for path in specs:
        load_spec(path)


def test_schema_is_json_and_lists_fields(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    assert main(["schema", "-o", str(out)]) == 0
    schema = json.loads(out.read_text())
    assert {"name", "objective", "space", "command", "strategy", "resources"} <= set(
        schema["properties"]
    )
    assert "additionalProperties" in json.dumps(schema)
