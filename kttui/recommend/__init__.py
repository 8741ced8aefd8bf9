"""What to run next, derived from the analyses: refined specs and supplementary trials.

Every recommendation carries the numbers it rests on, as a YAML comment, because
a reader must be able to disagree with it. One module per job:

- :mod:`kttui.recommend.refine`: the refined spec in two variants (aggressive,
  conservative), built from per-param decisions in :mod:`kttui.recommend.changes`;
- :mod:`kttui.recommend.proposals`: one-factor-at-a-time trials around the best
  config, and the ``sampler: list`` spec that runs them;
- :mod:`kttui.recommend.ranges`: the pure arithmetic of ranges (rounding outward,
  margins, steps, continuing a grid);
- :mod:`kttui.recommend.base`: the space the sweep ran with, and a skeleton spec;
- :mod:`kttui.recommend.yamlstyle`: spec YAML in the house style.

The plain-language findings are an analysis, not a recommendation: they live in
:mod:`kttui.analysis.findings`.
"""
