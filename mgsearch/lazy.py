"""Package attributes imported on first use, so importing a package stays light.

    __getattr__, __dir__ = lazy_attributes(__name__, {"Loaders": "loaders"}, __all__)
"""

from __future__ import annotations

import importlib
import sys
from typing import Callable, Mapping, Sequence


def lazy_attributes(package: str, where: Mapping[str, str], names: Sequence[str]
                    ) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """A module `__getattr__` that imports `package.<where[name]>` for `name` on first use (and
    keeps the value), and a `__dir__` listing `names`."""

    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{where[name]}", package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return list(names)

    return __getattr__, __dir__
