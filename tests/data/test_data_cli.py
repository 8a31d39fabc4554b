"""``facscope data list | inspect | check | export`` as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from facscope.cli.main import cli
from facscope.data import DATASETS, list_datasets


def invoke(*args: str):
    return CliRunner().invoke(cli, ["data", *args])


def test_list():
    res = invoke("list")
    assert res.exit_code == 0
    for name in ("casme2", "samm", "smic.hs", "megc2019", "csv", "folder", "disfa"):
        assert any(line.split()[0] == name for line in res.output.splitlines())
    listed = json.loads(invoke("list", "--json").output)
    assert listed == DATASETS.describe()
    assert list(listed) == list_datasets() == sorted(list_datasets())


def test_inspect_megc_shaped_manifest_counts(layouts):
    """The bar: right class and subject counts for 442 samples from 68 subjects."""
    path, exp = layouts["csv"]
    res = run("data", "inspect", "csv", "--root", str(path))
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert f"csv: {exp['samples']} samples, {exp['subjects']} subjects" in out
    for c, n in exp["classes"].items():
        assert any(line.split() == [c, str(n)] for line in out.splitlines()), out
    assert "problems: none" in out
    data = json.loads(invoke("inspect", "csv", "--root", str(path), "--json").output)
    assert data["classes"] == exp["classes"] and len(data["per_subject"]) == exp["subjects"]
    assert sum(data["per_subject"].values()) == exp["samples"]


def test_inspect_lists_problems_and_options(layouts):
    root, _ = layouts["casme2"]
    res = invoke("inspect", "casme2", "--root", str(root), "-O", "target=megc3")
    assert res.exit_code == 0, res.output
    assert "casme2: 5 samples, 3 subjects" in res.output
    assert "apex-missing: 1" in res.output and "sub01/EP03_02 (row 3)" in res.output
    assert "negative  2" in res.output
    res = invoke("inspect", "casme2", "--root", str(root), "--strict")
    assert res.exit_code == 1


def test_check_exit_codes(layouts, tmp_path):
    root, _ = layouts["casme2"]
    res = invoke("check", "casme2", "--root", str(root))
    assert res.exit_code == 1  # a missing folder, a gap, an out-of-range onset
    assert "3 problem(s) with files or indices" in res.output
    src, _ = layouts["casme3"]
    res = invoke("check", "casme3", "--root", str(src))
    assert res.exit_code == 0 and "0 problem(s) with files or indices" in res.output
    assert invoke("check", "casme3", "--root", str(src), "--all").exit_code == 1
    broken = tmp_path / "c3"
    shutil.copytree(src, broken)
    (broken / "part_A" / "spNO.1" / "b" / "color" / "7.jpg").unlink()  # an apex frame
    res = invoke("check", "casme3", "--root", str(broken), "--json")
    assert res.exit_code == 1
    assert json.loads(res.output)["failing"] == 1


def test_export_then_inspect_csv(layouts, tmp_path):
    root, _ = layouts["samm"]
    out = tmp_path / "samm.csv"
    res = invoke("export", "samm", "--root", str(root), "-o", str(out))
    assert res.exit_code == 0 and "4 samples of samm written" in res.output
    res = invoke("inspect", "csv", "--root", str(out), "--json")
    assert json.loads(res.output)["classes"] == {
        "anger": 1,
        "contempt": 1,
        "happiness": 1,
        "others": 1,
    }


def test_export_never_writes_over_an_input_or_a_foreign_file(layouts, tmp_path):
    root, _ = layouts["samm"]
    sheet = next(root.glob("*.xlsx"))
    before = sheet.read_bytes()
    for extra in ((), ("--overwrite",)):  # the dataset's own annotation workbook
        res = invoke("export", "samm", "--root", str(root), "-o", str(sheet), *extra)
        assert res.exit_code == 1 and sheet.read_bytes() == before
    out = tmp_path / "m.csv"
    assert invoke("export", "samm", "--root", str(root), "-o", str(out)).exit_code == 0
    res = invoke("export", "samm", "--root", str(root), "-o", str(out))
    assert res.exit_code == 1 and "--overwrite" in res.output
    assert (
        invoke("export", "samm", "--root", str(root), "-o", str(out), "--overwrite").exit_code == 0
    )
    res = invoke("export", "csv", "--root", str(out), "-o", str(out), "--overwrite")
    assert res.exit_code == 1 and "the dataset this command reads" in res.output


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "facscope.cli", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("inspect", "casme2"), "give the casme2 dataset's root with --root PATH"),
        (("inspect", "nope", "--root", "."), "dataset must be one of"),
        (("inspect", "casme2", "--root", "/no/such/dir"), "/no/such/dir: no such folder"),
        (("inspect", "casme2", "--root", ".", "-O", "cropped"), "-O expects KEY=VALUE"),
    ],
)
def test_errors_are_one_line(args, message):
    res = run("data", *args)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], res.stderr


def test_inspect_dfme_release_reads_the_three_workbooks(layouts):
    root, expected = layouts["dfme"]
    assert not list(root.glob("*.yaml")) and not (root / "DFME_labels.csv").exists()
    res = invoke("inspect", "dfme", "--root", str(root), "--examples", "1")
    assert res.exit_code == 0, res.output
    assert f"dfme: {expected['samples']} samples, {expected['subjects']} subjects" in res.output
    assert "splits: test_a 1, test_b 1, train 3" in res.output
    assert "side 3" in res.output and "unreadable 1" in res.output  # FACS marks counted
    assert "au-notation: 4" in res.output and "… and 3 more" in res.output
    data = json.loads(invoke("inspect", "dfme", "--root", str(root), "--json").output)
    assert data["facs_codes"]["unreadable"] == 1 and data["facs_codes"]["kind ad"] == 1
    kinds = {p["kind"] for p in data["problem_list"]}
    assert kinds == set(expected["problems"])
