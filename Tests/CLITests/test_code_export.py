"""Students as code (issue 29): `distill export --format c|swift` writes dependency-free source
whose Q-values are the Swift core's, bit for bit, on held-out states; the C is strict C99 and
builds for a Cortex-M4 and for aarch64 (run under qemu) where those compilers are installed."""
import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from test_cli import CORRIDOR, DISTILL, ROOT, corridor_teacher, error_line, run  # noqa: F401 (a fixture)

SWIFTC = shutil.which("swiftc") or "/opt/swift/usr/bin/swiftc"

C_DRIVER = r"""
#include <stdio.h>
#include "NAME.h"
/* Reads float32 observations from argv[1]; writes each one's Q-values (float32) and action (int32) to argv[2]. */
int main(int argc, char **argv) {
    FILE *in, *out;
    float observation[UPPER_OBSERVATION_SIZE], q[UPPER_ACTION_COUNT];
    if (argc != 3 || !(in = fopen(argv[1], "rb")) || !(out = fopen(argv[2], "wb"))) return 2;
    while (fread(observation, sizeof(float), UPPER_OBSERVATION_SIZE, in) == UPPER_OBSERVATION_SIZE) {
        int action = NAME_act(observation);
        NAME_q_values(observation, q);
        fwrite(q, sizeof(float), UPPER_ACTION_COUNT, out);
        fwrite(&action, sizeof(int), 1, out);
    }
    fclose(out);
    return 0;
}
"""

SWIFT_DRIVER = r"""
import Foundation
let args = CommandLine.arguments
let data = FileManager.default.contents(atPath: args[1])!
let n = TYPE.observationSize
let values: [Float] = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
let policy = TYPE()
var out = Data()
for start in stride(from: 0, to: values.count, by: n) {
    let observation = Array(values[start..<(start + n)])
    let q = policy.qValues(observation)
    var action = Int32(policy.act(observation))
    q.withUnsafeBufferPointer { out.append(Data(buffer: $0)) }
    withUnsafeBytes(of: &action) { out.append(contentsOf: $0) }
}
try! out.write(to: URL(fileURLWithPath: args[2]))
"""


def held_out_states(n, size, seed=0):
    """Normal states with about a quarter of the values exactly zero (the kernels skip zero inputs)."""
    rng = np.random.default_rng(seed)
    states = rng.normal(0, 1.5, size=(n, size)).astype(np.float32)
    states[rng.random((n, size)) < 0.25] = 0
    return states


def core_q_values(model, states, scale=1.0):
    from swiftdistill import _core
    scaled = states * np.float32(scale) if scale != 1 else states
    return _core.q_values(model=str(model), observations=np.ascontiguousarray(scaled, dtype=np.float32))


def read_results(path, actions):
    record = np.dtype([("q", "<f4", (actions,)), ("action", "<i4")])
    return np.fromfile(path, dtype=record)


def assert_same_as_core(results, core):
    assert len(results) == len(core)
    assert np.array_equal(results["q"], core), "Q-values bit for bit (±0 alike)"
    first_max = np.argmax(core, axis=1)
    assert np.array_equal(results["action"], first_max)


def export_c(model, out, name):
    r = run("export", str(model), "--format", "c", "--output", str(out), "--name", name)
    assert r.returncode == 0, r.stderr
    return out


def build_c(source_dir, name, work, compiler=("cc",), flags=("-O2",), run_with=()):
    driver = work / "driver.c"
    driver.write_text(C_DRIVER.replace("UPPER", name.upper()).replace("NAME", name))
    exe = work / f"{name}-{compiler[0].split('/')[-1]}"
    subprocess.run([*compiler, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", *flags, "-I", str(source_dir),
                    str(source_dir / f"{name}.c"), str(driver), "-o", str(exe), "-lm"], check=True, capture_output=True, text=True)
    return [*run_with, str(exe)]


def evaluate_with(command, states, work, actions):
    states_path, results_path = work / "states.f32", work / "results.bin"
    np.ascontiguousarray(states, dtype=np.float32).tofile(states_path)
    subprocess.run([*command, str(states_path), str(results_path)], check=True, timeout=600)
    return read_results(results_path, actions)


@pytest.fixture(scope="module")
def mlp_student(tmp_path_factory, corridor_teacher):
    """A 6 → 16 → 8 → 2 ReLU student: a wide layer (chained), a narrow hidden layer and a narrow head."""
    out = tmp_path_factory.mktemp("student") / "s"
    r = run("distill", "--teacher", str(corridor_teacher), "--hidden", "16,8", "--steps", "1500", "--eval-interval", "0",
            "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out


def test_the_c_export_gives_the_cores_q_values_on_100000_states(tmp_path, mlp_student):
    code = export_c(mlp_student, tmp_path / "code", "corridor_student")
    assert sorted(p.name for p in code.iterdir()) == ["corridor_student.c", "corridor_student.h"]
    header = (code / "corridor_student.h").read_text()
    assert "#define CORRIDOR_STUDENT_OBSERVATION_SIZE 6" in header and "#define CORRIDOR_STUDENT_ACTION_COUNT 2" in header
    source = (code / "corridor_student.c").read_text()
    assert "malloc" not in source and "static float" not in source, "no allocation, no mutable globals"
    states = held_out_states(100_000, 6)
    results = evaluate_with(build_c(code, "corridor_student", tmp_path), states, tmp_path, 2)
    assert_same_as_core(results, core_q_values(mlp_student, states))


def test_without_fma_the_c_needs_no_library_and_stays_close(tmp_path, mlp_student):
    code = export_c(mlp_student, tmp_path / "code", "plain")
    command = build_c(code, "plain", tmp_path, flags=("-O2", "-DPLAIN_NO_FMA"))
    states = held_out_states(20_000, 6, seed=1)
    results = evaluate_with(command, states, tmp_path, 2)
    core = core_q_values(mlp_student, states)
    assert np.allclose(results["q"], core, rtol=1e-5, atol=1e-5)
    # No symbol from the math library: the object needs nothing but what it defines.
    obj = tmp_path / "plain.o"
    subprocess.run(["cc", "-std=c99", "-O2", "-DPLAIN_NO_FMA", "-c", str(code / "plain.c"), "-o", str(obj)], check=True)
    undefined = subprocess.run(["nm", "-u", str(obj)], capture_output=True, text=True, check=True).stdout.split()
    assert "fmaf" not in undefined and "tanhf" not in undefined, undefined


@pytest.mark.parametrize("convs", ["4:3:1:1,16:3:2", "8:3:1"])
def test_a_convolutional_channels_first_uint8_student_as_c(tmp_path, convs):
    """Convolutions over (3, 6, 5) uint8 frames — two (4 channels: narrow, padded; 16: wide,
    strided), or one narrow as MinAtar's students have — as strict C99: the export scales by
    1/255 and moves channels last inside, as the core does."""
    teacher = tmp_path / "conv"
    r = run("train", "--env", "fixture_envs:ChannelsFirstImageEnv", "--conv", convs, "--hidden", "16",
            "--steps", "400", "--learning-starts", "50", "--eval-interval", "0", "--out", str(teacher))
    assert r.returncode == 0, r.stderr
    config = json.loads((teacher / "model.json").read_text())["config"]
    code = export_c(teacher, tmp_path / "code", "frames")
    rng = np.random.default_rng(2)
    frames = rng.integers(0, 256, size=(20_000, 90)).astype(np.float32)
    frames[rng.random(frames.shape) < 0.2] = 0
    actions = json.loads((teacher / "model.json").read_text())["architecture"]["output_size"]
    results = evaluate_with(build_c(code, "frames", tmp_path), frames, tmp_path, actions)
    assert_same_as_core(results, core_q_values(teacher, frames, scale=config["observation_scale"]))


def test_the_swift_export_gives_the_cores_q_values(tmp_path, mlp_student):
    path = tmp_path / "CorridorStudent.swift"
    r = run("export", str(mlp_student), "--format", "swift", "--output", str(path), "--name", "corridor_student")
    assert r.returncode == 0, r.stderr
    text = path.read_text()
    assert "public struct CorridorStudent" in text and "import Foundation" not in text, "no dependency for a ReLU net"
    (tmp_path / "main.swift").write_text(SWIFT_DRIVER.replace("TYPE", "CorridorStudent"))
    exe = tmp_path / "swift-student"
    built = subprocess.run([SWIFTC, "-O", "-warnings-as-errors", str(path), str(tmp_path / "main.swift"), "-o", str(exe)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    states = held_out_states(20_000, 6, seed=3)
    results = evaluate_with([str(exe)], states, tmp_path, 2)
    assert_same_as_core(results, core_q_values(mlp_student, states))


@pytest.mark.skipif(not shutil.which("arm-none-eabi-gcc"), reason="gcc-arm-none-eabi is not installed (make test installs it)")
def test_the_c_builds_for_a_cortex_m4(tmp_path, mlp_student):
    code = export_c(mlp_student, tmp_path / "code", "student")
    obj = tmp_path / "student-m4.o"
    r = subprocess.run(["arm-none-eabi-gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-mcpu=cortex-m4", "-mthumb",
                        "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os", "-c", str(code / "student.c"), "-o", str(obj)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    size = subprocess.run(["arm-none-eabi-size", str(obj)], capture_output=True, text=True, check=True).stdout
    text, data, bss = (int(v) for v in size.splitlines()[1].split()[:3])
    print(f"Cortex-M4 object of a 6-16-8-2 student: text {text} B (code and const weights), data {data} B, bss {bss} B")
    assert data == 0 and bss == 0, "no mutable globals"
    weights = 4 * (6 * 16 + 16 + 16 * 8 + 8 + 8 * 2 + 2)
    assert text >= weights, "the weights are in flash"


@pytest.mark.skipif(not (shutil.which("aarch64-linux-gnu-gcc") and shutil.which("qemu-aarch64")),
                    reason="the aarch64 cross compiler or qemu-user is not installed (make test installs them)")
def test_an_aarch64_build_under_qemu_acts_as_the_core(tmp_path, mlp_student):
    code = export_c(mlp_student, tmp_path / "code", "student")
    command = build_c(code, "student", tmp_path, compiler=("aarch64-linux-gnu-gcc",), flags=("-O2",),
                      run_with=("qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"))
    states = held_out_states(20_000, 6, seed=4)
    results = evaluate_with(command, states, tmp_path, 2)
    assert_same_as_core(results, core_q_values(mlp_student, states))


@pytest.mark.parametrize("args, words", [
    (["--format", "c"], "--format c needs --output DIR"),
    (["--format", "c", "--output", "{tmp}/c", "--name", "int"], "'int' cannot name exported code"),
    (["--format", "c", "--output", "{tmp}/c", "--name", "9lives"], "'9lives' cannot name exported code"),
    (["--format", "onnx", "--name", "x"], "--name goes with --format c or swift"),
])
def test_bad_export_requests_are_one_sentence(tmp_path, mlp_student, args, words):
    r = run("export", str(mlp_student), *[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert r.returncode in (1, 64) and words in error_line(r), r.stderr
    assert not (tmp_path / "c").exists()


def test_an_existing_output_is_replaced_only_by_force_and_only_if_it_is_an_export(tmp_path, mlp_student):
    out = tmp_path / "code"
    export_c(mlp_student, out, "student")
    again = run("export", str(mlp_student), "--format", "c", "--output", str(out), "--name", "student")
    assert "exists; choose another --output or add --force" in error_line(again)
    assert run("export", str(mlp_student), "--format", "c", "--output", str(out), "--name", "student", "--force").returncode == 0
    (out / "notes.txt").write_text("mine")
    refused = run("export", str(mlp_student), "--format", "c", "--output", str(out), "--name", "student", "--force")
    assert "holds other files than student.c and student.h" in error_line(refused)
    assert (out / "notes.txt").read_text() == "mine"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".code.saving")], "no staging left behind"


def test_a_pruned_student_keeps_its_return_and_its_c_skips_the_zeros(tmp_path, corridor_teacher):
    """--prune 0.9 --prune-scope layer: each dense weight matrix ends 90% exact zeros (the saved
    model is the pruned one, kept at its best evaluation after pruning finished), the return holds,
    and the C export stores only the kept weights while computing the core's Q-values bit for bit."""
    student = tmp_path / "pruned"
    r = run("distill", "--teacher", str(corridor_teacher), "--hidden", "32,32", "--steps", "6000", "--prune", "0.9",
            "--prune-scope", "layer", "--eval-interval", "2000", "--eval-episodes", "3", "--out", str(student))
    assert r.returncode == 0, r.stderr
    manifest = json.loads((student / "model.json").read_text())
    assert manifest["config"]["prune"] == pytest.approx(0.9) and manifest["config"]["sparsity"] == pytest.approx(0.9, abs=0.01)
    for t in manifest["tensors"]:
        if t["name"].endswith("weight"):
            zeros = float((np.load(student / t["file"]) == 0).mean())
            assert zeros == pytest.approx(0.9, abs=0.02), (t["name"], zeros)
    ev = run("eval", str(student), "--episodes", "5", "--json")
    assert json.loads(ev.stdout)["mean_return"] == 1.0, ev.stderr
    code = export_c(student, tmp_path / "code", "pruned")
    source = (code / "pruned.c").read_text()
    # Layer 1 is stored by its nonzero weights; units left with no weight and a bias that keeps
    # them at 0 behind the ReLU are dropped from the arrays altogether.
    assert "layers.1.weight, pruned: " in source and " weights kept (" in source
    assert "pruned_layer1_weight[" not in source, "the pruned layer is stored by its nonzero weights"
    states = held_out_states(50_000, 6, seed=5)
    core = core_q_values(student, states)
    # Straight-line code by default, loops over index arrays with PRUNED_COMPACT: the same bits.
    assert_same_as_core(evaluate_with(build_c(code, "pruned", tmp_path), states, tmp_path, 2), core)
    compact = tmp_path / "compact"
    compact.mkdir()
    assert_same_as_core(evaluate_with(build_c(code, "pruned", compact, flags=("-O2", "-DPRUNED_COMPACT")), states, compact, 2), core)


def test_global_pruning_ranks_all_weights_together(tmp_path, corridor_teacher):
    """The default scope: 90% of all dense weights are zero, the smallest |w| across layers first,
    so the matrices keep different shares (the ranking itself is checked in the Swift tests)."""
    student = tmp_path / "global"
    r = run("distill", "--teacher", str(corridor_teacher), "--hidden", "32,32", "--steps", "6000", "--prune", "0.9",
            "--eval-interval", "2000", "--eval-episodes", "3", "--out", str(student))
    assert r.returncode == 0, r.stderr
    manifest = json.loads((student / "model.json").read_text())
    assert manifest["config"]["prune_scope"] == "global"
    weights = {t["name"]: np.load(student / t["file"]) for t in manifest["tensors"] if t["name"].endswith("weight")}
    total = sum(w.size for w in weights.values())
    zeros = sum(int((w == 0).sum()) for w in weights.values())
    assert zeros == int(0.9 * total), (zeros, total)
    kept = {name: float((w != 0).mean()) for name, w in weights.items()}
    assert max(kept.values()) - min(kept.values()) > 0.2, ("one ranking, not one share per matrix", kept)
    ev = run("eval", str(student), "--episodes", "5", "--json")
    assert json.loads(ev.stdout)["mean_return"] == 1.0, ev.stderr


@pytest.mark.parametrize("args, words", [
    (["--prune", "1"], "--prune is the share of weights pruned, in (0, 1)"),
    (["--prune", "0.5", "--prune-start", "0.8", "--prune-end", "0.5"], "--prune-start (0.8) must come before --prune-end (0.5)"),
])
def test_bad_pruning_settings_are_one_sentence(tmp_path, corridor_teacher, args, words):
    r = run("distill", "--teacher", str(corridor_teacher), *args, "--out", str(tmp_path / "s"))
    assert r.returncode in (1, 64) and words in error_line(r), r.stderr


def test_structured_pruning_removes_whole_units(tmp_path, corridor_teacher):
    student = tmp_path / "units"
    r = run("distill", "--teacher", str(corridor_teacher), "--hidden", "32,32", "--steps", "6000", "--prune", "0.5",
            "--prune-units", "--eval-interval", "2000", "--eval-episodes", "3", "--out", str(student))
    assert r.returncode == 0, r.stderr
    manifest = json.loads((student / "model.json").read_text())
    assert manifest["config"]["removed_units"] == [16, 16]
    arrays = {t["name"]: np.load(student / t["file"]) for t in manifest["tensors"]}
    for k in (0, 1):
        dead = np.flatnonzero((arrays[f"layers.{k}.weight"] == 0).all(axis=0) & (arrays[f"layers.{k}.bias"] == 0))
        assert len(dead) == 16, (k, dead)
        assert (arrays[f"layers.{k + 1}.weight"][dead] == 0).all(), "a removed unit's outgoing weights are zero"
    assert json.loads(run("eval", str(student), "--episodes", "5", "--json").stdout)["mean_return"] == 1.0
    # The exports drop the removed units from their arrays (6-32-32-2 becomes 6-16-16-2) and keep
    # the core's bits: the head (narrow) keeps each remaining input in its original partial sum.
    code = export_c(student, tmp_path / "code", "units")
    source = (code / "units.c").read_text()
    assert "layers.0.weight as (inputs, outputs) = (6, 16)" in source and "layers.1.weight as (inputs, outputs) = (16, 16)" in source
    assert "16 inputs (32 before pruning removed units) -> 2 outputs" in source
    states = held_out_states(20_000, 6, seed=6)
    core = core_q_values(student, states)
    assert_same_as_core(evaluate_with(build_c(code, "units", tmp_path), states, tmp_path, 2), core)
    path = tmp_path / "Units.swift"
    assert run("export", str(student), "--format", "swift", "--output", str(path), "--name", "units").returncode == 0
    (tmp_path / "main.swift").write_text(SWIFT_DRIVER.replace("TYPE", "Units"))
    exe = tmp_path / "units-swift"
    built = subprocess.run([SWIFTC, "-O", "-warnings-as-errors", str(path), str(tmp_path / "main.swift"), "-o", str(exe)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    assert_same_as_core(evaluate_with([str(exe)], states[:5000], tmp_path, 2), core[:5000])
