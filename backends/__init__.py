"""Backend adapters, installed as ``kttui.backends``.

Each adapter lives in its own module behind :class:`kttui.backends.base.Backend`;
:func:`backend_class` imports only the module a spec names, so a user of the
local backend never pays for (or needs) another adapter's dependencies.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kttui.backends.base import Backend

#: backend name -> module inside this package that defines ``BACKEND``
BACKENDS: dict[str, str] = {
    "local": "local",
    "slurm": "slurm",
}


def backend_class(name: str) -> type[Backend]:
    """Return the adapter class registered under ``name``."""
    try:
        module_name = BACKENDS[name]
    except KeyError:
        known = ", ".join(sorted(BACKENDS))
        raise ValueError(f"unknown backend {name!r} (known: {known})") from None
    module = importlib.import_module(f"{__name__}.{module_name}")
    cls: type[Backend] = module.BACKEND
    return cls
