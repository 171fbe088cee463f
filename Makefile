# Two commands do all the set-up on a fresh machine:
#   make demo   analyse a sample video the project ships (writes demo_results/)
#   make test   run the test suite
VENV := .venv
BIN := $(VENV)/bin
DEMO_VIDEO := sample_videos/side_right_overstride.mp4

.PHONY: setup demo test bench clean

setup:
	@bash scripts/setup.sh

demo: setup
	$(BIN)/gaitlab analyze $(DEMO_VIDEO) --out demo_results --overwrite

test:
	@bash scripts/setup.sh --test
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python -m gaitlab.bench

clean:
	rm -rf $(VENV) demo_results .pytest_cache
