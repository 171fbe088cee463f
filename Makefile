# Two commands do all the set-up on a fresh machine:
#   make demo   analyse a sample video the project ships (writes demo_results/)
#   make test   run the test suite
VENV := .venv
BIN := $(VENV)/bin
DEMO_VIDEO := sample_videos/side_right_overstride.mp4

.PHONY: setup demo test bench validate clean

setup:
	@bash scripts/setup.sh

demo: setup
	$(BIN)/gaitlab analyze $(DEMO_VIDEO) --out demo_results --overwrite

test:
	@bash scripts/setup.sh --test
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python -m gaitlab.bench

# Re-measure every accuracy figure gaitlab prints (hours on 2 cores): render the held-out randomised
# runners (seeds 9000-9059, 9100-9129, 9130-9149, and rear views only: the first 10 from 9150, 12 from
# 9185, 12 from 9232, 16 from 9281 and 16 from 9327; filmed at 240 fps, the first 6 of each side view
# and 6 rear views from 9400; front views only: the first 14 from 9430; no constant was set on them),
# validate them with the independent renderer's runners and the hand-marked real clip, and write
# gaitlab/data/accuracy.json and the README table from the result.
SHARED := ../shared
validate: setup
	$(BIN)/gaitlab synth --random 60 --seed 9000 --out validation/heldout
	$(BIN)/gaitlab synth --random 30 --seed 9100 --out validation/heldout2
	$(BIN)/gaitlab synth --random 20 --seed 9130 --out validation/heldout3
	$(BIN)/gaitlab synth --random 10 --seed 9150 --random-view rear --out validation/heldout3r
	$(BIN)/gaitlab synth --random 12 --seed 9185 --random-view rear --out validation/heldout4r
	$(BIN)/gaitlab synth --random 12 --seed 9232 --random-view rear --out validation/heldout5r
	$(BIN)/gaitlab synth --random 16 --seed 9281 --random-view rear --out validation/heldout6r
	$(BIN)/gaitlab synth --random 16 --seed 9327 --random-view rear --out validation/heldout7r
	$(BIN)/gaitlab synth --random 6 --seed 9400 --random-view side_left --random-fps 240 --out validation/heldout8_240
	$(BIN)/gaitlab synth --random 6 --seed 9400 --random-view side_right --random-fps 240 --out validation/heldout8_240
	$(BIN)/gaitlab synth --random 6 --seed 9400 --random-view rear --random-fps 240 --out validation/heldout8_240
	$(BIN)/gaitlab synth --random 14 --seed 9430 --random-view front --out validation/heldout9f
	$(BIN)/gaitlab validate validation/heldout validation/heldout2 validation/heldout3 validation/heldout3r \
		validation/heldout4r validation/heldout5r validation/heldout6r validation/heldout7r validation/heldout8_240 \
		validation/heldout9f \
		$(SHARED)/validation $(SHARED)/videos/ground_truth/zzzhushi_male_side.contacts.json \
		--out validation/results --cache validation/landmarks
	$(BIN)/python -m gaitlab.accuracy validation/results --readme README.md

clean:
	rm -rf $(VENV) demo_results .pytest_cache validation
