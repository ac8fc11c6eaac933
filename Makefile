# The two commands: `make demo` (set up, then run the main job) and `make test` (set up, then
# run every test). PYTHON chooses the interpreter that is embedded and owns .venv.
PYTHON ?= /usr/bin/python3.11
export PYTHON
DISTILL := .build/release/distill

.PHONY: demo test setup bench clean

setup:
	@scripts/setup.sh

demo: setup
	$(DISTILL) info --env CartPole-v1
	$(DISTILL) bench env --env CartPole-v1 --steps 100000

test:
	@SETUP_TEST_TOOLS=1 scripts/setup.sh
	scripts/swift.sh test --no-parallel

bench: setup
	$(DISTILL) bench env --env CartPole-v1 --steps 100000 --rounds 5

clean:
	rm -rf .build
