"""Objects named by import path, `"package.module:attr"`: a user's model or loss.

    build = load_object("mypkg.nets:build", "model.name")

Loaded with `importlib` in whichever process uses the object (the driver checks the path before
Ray starts; trial drivers and Train workers load it again), so the module must be importable in
each of them. A path that does not load is one `ConfigError` line: what was not found and how to
make it importable.
"""

from __future__ import annotations

import importlib
import sys

from .errors import ConfigError


def is_import_path(name: str) -> bool:
    return ":" in name


def _where() -> str:
    shown = [p or "''" for p in sys.path[:4]]
    more = f", ... +{len(sys.path) - 4}" if len(sys.path) > 4 else ""
    return (f"the module must be importable in the driver and every Ray worker: install it, or "
            f"add its folder to PYTHONPATH (sys.path here: {', '.join(shown)}{more}); with "
            f"`ray job submit` pass --runtime-env-json '{{\"working_dir\": \".\"}}' or py_modules")


def load_object(path: str, what: str):
    """The callable at `path` ("package.module:attr", attr may be dotted); `what` names the
    config field in the error."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"{what} = {path!r}: an import path is 'package.module:callable'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and (module_name == err.name or module_name.startswith(err.name + ".")):
            raise ConfigError(f"{what} = {path!r}: no module named {err.name!r}; "
                              f"{_where()}") from None
        raise ConfigError(f"{what} = {path!r}: importing {module_name!r} failed: {err}; "
                          f"{_where()}") from None
    except ImportError as err:
        raise ConfigError(f"{what} = {path!r}: importing {module_name!r} failed: "
                          f"{' '.join(str(err).split())}") from None
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"{what} = {path!r}: module {module_name!r} "
                              f"({getattr(module, '__file__', '?')}) has no attribute "
                              f"{attr!r}") from None
        obj = getattr(obj, part)
    if not callable(obj):
        raise ConfigError(f"{what} = {path!r} is not callable (its type: "
                          f"{type(obj).__name__})")
    return obj
