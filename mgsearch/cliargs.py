"""Arguments every `mgsearch` subcommand shares (CONFIG, --set), in a module of their own so the
subcommands' modules (mgsearch.train.cli, mgsearch.data.cli, ...) need not import mgsearch.cli,
which imports them to register their parsers."""

from __future__ import annotations

import argparse
import contextlib

from .errors import ConfigError


def add_set_arg(p: argparse.ArgumentParser, help: str = "override a config value, e.g. --set "
                "solver.base_lr=0.05 (repeatable)") -> None:
    """--set KEY=VALUE, repeatable, collected in `args.overrides`."""
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help=help)


def add_config_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    """CONFIG and --set, the same on every command."""
    p.add_argument("config", nargs=None if required else "?", metavar="CONFIG",
                   help="experiment YAML, e.g. experiments/quickstart.yaml")
    add_set_arg(p)


@contextlib.contextmanager
def naming_source(path, overrides=()):
    """ConfigErrors raised inside (from the data, the model's import path, the search) name the
    config file and its --set overrides, as those of loading it do."""
    from .config import source_label

    try:
        yield
    except ConfigError as err:
        if not path or str(err).startswith(str(path)):
            raise
        raise ConfigError(f"{source_label(path, overrides)}: {err}") from None


def add_point_arg(p: argparse.ArgumentParser, what: str) -> None:
    """--point N: the N-th of a config's `search.points` (a found schedule's file lists it)."""
    p.add_argument("--point", type=int, metavar="N",
                   help=f"{what} the N-th of the config's search.points (default: the first, "
                        f"when it lists any; a found schedule's file lists it there)")


def listed_point(cfg, path, overrides=(), index: int | None = None):
    """(config, point): `cfg` with its `search.points[index]` applied (default the first) when it
    lists points or an index is given, else (cfg, None). One line names a bad index."""
    from .contract import listed_points

    if not cfg.search.points and index is None:
        return cfg, None
    listed = listed_points(cfg)
    i = 0 if index is None else index
    if not 0 <= i < len(listed):
        raise ConfigError(f"--point {i}: {path} lists {len(listed)} search.points "
                          f"(0..{len(listed) - 1})" if listed else
                          f"--point {i}: {path} lists no search.points")
    with naming_source(path, overrides):
        return listed[i].apply(cfg), listed[i]
