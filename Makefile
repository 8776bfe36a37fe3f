# Two commands for a fresh clone (see README): `make demo` and `make test`.
# pip + venv on purpose: `-c constraints.txt` pins torch to the CPU wheel (2.13.0) that lies on
# disk on our machines; uv/poetry would not see it and pull a multi-GB CUDA build.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Test processes: most of the suite waits on one core at a time (MediaPipe, subprocesses,
# sockets), so 2 workers about halve it on CI's 2 cores; a test file stays on one worker
# (`--dist loadfile`) so its module fixtures are built once.
TEST_WORKERS ?= 2

.PHONY: demo test test-slow lint benchmarks results clean web

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[train,onnx,serve,ray,pose,remote,dev]"
	$(MAKE) web
	touch $(STAMP)

# The browser page of `aslrec serve`: @mediapipe/hands and Swagger UI from npm, copied with the
# page into src/aslrec/serving/static/ (git-ignored), served by aslrec itself (no CDN).
web:
	@if command -v npm >/dev/null; then cd web && npm ci && npm run build; \
	else echo "npm not found: the browser page of aslrec serve is not built (the API works)"; fi

demo: $(STAMP)
	$(BIN)/aslrec demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports  # the layer contract in pyproject.toml: no upward import between packages
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

benchmarks: $(STAMP)
	$(BIN)/python -m benchmarks.seed_recipe --jobs 2
	$(BIN)/python -m benchmarks.compare_models --jobs 2 --parts main ablation curve

# Every cached number and plot of benchmarks/RESULTS.md, from benchmarks/results/ (trains nothing).
results: $(STAMP)
	$(BIN)/python -m benchmarks.report

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
