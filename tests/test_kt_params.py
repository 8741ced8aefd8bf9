"""Trainer parameters: defaults < $KTTUI_PARAMS file < argv, aliases, validation (no torch)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kttui.kt.params import ConfigError, TrainConfig, parse_config


def _params_file(tmp_path: Path, data: object) -> dict[str, str]:
    path = tmp_path / "params.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return {"KTTUI_PARAMS": str(path)}


def test_defaults_without_file_or_argv() -> None:
    cfg, warnings = parse_config([], {})
    assert cfg == TrainConfig()
    assert warnings == []


def test_argv_wins_over_file_and_file_over_defaults(tmp_path: Path) -> None:
    env = _params_file(tmp_path, {"model": "sakt", "d_model": 32, "epochs": 7, "dropout": 0.3})
    cfg, _ = parse_config(["--epochs", "3", "--learning_rate", "3e-3"], env)
    assert (cfg.model, cfg.d_model, cfg.dropout) == ("sakt", 32, 0.3)  # from the file
    assert cfg.epochs == 3  # argv beats the file
    assert cfg.learning_rate == pytest.approx(3e-3)  # argv only
    assert cfg.batch_size == TrainConfig().batch_size  # default


def test_aliases_and_spellings(tmp_path: Path) -> None:
    env = _params_file(tmp_path, {"emb_size": 48, "n_blocks": 2, "lr": 0.01})
    cfg, _ = parse_config(["--data-cache", "/c", "--num_attn_heads", "8"], env)
    assert (cfg.d_model, cfg.n_layers, cfg.learning_rate) == (48, 2, 0.01)
    assert (cfg.data_cache, cfg.n_heads) == ("/c", 8)


def test_canonical_name_beats_alias_in_file(tmp_path: Path) -> None:
    env = _params_file(tmp_path, {"d_model": 64, "emb_size": 16})
    assert parse_config([], env)[0].d_model == 64


def test_unknown_file_keys_warn(tmp_path: Path) -> None:
    env = _params_file(tmp_path, {"d_model": 32, "optimizer": "sgd", "note": "x"})
    cfg, warnings = parse_config([], env)
    assert cfg.d_model == 32
    assert len(warnings) == 2
    assert "'optimizer'" in warnings[0] and "'note'" in warnings[1]


def test_sampler_floats_for_ints_are_accepted(tmp_path: Path) -> None:
    env = _params_file(tmp_path, {"d_model": 64.0, "batch_size": "32"})
    cfg, _ = parse_config([], env)
    assert (cfg.d_model, cfg.batch_size) == (64, 32)
    assert isinstance(cfg.d_model, int)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "bkt"], "unknown model 'bkt'"),
        (["--model", "sakt", "--d_model", "30", "--n_heads", "4"], "divisible by n_heads"),
        (["--dropout", "1.5"], "dropout must be in [0, 1)"),
        (["--d_model", "0"], "d_model must be >= 1"),
        (["--d_model", "12.5"], "d_model must be an integer"),
        (["--learning_rate", "-1"], "learning_rate must be > 0"),
        (["--learning_rate", "nan"], "learning_rate must be finite"),
        (["--patience", "-1"], "patience must be >= 0"),
        (["--seq_len", "1"], "seq_len must be >= 2"),
        (["--n_students", "5"], "n_students must be >= 10"),
        (["--no_such_flag", "1"], "unrecognized arguments"),
        (["--epochs"], "expected one argument"),
    ],
)
def test_bad_values_raise(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(argv, {})
    assert message in str(info.value)


def test_dkt_ignores_head_divisibility() -> None:
    cfg, _ = parse_config(["--model", "dkt", "--d_model", "30"], {})
    assert cfg.d_model == 30


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not valid JSON"), ("[1, 2]", "must hold a JSON object")],
)
def test_bad_params_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "p.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        parse_config([], {"KTTUI_PARAMS": str(path)})


def test_missing_params_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        parse_config([], {"KTTUI_PARAMS": str(tmp_path / "absent.json")})


def test_bad_type_in_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="dropout must be a number"):
        parse_config([], _params_file(tmp_path, {"dropout": True}))
