"""rcmflow: the workflow engine of the RCM Technical Secretariat.

Plugins need only `hookimpl`; the engine is imported on first use so that the
command line starts fast.
"""

from __future__ import annotations

import pluggy

from rcmflow.errors import RcmflowError

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("rcmflow")

__all__ = ["Engine", "RcmflowError", "hookimpl", "__version__"]


def __getattr__(name: str):
    if name == "Engine":
        from rcmflow.core.engine import Engine

        return Engine
    raise AttributeError(name)
