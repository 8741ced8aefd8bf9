"""Spec YAML in the house style, so a generated spec reads like a hand-written one.

Small mappings and scalar lists go in flow style, end-of-line comments carry the
reason for each entry, and floats are written so that every YAML reader takes
them for numbers.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.representer import RoundTripRepresenter

#: Keys whose mappings stay in block style even when flat: people edit them line by line.
BLOCK_KEYS = ("fixed", "derived", "env", "space", "params")


class _SpecRepresenter(RoundTripRepresenter):
    """Floats as 1.0e-05, not 1e-05: YAML 1.1 readers (PyYAML) take the latter for a string."""


def float_text(data: float) -> str:
    """A float as YAML 1.1 and 1.2 readers both read back as a float."""
    if math.isnan(data):
        return ".nan"
    if math.isinf(data):
        return ".inf" if data > 0 else "-.inf"
    text = repr(data)
    mantissa, _, exponent = text.partition("e")
    if exponent and "." not in mantissa:
        text = f"{mantissa}.0e{exponent}"
    return text


def _represent_float(representer: RoundTripRepresenter, data: float) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:float", float_text(data))


_SpecRepresenter.add_representer(float, _represent_float)


_EOL_COMMENT = re.compile(r"^(\s*[^#\s'\"][^#'\"]*?\S) +#(?= )", re.MULTILINE)


def dump(data: CommentedMap) -> str:
    yaml = YAML()
    yaml.Representer = _SpecRepresenter
    yaml.width = 200
    yaml.indent(mapping=2, sequence=4, offset=2)
    buf = io.StringIO()
    yaml.dump(data, buf)
    # ruamel puts one space before the first end-of-line comment and two before the rest.
    return _EOL_COMMENT.sub(r"\1  #", buf.getvalue())


def flow(mapping: Mapping[str, Any]) -> CommentedMap:
    """A one-line mapping (a space entry, a config), its lists one-line too."""
    out = CommentedMap()
    for k, v in mapping.items():
        out[k] = flow_seq(v) if isinstance(v, list) else v
    out.fa.set_flow_style()
    return out


def flow_seq(items: list[Any]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def to_yaml(value: Any, key: str) -> Any:
    """Spec values as ruamel nodes: small mappings and scalar lists in flow style."""
    if key == "command" and isinstance(value, list):
        return flow_seq([str(v) for v in value])
    if isinstance(value, Mapping):
        inner = CommentedMap()
        for k, v in value.items():
            inner[k] = to_yaml(v, str(k))
        flat = all(
            not isinstance(v, Mapping)
            and not (isinstance(v, list) and any(isinstance(x, Mapping | list) for x in v))
            for v in value.values()
        )
        if flat and key not in BLOCK_KEYS:
            inner.fa.set_flow_style()
        return inner
    if isinstance(value, list):
        if all(not isinstance(v, Mapping | list) for v in value):
            return flow_seq(list(value))
        seq = CommentedSeq()
        for v in value:
            seq.append(to_yaml(v, key))
        return seq
    return value


def spec_yaml(spec: Mapping[str, Any]) -> str:
    """``spec`` (a plain dict) as kttui spec YAML in the house style."""
    out = CommentedMap()
    for key, value in spec.items():
        out[key] = to_yaml(value, str(key))
    return dump(out)


def copy_except(base: Mapping[str, Any], skip: tuple[str, ...]) -> CommentedMap:
    """The base spec's other keys, in its order, for a generated spec to keep."""
    spec = CommentedMap()
    for key, value in base.items():
        if key not in skip:
            spec[key] = to_yaml(value, key)
    return spec
