"""The runner: asks Optuna for configs, launches trials through a backend, follows them.

One module per job; :class:`Runner` (loop.py) assembles them around the event loop.
"""

from kttui.runner.loop import Runner

__all__ = ["Runner"]
