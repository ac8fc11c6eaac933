"""The pure-NumPy loader: parity with the Swift core, and every error a user can meet."""
import json
import shutil

import numpy as np
import pytest

import swiftdistill as sd
from conftest import ROOT


def test_q_values_match_the_swift_core(corridor_teacher):
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(50, 6)).astype(np.float32)
    ours = corridor_teacher.q_values(obs)
    swift = sd.core_q_values(corridor_teacher, obs)
    assert ours.shape == swift.shape == (50, 2)
    np.testing.assert_allclose(ours, swift, rtol=1e-5, atol=1e-5)
    single = corridor_teacher.q_values(obs[0])
    assert single.shape == (2,) and np.allclose(single, swift[0], rtol=1e-5, atol=1e-5)
    assert corridor_teacher.act(obs[0]) == int(np.argmax(swift[0]))
    assert list(corridor_teacher.act(obs)) == list(np.argmax(swift, axis=1))


def test_params_manifest_and_hidden(corridor_teacher):
    m = corridor_teacher
    assert sorted(m.params) == ["layers.0.bias", "layers.0.weight", "layers.1.bias", "layers.1.weight"]
    assert m.params["layers.0.weight"].shape == (6, 32) and m.params["layers.0.weight"].dtype == np.float32
    assert m.manifest["environment"] == "Corridor-6" and m.hidden_sizes == [32] and m.action_count == 2
    x = np.eye(6, dtype=np.float32)
    h = m.hidden(x, 0)
    np.testing.assert_allclose(h, np.maximum(x @ m.params["layers.0.weight"] + m.params["layers.0.bias"], 0))
    with pytest.raises(ValueError, match="layer 1 does not exist"):
        m.hidden(x, 1)
    with pytest.raises(ValueError, match="expected observations with 6 values"):
        m.q_values(np.zeros(5))


@pytest.fixture
def copy_of(corridor_teacher, tmp_path):
    def make():
        target = tmp_path / "copy"
        shutil.copytree(corridor_teacher.path, target, ignore=shutil.ignore_patterns("last"))
        return target
    return make


def test_missing_directory_and_files(tmp_path, copy_of):
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        sd.load(tmp_path / "nothing")
    with pytest.raises(FileNotFoundError, match="model.json does not exist"):
        sd.load(tmp_path)
    d = copy_of()
    (d / "layers.1.bias.npy").unlink()
    with pytest.raises(FileNotFoundError, match="layers.1.bias.npy does not exist"):
        sd.load(d)


def test_corrupt_files_raise_value_errors(copy_of):
    d = copy_of()
    w = d / "layers.0.weight.npy"
    w.write_bytes(w.read_bytes()[:-12])
    with pytest.raises(ValueError, match="checksum"):
        sd.load(d)
    # Without checksums the truncated file itself is refused.
    manifest = json.loads((d / "model.json").read_text())
    for t in manifest["tensors"]:
        t.pop("checksum", None)
    (d / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="not a readable .npy"):
        sd.load(d)
    np.save(w, np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match=r"has shape \(3, 3\) but the architecture needs \(6, 32\)"):
        sd.load(d)
    (d / "model.json").write_text("{broken")
    with pytest.raises(ValueError, match="not a valid model manifest"):
        sd.load(d)


def test_onnx_export_reproduces_the_q_values(tmp_path, corridor_teacher):
    import subprocess
    ort = pytest.importorskip("onnxruntime")  # installed by `make test` (the package's "export" extra)
    path = corridor_teacher.to_onnx(tmp_path / "t.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    obs = np.random.default_rng(0).uniform(-1, 2, size=(50, 6)).astype(np.float32)
    q, action = session.run(["q_values", "action"], {"observation": obs})
    np.testing.assert_allclose(q, corridor_teacher.q_values(obs), rtol=1e-5, atol=1e-5)
    assert (action == corridor_teacher.act(obs)).all()
    # The command line writes the same model.
    cli = subprocess.run([str(ROOT / ".build" / "release" / "distill"), "export", str(corridor_teacher.path),
                          "--output", str(tmp_path / "cli.onnx")], capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    q2, = ort.InferenceSession(str(tmp_path / "cli.onnx"), providers=["CPUExecutionProvider"]).run(["q_values"], {"observation": obs})
    np.testing.assert_allclose(q2, q, rtol=0, atol=0)
