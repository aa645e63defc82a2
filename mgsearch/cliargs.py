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
