"""The one YAML reader of mgsearch: experiment files, `--set` values and PySlowFast configs.

    data = load(path.read_text(), source=str(path))

PyYAML implements YAML 1.1, where a float needs a dot: `1e-4`, `5e+2` and `-.5` read as strings.
YAML 1.2 reads them as floats, and so does PySlowFast (its yacs loader turns such strings into
numbers), so `Loader` resolves floats by the YAML 1.2 rule. Everything else stays as
`yaml.safe_load` reads it; a string that is not a number stays a string.

A key given twice in one mapping is refused (YAML says keys are unique; PyYAML would keep the
last one silently). `unique_keys=False` keeps the last one instead, for PySlowFast files, whose
loader does that and whose published configs rely on it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .errors import ConfigError

_FLOAT_TAG = "tag:yaml.org,2002:float"

# YAML 1.2 core-schema floats that are not integers: a dot or an exponent, or inf/nan.
_FLOAT = re.compile(r"""^(?:
      [-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?
    | [-+]?[0-9]+[eE][-+]?[0-9]+
    | [-+]?\.(?:inf|Inf|INF)
    | \.(?:nan|NaN|NAN)
    )$""", re.X)


class Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 floats (`1e-4`, `1E-6`, `.5`, `-1e-3`, `5e+2`)."""


# The resolver table is a class attribute shared with SafeLoader: replace it, never mutate it.
Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _FLOAT_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
Loader.add_implicit_resolver(_FLOAT_TAG, _FLOAT, list("-+0123456789."))


class DuplicateKey(yaml.constructor.ConstructorError):
    pass


class UniqueKeyLoader(Loader):
    """Loader that refuses a key given twice in one mapping."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<:` merges may be overridden; that is what they are for
                key = self.construct_object(key_node, deep=True)
                try:
                    seen = first.setdefault(key, key_node.start_mark)
                except TypeError:
                    continue  # unhashable: the base class reports it
                if seen is not key_node.start_mark:
                    raise DuplicateKey(
                        None, None, f"key {key!r} is given twice in one mapping (first at line "
                                    f"{seen.line + 1}); keep one", key_node.start_mark)
        return super().construct_mapping(node, deep)


class NotYAML(ConfigError):
    """`text` is not valid YAML (a syntax error, not a duplicate key)."""


def load(text: str, source: str, unique_keys: bool = True) -> Any:
    """Parse `text`; errors raise ConfigError naming `source` and the line."""
    try:
        return yaml.load(text, Loader=UniqueKeyLoader if unique_keys else Loader)
    except DuplicateKey as err:
        raise ConfigError(f"{source} line {err.problem_mark.line + 1}: {err.problem}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise NotYAML(f"{source}{where}: not valid YAML ({getattr(err, 'problem', err)}); "
                      f"fix the syntax there") from None
