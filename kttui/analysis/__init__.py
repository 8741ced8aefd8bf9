"""Pure analyses of a sweep: a :class:`TrialFrame` in, dataclasses and DataFrames out.

Nothing here prints, and nothing imports textual or torch, so the same code
serves the TUI, ``kttui report`` and tests. Each module does one job; run them
all at once with :func:`kttui.analysis.overview.analyze`.
"""

from kttui.analysis.table import STATES, ParamInfo, TrialFrame, infer_param_info, space_from_spec

__all__ = ["STATES", "ParamInfo", "TrialFrame", "infer_param_info", "space_from_spec"]
