"""kttui: a keyboard-driven console for hyperparameter sweeps.

Importing the package must stay cheap (``kttui --help`` starts in tens of
milliseconds), so nothing heavy is imported here.
"""

__version__ = "0.1.0"
