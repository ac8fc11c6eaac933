#!/usr/bin/env bash
# Builds the documentation site (MkDocs Material, mkdocstrings, mkdocs-jupyter) with --strict
# into .build-docs/site: any warning — a broken link, a missing page, a docstring that does not
# render — fails the build. The notebooks are executed as they are rendered, against small
# models made here (as their test makes them), and the command-line reference must match the
# tool (scripts/cli-reference.py --check). Needs `SETUP_TEST_TOOLS=1 scripts/setup.sh` first.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python scripts/cli-reference.py --check
models=.build-docs/notebook-models
if [ ! -f "$models/student/model.json" ]; then
  rm -rf "$models"
  .venv/bin/python - "$models" <<'PY'
import sys
import swiftdistill as sd
root = sys.argv[1]
teacher, _ = sd.train("CartPole-v1", steps=3000, seed=0, out=f"{root}/teacher", eval_interval=1000, learning_starts=500,
                      progress=False)
sd.distill(teacher, hidden=(8,), steps=1000, out=f"{root}/student", eval_interval=500, progress=False)
PY
fi
export SWIFT_DISTILL_TEACHER="$PWD/$models/teacher" SWIFT_DISTILL_STUDENT="$PWD/$models/student"
export SWIFT_DISTILL_EPISODES=3 SWIFT_DISTILL_STEPS=3000 SWIFT_DISTILL_OUT="$PWD/$models/notebook"
export SWIFT_DISTILL_STUDY="$PWD/$models/study" MPLBACKEND=Agg
rm -rf "$models/notebook" "$models/study"
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --quiet 2> >(grep -v "Kernel is running over TCP" >&2)
echo "docs: .build-docs/site/index.html"
