"""Execute the analysis notebook against an experiment folder (for CI and for users).

    execute_notebook("results/quickstart", out="report/compare_schedules.ipynb")
    execute_notebook("results/space", IMPORTANCE_NOTEBOOK, out="report/importance.ipynb")

The folder reaches the notebook through the MGSEARCH_EXPERIMENT environment variable, which its
first cell reads. nbclient, nbformat and ipykernel are the project's `notebook` extra.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ConfigError

ENV_VAR = "MGSEARCH_EXPERIMENT"
REPO = Path(__file__).resolve().parents[2]  # a source checkout; the notebook is not packaged
NOTEBOOK = REPO / "analysis" / "notebooks" / "compare_schedules.ipynb"
# which schedule parameters drive accuracy and clock in a schedule search (search.space)
IMPORTANCE_NOTEBOOK = REPO / "analysis" / "notebooks" / "schedule_importance.ipynb"


def execute_notebook(experiment: str | Path, notebook: str | Path = NOTEBOOK, *,
                     out: str | Path | None = None, timeout_s: int = 120,
                     kernel: str = "python3"):
    """Run every cell of `notebook` with MGSEARCH_EXPERIMENT=`experiment`; returns the executed
    notebook (nbformat node), also written to `out` when given. A failing cell raises
    nbclient's CellExecutionError, naming the cell."""
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError:
        raise ConfigError("executing the notebook needs nbclient, nbformat and ipykernel; "
                          "pip install 'mgsearch[notebook]'") from None
    nb = nbformat.read(str(notebook), as_version=4)
    env = dict(os.environ)
    env[ENV_VAR] = str(Path(experiment).resolve())
    # The kernel imports this checkout's mgsearch even where the package is not installed.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    client = NotebookClient(nb, timeout=timeout_s, kernel_name=kernel,
                            resources={"metadata": {"path": str(Path(notebook).parent)}})
    client.execute(env=env)
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(out))
    return nb
