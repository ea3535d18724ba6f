"""pydantic without its plugin discovery when plugins are turned off (the CLI turns them off).

pydantic finds plugins through `pydantic.plugin._loader`, which imports `importlib.metadata` at module
level (with email, zipfile and csv: 7-9 ms, about 5 % of a one-model `cmp generate`) although its
`get_plugins()` returns `()` without touching it when `PYDANTIC_DISABLE_PLUGINS` is `__all__`, `1` or
`true`. For that case `skip_discovery()` registers a stand-in for the loader module whose
`get_plugins()` answers the same; any other name, or a call after plugins were turned back on, is
served by the real module, loaded then.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from collections.abc import Iterable, Mapping
from typing import Any

LOADER = "pydantic.plugin._loader"
# pydantic/plugin/_loader.py get_plugins(): these values of the variable turn every plugin off.
DISABLED_VALUES = ("__all__", "1", "true")


def plugins_disabled(environ: Mapping[str, str]) -> bool:
    return environ.get("PYDANTIC_DISABLE_PLUGINS") in DISABLED_VALUES


def skip_discovery(environ: Mapping[str, str] = os.environ) -> bool:
    """Register the stand-in loader (before pydantic is used); whether it was registered."""
    if not plugins_disabled(environ) or LOADER in sys.modules:
        return False
    stand_in = types.ModuleType(LOADER, __doc__)
    vars(stand_in).update(get_plugins=get_plugins, __getattr__=_from_real_loader)
    sys.modules[LOADER] = stand_in
    return True


def get_plugins() -> Iterable[Any]:
    """No plugins while they are turned off, as pydantic's own loader answers; else the real answer."""
    if plugins_disabled(os.environ):
        return ()
    result: Iterable[Any] = _real_loader().get_plugins()
    return result


def _from_real_loader(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(_real_loader(), name)


def _real_loader() -> types.ModuleType:
    module = sys.modules.get(LOADER)
    if module is not None and getattr(module, "get_plugins", None) is get_plugins:
        del sys.modules[LOADER]
    return importlib.import_module(LOADER)
