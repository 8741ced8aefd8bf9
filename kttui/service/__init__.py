"""The session service: what the console and the CLI need to know or do, one module per consumer.

A thin layer over the session store (:mod:`kttui.session`), the control socket
(:mod:`kttui.control`) and the daemon (:mod:`kttui.daemon`). It reads the
session directory incrementally (files are tailed by offset, status files are
re-read only when they changed), never opens the Optuna database and never
imports a UI toolkit: the TUI only draws what these modules return.

- :mod:`.rows`: a trial and the runner as the console shows them;
- :mod:`.watch`: one session followed poll by poll; :mod:`.store`: every session of a store;
- :mod:`.logs`: a trial's stdout/stderr, metrics and detail;
- :mod:`.gpus`: the GPU inventory and who holds it;
- :mod:`.stats`: the advice pane and the report, from :mod:`kttui.analysis` and :mod:`kttui.report`;
- :mod:`.sessions`: create, launch, open, delete, control, resume;
- :mod:`.specs`: spec text for the editor and what the dashboard reads from a session's spec.
"""


class ServiceError(Exception):
    """An operation the user asked for cannot be done; the message says why."""
