"""Writes that a kill cannot half-finish: a file or a whole folder appears complete or not at all.

* :func:`atomic_path` — a temporary file beside the target, fsync'd, then renamed onto it; the
  folder is fsync'd after the rename, so the new name survives a power cut too.
* :func:`atomic_dir` — a temporary folder beside the target; every file in it is fsync'd, then it
  is **swapped** with the old folder in one step (Linux ``renameat2(RENAME_EXCHANGE)``), and only
  then is the old folder deleted. A kill at any moment leaves the old folder or the new one at
  the target. Where the kernel or file system has no exchange, the old folder is first renamed
  aside (``.NAME.old-*``) and the new one renamed in; a kill between the two leaves the target
  missing for a moment, and the next :func:`atomic_dir` (or :func:`recover_dir`) on it puts the
  old folder back.

Both honour the umask (``mkstemp``/``mkdtemp`` would make 0600/0700 entries).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["DIR_STEPS", "atomic_dir", "atomic_path", "fsync_dir", "fsync_tree", "recover_dir"]

#: Steps of :func:`atomic_dir`'s swap, in order, as passed to its ``on_step`` hook (tests kill
#: the process at each to check that the old or the new folder is always there);
#: ``moved-aside`` happens only in the fallback swap, without ``renameat2``.
DIR_STEPS = ("written", "synced", "moved-aside", "swapped", "cleaned")

_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: read once: os.umask can only be read by setting it, which is not thread-safe
_UMASK = _read_umask()


def _fsync_file(path: str | os.PathLike[str]) -> None:
    """fsync a file, or a folder (its entries: names created, renamed or removed)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make the entries of ``folder`` (names created, renamed or removed) durable."""
    _fsync_file(folder)


def fsync_tree(root: str | os.PathLike[str]) -> None:
    """fsync every file and folder below ``root`` (and ``root`` itself)."""
    for folder, _, files in os.walk(root):
        for name in files:
            _fsync_file(os.path.join(folder, name))
        fsync_dir(folder)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is fsync'd and renamed onto
    ``path``. A crash or kill leaves no partial file at ``path``."""
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{dest.name}.", suffix=f".tmp{dest.suffix}", dir=dest.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)
    try:
        yield tmp_path
        _fsync_file(tmp_path)
        os.replace(tmp_path, dest)
        fsync_dir(dest.parent)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _libc_exchange() -> Callable[[bytes, bytes], bool] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):  # not glibc >= 2.28 / not Linux
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]

    def exchange(a: bytes, b: bytes) -> bool:
        return fn(_AT_FDCWD, a, _AT_FDCWD, b, _RENAME_EXCHANGE) == 0

    return exchange


_EXCHANGE = _libc_exchange()


def _swap(new: Path, dest: Path, on_step: Callable[[str], None]) -> Path | None:
    """Put ``new`` at ``dest``; return where the old folder now is (None if there was none)."""
    if not dest.exists():
        os.replace(new, dest)
        return None
    if _EXCHANGE is not None and _EXCHANGE(os.fsencode(new), os.fsencode(dest)):
        return new  # the old folder now has the temporary name
    old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
    os.replace(dest, old)  # replaces the empty placeholder folder
    on_step("moved-aside")
    os.replace(new, dest)
    return old


def recover_dir(path: str | os.PathLike[str]) -> None:
    """After a kill inside :func:`atomic_dir`'s fallback swap: if ``path`` is missing and its
    old folder was moved aside, put it back; remove leftover temporaries either way."""
    dest = Path(path)
    if not dest.parent.is_dir():
        return
    olds = sorted(dest.parent.glob(f".{dest.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if not dest.exists() and olds:
        os.replace(olds.pop(), dest)
    for leftover in [*olds, *dest.parent.glob(f".{dest.name}.tmp-*")]:
        shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def atomic_dir(
    path: str | os.PathLike[str], *, on_step: Callable[[str], None] | None = None
) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` whole.

    A crash or kill at any point leaves either the old folder or the new one at ``path`` (see
    the module docstring); leftovers of an earlier kill are cleaned up first. ``on_step`` is
    called with each name of :data:`DIR_STEPS` as the swap proceeds (a test hook).
    """
    step = on_step or (lambda name: None)
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    recover_dir(dest)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    os.chmod(tmp, 0o777 & ~_UMASK)
    try:
        yield tmp
        step("written")
        fsync_tree(tmp)
        step("synced")
        old = _swap(tmp, dest, step)
        fsync_dir(dest.parent)
        step("swapped")
        if old is not None:
            shutil.rmtree(old)
        step("cleaned")
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
