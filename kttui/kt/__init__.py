"""kttui's built-in knowledge-tracing trainer, so a fresh install can run a real sweep.

Modules: :mod:`~kttui.kt.data` (dataset type and file), :mod:`~kttui.kt.synthetic`
(synthetic students, cache), :mod:`~kttui.kt.splits` (splits, reference AUCs),
:mod:`~kttui.kt.pykt_data` (pykt-toolkit CSVs), :mod:`~kttui.kt.params` (trainer
parameters), :mod:`~kttui.kt.metrics` (AUC), and the torch-only
:mod:`~kttui.kt.models`, :mod:`~kttui.kt.optim` and :mod:`~kttui.kt.train`.

Nothing is imported here: kttui's own process uses the numpy-only modules and
must never import torch by accident (torch is an optional extra).
"""
