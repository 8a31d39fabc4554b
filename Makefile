# Two commands on a fresh machine:  `make demo` (set up + run on the embedded default)
# and `make test` (the whole suite). Both create .venv and install facscope into it first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= dev,video
PIP_FLAGS ?= -q --disable-pip-version-check

.PHONY: demo test lint bench clean

$(BIN)/.installed-$(EXTRAS): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip
	$(BIN)/python -m pip install $(PIP_FLAGS) -e ".[$(EXTRAS)]"
	touch $@

demo: $(BIN)/.installed-$(EXTRAS)
	mkdir -p demo-out
	$(BIN)/facscope detect -o demo-out/faces.png
	$(BIN)/facscope regions -o demo-out/regions.png
	$(BIN)/facscope align -o demo-out/aligned.png
	$(BIN)/facscope zoom --region mouth --scale 1.3 -o demo-out/mouth.png --json
	@echo "demo pictures written to demo-out/"

test: $(BIN)/.installed-$(EXTRAS)
	$(BIN)/python -m pytest -n 2 -q -p no:cacheprovider

lint: $(BIN)/.installed-$(EXTRAS)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(BIN)/.installed-$(EXTRAS)
	$(BIN)/python benchmarks/face.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache
