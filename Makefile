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

# The main job: synthesize the dataset if it is missing, replay the schedule mgsearch found
# (experiments/found.yaml) against the fixed-shape baseline, 3 seeds each, on a local Ray (or
# finish that search), and write its report, which ends with the answer paragraph.
demo: $(STAMP)
	test -f data/gist/synth.json || $(BIN)/mgsearch data synth data/gist
	$(BIN)/mgsearch schedule experiments/found.yaml
	$(BIN)/mgsearch search experiments/found.yaml --resume
	$(BIN)/mgsearch report results/found

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
