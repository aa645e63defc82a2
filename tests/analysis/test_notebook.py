"""The analysis notebook executes against an experiment folder (nbclient, venv kernel)."""

import pytest

from mgsearch.analysis import execute_notebook

from .builders import copy_real_search


@pytest.mark.slow
def test_notebook_runs_on_the_real_search(tmp_path):
    root = copy_real_search(tmp_path)
    nb = execute_notebook(root, out=tmp_path / "executed.ipynb", timeout_s=120)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "3 trials, 3 finished" in text  # the folder given, not the default path
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 4  # curves, Pareto, throughput, a timeline per configuration
    assert (tmp_path / "executed.ipynb").exists()
