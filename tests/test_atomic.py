"""atomic_dir under kill -9 at every step of its swap: the target always holds the old folder or
the new one, complete; the next call cleans up and succeeds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from facscope import atomic
from facscope.atomic import DIR_STEPS, atomic_dir, atomic_path, recover_dir

_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    import facscope.atomic as a
    dest, kill_at, mode = sys.argv[1:4]
    if mode == "fallback":
        a._EXCHANGE = None
    def hook(step):
        if step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
    with a.atomic_dir(dest, on_step=hook) as tmp:
        (tmp / "data.txt").write_text("new")
        (tmp / "sub").mkdir()
        (tmp / "sub" / "more.txt").write_text("new")
    """
)


def _state(dest) -> str:
    """'old' / 'new' for a complete folder, 'missing', or 'mixed' (a half-swapped folder)."""
    if not dest.exists():
        return "missing"
    data = (dest / "data.txt").read_text()
    more = dest / "sub" / "more.txt"
    if data == "old" and not more.exists():
        return "old"
    if data == "new" and more.exists() and more.read_text() == "new":
        return "new"
    return "mixed"


def _old_folder(dest) -> None:
    dest.mkdir()
    (dest / "data.txt").write_text("old")


@pytest.mark.parametrize("mode", ["exchange", "fallback"])
@pytest.mark.parametrize("step", DIR_STEPS)
def test_a_kill_at_any_step_leaves_the_old_or_the_new_folder(tmp_path, mode, step):
    if mode == "exchange" and atomic._EXCHANGE is None:
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    if mode == "exchange" and step == "moved-aside":
        pytest.skip("the exchange swap has no moved-aside step")
    dest = tmp_path / "out"
    _old_folder(dest)
    proc = subprocess.run(
        [sys.executable, "-c", _WRITER, str(dest), step, mode], capture_output=True, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    before = ("written", "synced", "moved-aside")
    expected = "old" if step in before else "new"
    if step == "moved-aside":  # the one moment of the fallback with nothing at the target
        assert _state(dest) == "missing"
        recover_dir(dest)
    assert _state(dest) == expected
    # the next write cleans up what the kill left and replaces the folder
    with atomic_dir(dest) as tmp:
        (tmp / "data.txt").write_text("old")
    assert _state(dest) == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failing_body_keeps_the_old_folder(tmp_path):
    dest = tmp_path / "out"
    _old_folder(dest)
    with pytest.raises(RuntimeError), atomic_dir(dest) as tmp:
        (tmp / "data.txt").write_text("new")
        raise RuntimeError("stop")
    assert _state(dest) == "old" and sorted(os.listdir(tmp_path)) == ["out"]


def test_atomic_path_syncs_and_renames(tmp_path, monkeypatch):
    synced = []
    real = atomic._fsync_file
    monkeypatch.setattr(atomic, "_fsync_file", lambda p: (synced.append(str(p)), real(p)))
    with atomic_path(tmp_path / "a.txt") as tmp:
        tmp.write_text("x")
    assert (tmp_path / "a.txt").read_text() == "x"
    assert [s for s in synced if ".tmp" in s] and str(tmp_path) in synced  # file, then folder
    assert sorted(os.listdir(tmp_path)) == ["a.txt"]
