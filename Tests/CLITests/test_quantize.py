"""int8 students (issue 29): `distill quantize` writes an int8 model whose Q-values the Swift core,
the NumPy loader and the exported C compute identically, bit for bit."""
import json
import shutil
import subprocess

import numpy as np
import pytest

import swiftdistill as sd
from test_cli import corridor_teacher, error_line, run  # noqa: F401 (a fixture)
from test_code_export import build_c, core_q_values, evaluate_with, held_out_states


@pytest.fixture(scope="module")
def students(tmp_path_factory, corridor_teacher):
    """A float 6 → 16 → 8 → 2 ReLU student and its int8 quantisation."""
    root = tmp_path_factory.mktemp("quantize")
    student = root / "float"
    r = run("distill", "--teacher", str(corridor_teacher), "--hidden", "16,8", "--steps", "1500", "--eval-interval", "0",
            "--out", str(student))
    assert r.returncode == 0, r.stderr
    int8 = root / "int8"
    q = run("quantize", str(student), "--out", str(int8), "--calibration-states", "3000", "--episodes", "5", "--json")
    assert q.returncode == 0, q.stderr
    return student, int8, json.loads(q.stdout)


def test_quantize_reports_both_students_side_by_side(students):
    _, int8, report = students
    assert report["int8"]["int8_weight_bytes"] == 6 * 16 + 16 * 8 + 8 * 2
    assert report["int8"]["weight_bytes"] < report["float"]["weight_bytes"] / 1.5
    assert report["action_agreement"] > 0.9 and report["int8"]["mean_return"] == report["float"]["mean_return"] == 1.0
    manifest = json.loads((int8 / "model.json").read_text())
    assert manifest["format_version"] == 2 and manifest["quantization"] == {"scheme": "int8", "calibration_states": 3000}
    weight = next(t for t in manifest["tensors"] if t["name"] == "layers.0.weight")
    assert weight["dtype"] == "int8" and np.load(int8 / weight["file"]).dtype == np.int8


def test_the_numpy_loader_and_the_core_compute_the_same_int8_q_values(students):
    _, int8, _ = students
    model = sd.load(int8)
    states = held_out_states(100_000, 6, seed=7) * np.float32(3)  # some beyond the calibrated range: clamped
    reference = model.q_values(states)
    assert reference.dtype == np.float32
    assert np.array_equal(reference, core_q_values(int8, states)), "the core follows the NumPy reference bit for bit"
    ev = run("eval", str(int8), "--episodes", "3", "--json")
    assert ev.returncode == 0 and json.loads(ev.stdout)["mean_return"] == 1.0, ev.stderr


def test_the_int8_c_export_needs_no_library_and_matches_the_reference(tmp_path, students):
    _, int8, _ = students
    code = tmp_path / "code"
    r = run("export", str(int8), "--format", "c", "--output", str(code), "--name", "tiny")
    assert r.returncode == 0, r.stderr
    obj = tmp_path / "tiny.o"
    subprocess.run(["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2", "-c", str(code / "tiny.c"), "-o", str(obj)],
                   check=True)
    assert subprocess.run(["nm", "-u", str(obj)], capture_output=True, text=True, check=True).stdout.split() == [], "no library"
    states = held_out_states(100_000, 6, seed=8) * np.float32(3)
    results = evaluate_with(build_c(code, "tiny", tmp_path), states, tmp_path, 2)
    reference = sd.load(int8).q_values(states)
    assert np.array_equal(results["q"], reference)
    assert np.array_equal(results["action"], np.argmax(reference, axis=1))
    if shutil.which("aarch64-linux-gnu-gcc") and shutil.which("qemu-aarch64"):
        command = build_c(code, "tiny", tmp_path, compiler=("aarch64-linux-gnu-gcc",),
                          run_with=("qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"))
        arm = evaluate_with(command, states[:20_000], tmp_path, 2)
        assert np.array_equal(arm["q"], reference[:20_000]), "the same integers and floats on aarch64"
    if shutil.which("arm-none-eabi-gcc"):
        m4 = tmp_path / "tiny-m4.o"
        subprocess.run(["arm-none-eabi-gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-mcpu=cortex-m4",
                        "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os", "-c", str(code / "tiny.c"), "-o", str(m4)],
                       check=True)
        size = subprocess.run(["arm-none-eabi-size", str(m4)], capture_output=True, text=True, check=True).stdout
        text, data, bss = (int(v) for v in size.splitlines()[1].split()[:3])
        print(f"Cortex-M4 object of the int8 6-16-8-2 student: text {text} B, data {data} B, bss {bss} B")
        assert data == 0 and bss == 0


def test_an_int8_model_is_refused_where_a_float_one_is_needed(tmp_path, students):
    _, int8, _ = students
    for args in (["distill", "--teacher", str(int8), "--out", str(tmp_path / "s")],
                 ["export", str(int8), "--format", "onnx", "--output", str(tmp_path / "m.onnx")]):
        r = run(*args)
        line = error_line(r)
        assert r.returncode in (1, 64) and "holds an int8 model" in line, (args, r.stderr)
    with pytest.raises(ValueError, match="holds an int8 model"):
        sd.load(int8).to_onnx(tmp_path / "x.onnx")


def test_bad_quantize_requests_are_one_sentence(tmp_path, students, corridor_teacher):
    student, int8, _ = students
    zero = run("quantize", str(student), "--out", str(tmp_path / "z"), "--calibration-states", "0")
    assert "--calibration-states must be between 1 and 10,000,000" in error_line(zero)
    again = run("quantize", str(student), "--out", str(int8))
    assert "exists; choose a new --out or add --force" in error_line(again)
    into_float = run("quantize", str(student), "--out", str(corridor_teacher), "--force")
    assert "is not an int8 model; --force only replaces one" in error_line(into_float)
    tanh = tmp_path / "tanh"
    assert run("distill", "--teacher", str(corridor_teacher), "--hidden", "8", "--activation", "tanh", "--steps", "300",
               "--eval-interval", "0", "--out", str(tanh)).returncode == 0
    refused = run("quantize", str(tanh), "--out", str(tmp_path / "t8"))
    assert "int8 needs ReLU" in error_line(refused) and not (tmp_path / "t8").exists()


def test_compare_measures_an_int8_student_by_its_own_arithmetic(students):
    student, int8, _ = students
    r = run("compare", str(student), str(int8), "--episodes", "3", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["teacher"]["precision"] == "float32" and report["student"]["precision"] == "int8"
    assert report["student"]["flops_per_action"] == 2 * (6 * 16 + 16 * 8 + 8 * 2)
    assert report["student"]["bytes_on_disk"] < report["teacher"]["bytes_on_disk"]
    assert report["action_agreement"] > 0.9 and report["normalized_return"] == 1.0
    if shutil.which("cc"):  # each model exported as C, compiled and timed by compare itself
        assert report["teacher"]["c_ns_per_action"] > 0 and report["student"]["c_ns_per_action"] > 0, report
    text = run("compare", str(student), str(int8), "--episodes", "2")
    assert "precision                 float32           int8" in text.stdout, text.stdout


def test_quantisation_aware_distillation_then_quantize(tmp_path, corridor_teacher):
    qat = tmp_path / "qat"
    r = run("distill", "--teacher", str(corridor_teacher), "--hidden", "16,16", "--steps", "3000", "--quantize", "int8",
            "--eval-interval", "0", "--out", str(qat))
    assert r.returncode == 0, r.stderr
    config = json.loads((qat / "model.json").read_text())["config"]
    assert config["quantize"] == "int8" and len(config["quantizer_ranges"]) == 3, "the ranges it trained with, per layer input"
    q = run("quantize", str(qat), "--out", str(tmp_path / "int8"), "--calibration-states", "2000", "--episodes", "3", "--json")
    report = json.loads(q.stdout)
    assert report["int8"]["mean_return"] == 1.0 and report["action_agreement"] > 0.95, report
    # The int8 model keeps the trained grid: its input scale is the first recorded range's.
    int8 = json.loads((tmp_path / "int8" / "model.json").read_text())
    assert int8["config"]["scales_from"] == "quantizer_ranges" and int8["quantization"]["calibration_states"] == 0
    inverse = float(sd.load(tmp_path / "int8").params["quant.input_inverse_scale"][0])
    assert inverse == pytest.approx(127 / config["quantizer_ranges"][0], rel=1e-6)
    again = run("quantize", str(qat), "--out", str(tmp_path / "int8-calibrated"), "--calibration-states", "2000", "--episodes", "1",
                "--recalibrate", "--json")
    assert again.returncode == 0, again.stderr
    calibrated = json.loads((tmp_path / "int8-calibrated" / "model.json").read_text())
    assert calibrated["config"]["scales_from"] == "calibration" and calibrated["quantization"]["calibration_states"] == 2000
    tanh = run("distill", "--teacher", str(corridor_teacher), "--activation", "tanh", "--quantize", "int8", "--out", str(tmp_path / "t"))
    assert "--quantize int8 trains ReLU students" in error_line(tanh)


def test_the_int8_swift_export_matches_the_reference(tmp_path, students):
    from test_code_export import SWIFT_DRIVER, SWIFTC
    _, int8, _ = students
    path = tmp_path / "Tiny.swift"
    r = run("export", str(int8), "--format", "swift", "--output", str(path), "--name", "tiny")
    assert r.returncode == 0, r.stderr
    (tmp_path / "main.swift").write_text(SWIFT_DRIVER.replace("TYPE", "Tiny"))
    exe = tmp_path / "tiny-swift"
    built = subprocess.run([SWIFTC, "-O", "-warnings-as-errors", str(path), str(tmp_path / "main.swift"), "-o", str(exe)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    states = held_out_states(20_000, 6, seed=9) * np.float32(3)
    results = evaluate_with([str(exe)], states, tmp_path, 2)
    assert np.array_equal(results["q"], sd.load(int8).q_values(states))


@pytest.fixture(scope="module")
def conv_students(tmp_path_factory):
    """A convolutional teacher over (3, 6, 5) channels-first uint8 frames (two convolutions, one
    padded and narrow, one strided and wide), a quantisation-aware student of it, and both in int8."""
    root = tmp_path_factory.mktemp("conv-int8")
    teacher = root / "conv"
    r = run("train", "--env", "fixture_envs:ChannelsFirstImageEnv", "--conv", "4:3:1:1,16:3:2", "--hidden", "16",
            "--steps", "400", "--learning-starts", "50", "--eval-interval", "0", "--out", str(teacher))
    assert r.returncode == 0, r.stderr
    trust = ("--trust-env", "fixture_envs:ChannelsFirstImageEnv")
    qat = root / "qat"
    r = run("distill", "--teacher", str(teacher), *trust, "--conv", "4:3:1:1", "--hidden", "8", "--quantize", "int8",
            "--steps", "600", "--eval-interval", "0", "--out", str(qat))
    assert r.returncode == 0, r.stderr
    int8s = []
    for model in (teacher, qat):
        out = root / f"{model.name}-int8"
        q = run("quantize", str(model), "--out", str(out), "--calibration-states", "500", "--episodes", "2", *trust, "--json")
        assert q.returncode == 0, q.stderr
        int8s.append(out)
    return teacher, int8s


def uint8_frames(n, seed):
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, size=(n, 90)).astype(np.float32)
    frames[rng.random(frames.shape) < 0.2] = 0
    return frames


def test_convolutional_int8_students_compute_the_same_bits_everywhere(tmp_path, conv_students):
    """The NumPy reference, the core, the exported C and the exported Swift of an int8
    convolutional student (channels-first uint8 frames, scaled by 1/255 inside) agree bit for bit."""
    from test_code_export import SWIFT_DRIVER, SWIFTC
    teacher, int8s = conv_students
    for int8 in int8s:
        manifest = json.loads((int8 / "model.json").read_text())
        assert manifest["architecture"]["input_layout"] == "CHW"
        weight = next(t for t in manifest["tensors"] if t["name"] == "convs.0.weight")
        assert weight["dtype"] == "int8" and np.load(int8 / weight["file"]).shape == (4, 3, 3, 3)
        model = sd.load(int8)
        frames = uint8_frames(5_000, seed=4)
        reference = model.q_values(frames.reshape(-1, 3, 6, 5))  # the loader scales uint8 values by 1/255
        scaled = frames * np.float32(manifest["config"]["observation_scale"])
        assert np.array_equal(reference, core_q_values(int8, scaled)), "the core follows the NumPy reference"
        code = tmp_path / f"{int8.name}-c"
        assert run("export", str(int8), "--format", "c", "--output", str(code), "--name", "frames").returncode == 0
        results = evaluate_with(build_c(code, "frames", tmp_path), frames, tmp_path, model.action_count)
        assert np.array_equal(results["q"], reference)
        assert np.array_equal(results["action"], np.argmax(reference, axis=1))
        path = tmp_path / "Frames.swift"
        assert run("export", str(int8), "--format", "swift", "--output", str(path), "--name", "frames", "--force").returncode == 0
        (tmp_path / "main.swift").write_text(SWIFT_DRIVER.replace("TYPE", "Frames"))
        exe = tmp_path / "frames-swift"
        built = subprocess.run([SWIFTC, "-O", "-warnings-as-errors", str(path), str(tmp_path / "main.swift"), "-o", str(exe)],
                               capture_output=True, text=True, timeout=600)
        assert built.returncode == 0, built.stderr
        assert np.array_equal(evaluate_with([str(exe)], frames[:1000], tmp_path, model.action_count)["q"], reference[:1000])
    # The int8 teacher acts as its float self on most frames.
    float_actions = np.argmax(sd.load(teacher).q_values(uint8_frames(2_000, seed=5).reshape(-1, 3, 6, 5)), axis=1)
    int8_actions = np.argmax(sd.load(int8s[0]).q_values(uint8_frames(2_000, seed=5).reshape(-1, 3, 6, 5)), axis=1)
    assert np.mean(float_actions == int8_actions) > 0.8
