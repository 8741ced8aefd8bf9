"""What the user chose to look at in a session, kept across `kttui attach`.

Sort, filter, the current pane and chart live in a small JSON file in the
session directory, so re-attaching over a flaky SSH link shows the same view.
A missing or damaged file means defaults: remembering a view is a comfort,
never a reason to fail.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from kttui.atomicfile import write_json_atomic

FILE_NAME = "console-view.json"


@dataclass
class ViewState:
    sort_column: str = "number"
    sort_reverse: bool = False
    filter: str = ""
    pane: str = "trials"
    chart: str = "curves"
    slice_param: str | None = None

    @classmethod
    def load(cls, session_dir: Path) -> ViewState:
        try:
            raw = json.loads((session_dir / FILE_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(raw, dict):
            return cls()
        out = cls()
        for f in fields(cls):
            value: Any = raw.get(f.name)
            default = getattr(out, f.name)
            optional = f.name == "slice_param" and (value is None or isinstance(value, str))
            if optional or (value is not None and type(value) is type(default)):
                setattr(out, f.name, value)
        return out

    def save(self, session_dir: Path) -> None:
        # a read-only snapshot: the view is simply not remembered
        with contextlib.suppress(OSError):
            write_json_atomic(session_dir / FILE_NAME, asdict(self))
