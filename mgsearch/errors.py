"""The project's error type for bad input: one line that names the value, its source and the fix."""

from __future__ import annotations


class ConfigError(ValueError):
    """A config, override or grid that cannot work. `str(err)` is the one line a user sees.

    The CLI turns it into `mgsearch: error: <message>` and exit code 2, before anything is written.
    """
