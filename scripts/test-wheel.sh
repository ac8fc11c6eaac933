#!/usr/bin/env bash
# Builds the wheel and checks it as a user without the Swift toolchain would have it: a fresh
# venv, LD_LIBRARY_PATH unset, the extension depending on no Swift library, and a short
# train → distil → load → predict run from outside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-/usr/bin/python3.11}"
scripts/build-wheel.sh
wheel=$(ls -t dist/swiftdistill-*-manylinux_*.whl | sed -n 1p)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q "$wheel"
so=$(ls "$work"/venv/lib/python3*/site-packages/swiftdistill/_core*.so)
needs=$(ldd "$so")  # captured: `| grep -q` under pipefail can SIGPIPE and hide a match
if grep -i 'swift\|Foundation\|dispatch\|not found' <<<"$needs" >/dev/null; then
  echo "wheel test: the installed extension still needs libraries outside the wheel:"; ldd "$so"; exit 1
fi
cd "$work"
env -u LD_LIBRARY_PATH -u VIRTUAL_ENV "$work/venv/bin/python" - <<'PY'
import numpy as np
import swiftdistill as sd
corridor = dict(hidden=(16,), learning_starts=100, train_frequency=4, gradient_steps=1, target_update_interval=100,
                exploration_fraction=0.3, learning_rate=1e-3, batch_size=32, gamma=0.9, eval_episodes=2, eval_interval=500)
teacher, metrics = sd.train("Corridor-6", steps=1500, seed=0, out="teacher", progress=False, **corridor)
student, _ = sd.distill(teacher, hidden=(8,), steps=800, eval_interval=400, eval_episodes=2, out="student", progress=False)
loaded = sd.load("student")
actions, _ = loaded.predict(np.eye(6, dtype=np.float32)[:5])
assert list(actions) == [1, 1, 1, 1, 1], actions
assert np.allclose(sd.core_q_values(loaded, np.eye(6, dtype=np.float32)), loaded.q_values(np.eye(6, dtype=np.float32)), atol=1e-5)
print(f"wheel test: trained ({metrics['best_mean_return']}), distilled, loaded and predicted without the Swift toolchain")
PY
# The wheel's distill command: the version the package says, and a run with the venv's packages.
version=$("$work/venv/bin/python" -c 'import swiftdistill; print(swiftdistill.__version__)')
env -u LD_LIBRARY_PATH -u VIRTUAL_ENV "$work/venv/bin/distill" --version | grep -qx "$version" \
  || { echo "wheel test: distill --version does not print $version"; exit 1; }
env -u LD_LIBRARY_PATH -u VIRTUAL_ENV "$work/venv/bin/distill" eval student --episodes 2 --json | grep -q '"mean_return":1' \
  || { echo "wheel test: the wheel's distill command could not evaluate the student"; exit 1; }
echo "wheel test: the wheel's distill command runs (distill $version)"
