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
	$(BIN)/python -m pip install -q -e '.[test,search,notebook,watch]'
	touch $(STAMP)

# The main job: synthesize the dataset if it is missing, run (or finish) the quickstart search
# on a local Ray, and write its report.
demo: $(STAMP)
	test -f data/gist/synth.json || $(BIN)/mgsearch data synth data/gist
	$(BIN)/mgsearch schedule experiments/quickstart.yaml
	$(BIN)/mgsearch search experiments/quickstart.yaml --resume
	$(BIN)/mgsearch report results/quickstart

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
