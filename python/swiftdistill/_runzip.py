"""The run directory behind an SB3-shaped model (``DQN``, ``Student``) and its ``.zip`` form:
where a run lives, how ``save`` archives it and how ``load`` unpacks it (as data: nothing in the
archive may land outside the directory it is unpacked into)."""
import os
import shutil
import tempfile
import weakref
import zipfile
from pathlib import Path
from typing import Callable, Optional, Tuple, Union

PathLike = Union[str, "os.PathLike[str]"]


class ScratchDirectory(tempfile.TemporaryDirectory):  # type: ignore[type-arg]
    """A temporary directory that lives as long as the object holding it (a model's run, an
    unpacked save) and is removed with it, without the ResourceWarning Python gives a
    ``TemporaryDirectory`` collected unclosed: outliving its ``with`` is its purpose here."""

    def __init__(self, prefix: str) -> None:
        super().__init__(prefix=prefix)
        self._finalizer.detach()  # type: ignore[has-type]
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.name, ignore_errors=True)


def run_directory(tensorboard_log: Optional[str], tb_log_name: str,
                  prefix: str) -> Tuple[Path, Optional["tempfile.TemporaryDirectory[str]"]]:
    """A new run directory: ``tensorboard_log/NAME_N`` (the next N, as SB3 numbers its logs), or
    ``run`` inside a temporary directory (returned too, so it lives as long as its model)."""
    if tensorboard_log:
        root = Path(tensorboard_log)
        root.mkdir(parents=True, exist_ok=True)
        index = 1 + max([int(p.name.rsplit("_", 1)[1]) for p in root.glob(f"{tb_log_name}_*")
                         if p.name.rsplit("_", 1)[1].isdigit()] or [0])
        return root / f"{tb_log_name}_{index}", None
    temporary = ScratchDirectory(prefix)
    return Path(temporary.name) / "run", temporary


def zip_path(path: PathLike) -> Path:
    """``path`` with ``.zip`` added, as SB3's ``save`` adds it."""
    target = Path(path)
    return target if target.suffix == ".zip" else target.with_name(target.name + ".zip")


def archive(directory: Path, target: Path, leave_out: Optional[Callable[[str], bool]] = None) -> None:
    """Writes ``directory`` as the zip ``target``, whole: written beside the target, then renamed
    over it (the old file or the new one, never part of one). ``leave_out`` is asked about each
    file's path inside the directory (``last/replay.json``)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(target.name + ".writing")
    try:
        with zipfile.ZipFile(staged, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in sorted(directory.rglob("*")):
                name = path.relative_to(directory).as_posix()
                if path.is_file() and not path.is_symlink() and not (leave_out and leave_out(name)):
                    zipped.write(path, name)
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)


def extract(source: Path, into: Path, what: str) -> None:
    """Unpacks the zip ``source`` into ``into`` as data: refused in a sentence when it is not a
    zip, names a file outside ``into``, or unpacks to more than the disk there has free (a zip
    bomb, or a large replay buffer on a small temporary disk) — checked on the sizes the archive
    declares, which ``zipfile`` holds every member to as it unpacks."""
    try:
        with zipfile.ZipFile(source) as zipped:
            inside = into.resolve()
            members = zipped.infolist()
            for member in members:
                if not (into / member.filename).resolve().is_relative_to(inside):
                    raise ValueError(f"{source} is not a saved swiftdistill {what}: it names a file outside itself "
                                     f"({member.filename})")
            unpacked = sum(member.file_size for member in members)
            disk = next(p for p in [into, *into.parents] if p.exists())
            free = shutil.disk_usage(disk).free
            if unpacked > free:
                raise ValueError(f"{source} unpacks to {_size(unpacked)}, more than the {_size(free)} free in {disk}; "
                                 "free some space there or set TMPDIR to a larger disk")
            zipped.extractall(into)
    except zipfile.BadZipFile:
        raise ValueError(f"{source} is not a saved swiftdistill {what} (not a zip)") from None


def _size(count: int) -> str:
    """Bytes as a person reads them: 512 B, 3.1 MB, 12.0 GB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


def unpack(path: PathLike, what: str, prefix: str) -> Tuple[Path, "tempfile.TemporaryDirectory[str]"]:
    """Unpacks a saved run (``path``, or ``path.zip``) into a temporary directory, refusing an
    archive that names a file outside it or holds no checkpoint (``last/state.json``)."""
    source = Path(path)
    if not source.exists() and source.suffix != ".zip":
        source = source.with_name(source.name + ".zip")
    temporary = ScratchDirectory(prefix)
    run = Path(temporary.name) / "run"
    extract(source, run, what)
    if not (run / "last" / "state.json").exists():
        raise ValueError(f"{source} is not a saved swiftdistill {what}: it holds no last/state.json")
    return run, temporary
