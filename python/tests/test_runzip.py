"""Saved runs and replay buffers unpack as data: an archive that names a file outside the
directory it unpacks into, or that unpacks to more than the disk has free, is refused in a
sentence before anything is written."""
import shutil
import zipfile
from collections import namedtuple

import pytest

from swiftdistill import _runzip


def write_zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_an_archive_unpacks_into_its_directory(tmp_path):
    source = write_zip(tmp_path / "run.zip", {"last/state.json": "{}", "model.json": "{}"})
    _runzip.extract(source, tmp_path / "run", "DQN")
    assert (tmp_path / "run" / "last" / "state.json").read_text() == "{}"


@pytest.mark.parametrize("name", ["../outside.json", "../run2/x.json", "/etc/passwd-copy"])
def test_members_outside_the_directory_are_refused(tmp_path, name):
    # "../run2/x.json" lands in a sibling whose name begins with the directory's own ("run").
    source = write_zip(tmp_path / "evil.zip", {"last/state.json": "{}", name: "x"})
    with pytest.raises(ValueError, match="names a file outside itself"):
        _runzip.extract(source, tmp_path / "run", "DQN")
    assert not (tmp_path / "run").exists() and not (tmp_path / "run2").exists() and not (tmp_path / "outside.json").exists()


def test_an_archive_larger_than_the_free_disk_is_refused(tmp_path, monkeypatch):
    # 4 MB of zeros deflate to a few KB: what a zip bomb does at scale. The disk is told to have 1 MB free.
    source = write_zip(tmp_path / "bomb.zip", {"last/state.json": "{}", "replay.frames.npy": b"\0" * 4_000_000})
    assert source.stat().st_size < 100_000
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 10**6, 10**6))
    with pytest.raises(ValueError, match=r"unpacks to 4\.0 MB, more than the 1\.0 MB free in .*set TMPDIR"):
        _runzip.extract(source, tmp_path / "run", "replay buffer")
    assert not (tmp_path / "run").exists()


def test_a_file_that_is_not_a_zip_is_refused(tmp_path):
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a saved swiftdistill model \\(not a zip\\)"):
        _runzip.extract(tmp_path / "junk.zip", tmp_path / "run", "model")
