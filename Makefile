# Two commands do all the set-up on a fresh clone:
#   make demo   runs the main job on the embedded default
#   make test   runs the test suite
# Both create .venv with pip when it is missing, or stale (pyproject.toml newer than it).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,search,notebook]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mgsearch schedule experiments/quickstart.yaml

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
