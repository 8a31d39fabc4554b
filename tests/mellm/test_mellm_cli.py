"""`facscope mellm build | predict | eval` through the command line."""

from __future__ import annotations

import json

from click.testing import CliRunner

from facscope.cli.main import cli


def test_build_writes_records_and_formats(synth_root, tmp_path):
    out = tmp_path / "b"
    args = ["mellm", "build", "--data", "casme2", "--root", str(synth_root), "--size", "48",
            "--format", "llava", "--format", "mevqa", "--limit", "2", "--no-progress", "-o", str(out)]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output[res.output.index("{") :])
    assert summary["records"] == 2 and set(summary["formats"]) == {"llava", "mevqa"}
    assert (out / "llava.json").is_file() and (out / "mevqa.jsonl").is_file()
    assert json.loads((out / "build.json").read_text())["config"]["motion"]["size"] == 48
    again = CliRunner().invoke(cli, args)
    assert json.loads(again.output[again.output.index("{") :])["cached"] == 2


def test_eval_scores_a_predictions_file(build_dir, tmp_path):
    rows = [json.loads(x) for x in (build_dir / "records.jsonl").read_text().splitlines()]
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps({"id": r["id"], "text": r["target"]}) + "\n" for r in rows))
    out = tmp_path / "e"
    res = CliRunner().invoke(cli, ["mellm", "eval", "--build", str(build_dir), "--predictions",
                                   str(preds), "--aus", "1,2,4,12", "-o", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    report = json.loads((out / "eval.json").read_text())
    assert report["fine"]["uf1"] == 1.0 and report["au"]["aus"] == [1, 2, 4, 12]


def test_clear_errors(build_dir, tmp_path):
    runner = CliRunner()
    res = runner.invoke(
        cli, ["mellm", "predict", "--build", str(build_dir), "-o", str(tmp_path / "p.jsonl")]
    )
    assert res.exit_code == 1 and "--model" in res.output
    res = runner.invoke(
        cli, ["mellm", "eval", "-o", str(tmp_path / "e"), "--predictions", __file__]
    )
    assert res.exit_code == 1 and "--build" in res.output
    res = runner.invoke(cli, ["mellm", "eval", "--build", str(build_dir), "--predictions", __file__,
                              "--aus", "1,x", "-o", str(tmp_path / "e")])  # fmt: skip
    assert res.exit_code == 1 and "--aus" in res.output
    assert "build" in runner.invoke(cli, ["mellm", "--help"]).output
