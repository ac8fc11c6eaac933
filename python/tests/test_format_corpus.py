"""One model-directory format, two readers: the Swift core (through _core) and the NumPy loader
accept and refuse the same directories, and neither traps, hangs or reads outside the directory."""
import json
import os
import random
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import swiftdistill as sd
from swiftdistill import _core


def swift_accepts(path):
    try:
        _core.q_values(model=str(path), observations=np.zeros((1, 6), np.float32))
        return True, ""
    except (ValueError, FileNotFoundError) as e:
        return False, str(e)


def numpy_accepts(path):
    try:
        sd.load(path)
        return True, ""
    except (ValueError, FileNotFoundError) as e:
        return False, str(e)


def npy_bytes(array, version=(1, 0), fortran=False):
    import io
    from numpy.lib import format as npformat
    stream = io.BytesIO()
    header = {"descr": npformat.dtype_to_descr(array.dtype), "fortran_order": fortran, "shape": array.shape}
    npformat._write_array_header(stream, header, version)
    stream.write(array.tobytes(order="F" if fortran else "C"))
    return stream.getvalue()


def edit(d, name, mutate_manifest=None, data=None, drop_checksums=True):
    """Replaces tensor `name`'s file bytes and/or edits the manifest."""
    manifest = json.loads((d / "model.json").read_text())
    entry = next(t for t in manifest["tensors"] if t["name"] == name)
    if data is not None:
        (d / entry["file"]).write_bytes(data)
    if drop_checksums:
        for t in manifest["tensors"]:
            t.pop("checksum", None)
    if mutate_manifest:
        mutate_manifest(manifest, entry)
    (d / "model.json").write_text(json.dumps(manifest))
    return entry


def corpus(base, root):
    """(name, directory, expected verdict) for valid and invalid variants of one model."""
    w0 = np.load(base / next(t["file"] for t in json.loads((base / "model.json").read_text())["tensors"]
                             if t["name"] == "layers.0.weight"))
    cases = []

    def case(name, expected, build):
        d = root / name
        shutil.copytree(base, d)
        build(d)
        cases.append((name, d, expected))

    case("valid", True, lambda d: None)
    case("float64", True, lambda d: edit(d, "layers.0.weight", data=npy_bytes(w0.astype("<f8"))))
    case("npy-version-2", True, lambda d: edit(d, "layers.0.weight", data=npy_bytes(w0, version=(2, 0))))
    case("parent-path", False, lambda d: edit(d, "layers.0.weight", lambda m, e: e.update(file="../outside.npy")))
    case("absolute-path", False, lambda d: edit(d, "layers.0.weight", lambda m, e: e.update(file="/etc/passwd")))
    case("big-endian", False, lambda d: edit(d, "layers.0.weight", data=npy_bytes(w0.astype(">f4"))))
    case("float16", False, lambda d: edit(d, "layers.0.weight", data=npy_bytes(w0.astype("<f2"))))
    case("fortran-order", False, lambda d: edit(d, "layers.0.weight", data=npy_bytes(w0, fortran=True)))
    case("newer-format", False, lambda d: edit(d, "layers.0.weight", lambda m, e: m.update(format_version=99)))
    case("manifest-shape-differs", False, lambda d: edit(d, "layers.0.weight", lambda m, e: e.update(shape=[1, 1])))
    case("truncated", False, lambda d: edit(d, "layers.0.weight", data=npy_bytes(w0)[:-8]))
    case("checksum", False, lambda d: (d / "layers.0.weight.npy").write_bytes(npy_bytes(w0 + 1))
         if (d / "layers.0.weight.npy").exists() else edit(d, "layers.0.weight", data=npy_bytes(w0 + 1), drop_checksums=False))
    case("oversized-file", False, lambda d: edit(d, "layers.0.weight", data=npy_bytes(w0) + bytes(200_000)))
    case("huge-header-shape", False, lambda d: edit(d, "layers.0.weight",
                                                    data=npy_bytes(w0).replace(b"(6, 32)", b"(2305843009213693952, 4)", 1)))

    def symlink(d):
        entry = edit(d, "layers.0.weight")
        target = d / entry["file"]
        moved = root / f"{d.name}-outside.npy"
        shutil.move(target, moved)
        os.symlink(moved, target)
    case("symlink", False, symlink)

    def fifo(d):
        entry = edit(d, "layers.0.weight")
        (d / entry["file"]).unlink()
        os.mkfifo(d / entry["file"])
    case("fifo", False, fifo)
    case("missing-metrics-key", False, lambda d: edit(d, "layers.0.weight", lambda m, e: m.pop("metrics")))
    nan, inf = w0.copy(), w0.copy()
    nan[0, 0], inf[1, 1] = np.nan, -np.inf
    case("nan-weight", False, lambda d: edit(d, "layers.0.weight", data=npy_bytes(nan)))
    case("inf-weight", False, lambda d: edit(d, "layers.0.weight", data=npy_bytes(inf)))

    def with_bom(d):
        edit(d, "layers.0.weight")
        (d / "model.json").write_bytes(b"\xef\xbb\xbf" + (d / "model.json").read_bytes())
    case("utf8-bom", True, with_bom)

    def deeply_nested(d):
        edit(d, "layers.0.weight")
        text = (d / "model.json").read_text()
        (d / "model.json").write_text(text.replace('"metrics": {', '"metrics": {"deep": ' + "[" * 100_000 + "]" * 100_000 + ", ", 1))
    case("deeply-nested", False, deeply_nested)
    case("huge-integer", False, lambda d: edit(d, "layers.0.weight",
                                               lambda m, e: m["architecture"].update(input_size=10 ** 30)))
    case("fractional-shape", False, lambda d: edit(d, "layers.0.weight", lambda m, e: e.update(shape=[6.5, 32])))
    case("top-level-list", False, lambda d: (d / "model.json").write_text("[1, 2]"))
    # Heads: categorical and continuous ones (with their bounds) are read; a continuous head
    # without bounds, with bounds of the wrong length or inverted, or an unknown head is not.
    outputs = json.loads((base / "model.json").read_text())["architecture"]["output_size"]

    def head(name, **bounds):
        return lambda d: edit(d, "layers.0.weight", lambda m, e: m["architecture"].update(head=name, **bounds))
    case("categorical-head", True, head("categorical"))
    case("squashed-head", True, head("squashed", action_low=[-1.0] * outputs, action_high=[1.0] * outputs))
    case("gaussian-head", True, head("gaussian", action_low=[-2] * outputs, action_high=[2.5] * outputs))
    case("squashed-without-bounds", False, head("squashed"))
    case("squashed-short-bounds", False, head("squashed", action_low=[-1.0], action_high=[1.0] * (outputs + 1)))
    case("squashed-inverted-bounds", False, head("squashed", action_low=[1.0] * outputs, action_high=[-1.0] * outputs))
    case("squashed-infinite-bound", False, head("squashed", action_low=[-1e400] * outputs, action_high=[1.0] * outputs))
    case("unknown-head", False, head("poisson"))
    return cases


def test_both_readers_accept_and_refuse_the_same_directories(tmp_path, corridor_teacher):
    for name, d, expected in corpus(corridor_teacher.path, tmp_path):
        swift, why_swift = swift_accepts(d)
        numpy_, why_numpy = numpy_accepts(d)
        assert swift == expected, f"{name}: Swift {'accepted' if swift else 'refused: ' + why_swift}"
        assert numpy_ == expected, f"{name}: NumPy loader {'accepted' if numpy_ else 'refused: ' + why_numpy}"


def test_random_mutations_never_trap_or_hang(tmp_path, corridor_teacher):
    """Byte-level mutations of model.json and a tensor file, read by both loaders in a child
    process (a trap would kill it): every outcome is a load or a Python exception."""
    script = textwrap.dedent(f"""
        import json, os, random, shutil, sys
        import numpy as np
        import swiftdistill as sd
        from swiftdistill import _core
        base, root = sys.argv[1], sys.argv[2]
        rng = random.Random(7)
        outcomes = {{}}
        for i in range(150):
            d = os.path.join(root, f"m{{i}}")
            shutil.copytree(base, d)
            target = os.path.join(d, "model.json" if i % 2 else json.load(open(os.path.join(d, "model.json")))["tensors"][0]["file"])
            data = bytearray(open(target, "rb").read())
            for _ in range(rng.randint(1, 4)):
                kind = rng.random()
                pos = rng.randrange(len(data))
                if kind < 0.6:
                    data[pos] = rng.randrange(256)
                elif kind < 0.8:
                    del data[pos:pos + rng.randint(1, 16)]
                else:
                    data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
            open(target, "wb").write(bytes(data))
            for reader in ("swift", "numpy"):
                try:
                    if reader == "swift":
                        _core.q_values(model=d, observations=np.zeros((1, 6), np.float32))
                    else:
                        sd.load(d)
                    outcomes[reader + " loaded"] = outcomes.get(reader + " loaded", 0) + 1
                except (ValueError, FileNotFoundError) as e:
                    outcomes[reader + " refused"] = outcomes.get(reader + " refused", 0) + 1
        print(json.dumps(outcomes))
    """)
    result = subprocess.run([sys.executable, "-c", script, str(corridor_teacher.path), str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"a reader trapped or raised something else: {result.returncode} {result.stderr[-2000:]}"
    outcomes = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcomes.get("swift refused", 0) > 50 and outcomes.get("numpy refused", 0) > 50, outcomes


def test_manifest_errors_name_the_files_own_keys(tmp_path, corridor_teacher):
    """Both readers word a manifest problem with the JSON path as the file spells it."""
    def hidden_text(m, e): m["architecture"]["hidden_sizes"] = "32"
    def checksum_number(m, e): m["tensors"][0]["checksum"] = 5
    def no_version(m, e): m.pop("format_version")
    def huge(m, e): m["architecture"]["input_size"] = 10 ** 30
    for i, (mutate, swift_says) in enumerate([(hidden_text, "architecture.hidden_sizes is not a list"),
                                              (checksum_number, "tensors[0].checksum is not a string"),
                                              (no_version, "missing key 'format_version'"),
                                              (huge, "architecture.input_size is not an integer of a usable size")]):
        d = tmp_path / f"m{i}"
        shutil.copytree(corridor_teacher.path, d)
        edit(d, "layers.0.weight", mutate, drop_checksums=False)
        accepted, why = swift_accepts(d)
        assert not accepted and swift_says in why, why
        assert "Index" not in why and "hiddenSizes" not in why and "formatVersion" not in why
