# The two commands: `make demo` (set up, then run the main job) and `make test` (set up, then
# run every test). PYTHON chooses the interpreter that is embedded and owns .venv.
PYTHON ?= /usr/bin/python3.11
export PYTHON
DISTILL := .build/release/distill

.PHONY: demo test setup bench wheel docs clean

setup:
	@scripts/setup.sh

demo: setup
	$(DISTILL) train --env CartPole-v1 --steps 50000 --seed 0 --out runs/teacher --force
	$(DISTILL) distill --teacher runs/teacher --hidden 16,16 --loss kl --temperature 0.01 --steps 20000 --seed 0 --out runs/student --force
	$(DISTILL) compare runs/teacher runs/student --episodes 20

test:
	@SETUP_TEST_TOOLS=1 scripts/setup.sh
	@echo "--- Swift tests (debug)"
	scripts/swift.sh test --no-parallel
	# the numeric modules again as users run them: release build (kernels chosen at run time)
	scripts/swift.sh test -c release --no-parallel --filter 'TensorTests|NNTests|DQNTests|DistillTests'
	# the wheel, installed where the Swift toolchain is out of reach
	scripts/test-wheel.sh
	.venv/bin/python -m pytest -q Tests/CLITests python/tests
	# the documentation site, strict (a broken link or a stale command-line reference fails), notebooks executed
	scripts/build-docs.sh

docs:
	@SETUP_TEST_TOOLS=1 scripts/setup.sh
	scripts/build-docs.sh

wheel: setup
	scripts/build-wheel.sh

bench:
	benchmarks/run.sh

clean:
	rm -rf .build .build-wheel .build-docs dist
