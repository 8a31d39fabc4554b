"""Published per-fold checkpoints: the public STSTNet state_dict layout (``conv1/2/3``,
``bn1/2/3``, ``fc``, legacy serialisation) loads into facscope's STSTNet and ``mer eval``
reproduces the predictions of the models that saved them; the channel order matters."""

from __future__ import annotations

import csv
import json
import zipfile

import cv2
import numpy as np
import pytest
import torch
from _flow_data import CLASSES, make_flow_manifest
from click.testing import CliRunner
from torch import nn

from facscope.cli.main import cli
from facscope.errors import ConfigError
from facscope.eval.predictions import read_predictions
from facscope.mer.config import TrainConfig
from facscope.mer.models import create_model
from facscope.mer.train import train


class PublicSTSTNet(nn.Module):
    """The public release's layout, written from its published architecture: three 3x3
    convolutions (3, 5, 8 filters, padding 2), ReLU, batch norm, 3x3/3 max pooling (padding 1),
    dropout, concatenation, 2x2 average pooling, one linear layer over 5 * 5 * 16 features."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 3, kernel_size=3, padding=2)
        self.conv2 = nn.Conv2d(3, 5, kernel_size=3, padding=2)
        self.conv3 = nn.Conv2d(3, 8, kernel_size=3, padding=2)
        self.bn1, self.bn2, self.bn3 = nn.BatchNorm2d(3), nn.BatchNorm2d(5), nn.BatchNorm2d(8)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=3, padding=1)
        self.avgpool = nn.AvgPool2d(kernel_size=2, stride=2)
        self.dropout = nn.Dropout(0.5)
        self.fc = nn.Linear(5 * 5 * 16, 3)

    def forward(self, x):
        parts = [
            self.dropout(self.maxpool(bn(torch.relu(conv(x)))))
            for conv, bn in ((self.conv1, self.bn1), (self.conv2, self.bn2), (self.conv3, self.bn3))
        ]
        return self.fc(torch.flatten(self.avgpool(torch.cat(parts, 1)), 1))


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """Six subjects' flow PNGs and one legacy-format checkpoint per subject, trained briefly on
    the images as the authors read them (cv2.imread: BGR, float 0..255)."""
    root = tmp_path_factory.mktemp("published")
    manifest = make_flow_manifest(root, subjects=6, per_class=2, seed=3)
    with open(manifest) as fh:
        rows = list(csv.DictReader(fh))
    x = torch.tensor(
        np.stack([cv2.imread(str(root / r["path"])) for r in rows]), dtype=torch.float32
    )
    x = x.permute(0, 3, 1, 2)
    y = torch.tensor([CLASSES.index(r["label"]) for r in rows])
    ckpts = root / "STSTNet_Weights"
    ckpts.mkdir()
    expected = {}
    for i, subject in enumerate(sorted({r["subject"] for r in rows})):
        torch.manual_seed(i)
        model = PublicSTSTNet()
        opt = torch.optim.Adam(model.parameters(), lr=0.005)
        for _ in range(15):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        torch.save(
            model.state_dict(), ckpts / f"{subject}.pth", _use_new_zipfile_serialization=False
        )
        model.eval()
        with torch.no_grad():
            for j, r in enumerate(rows):
                if r["subject"] == subject:
                    expected[f"{subject}/{r['path'].split('/')[-1][:-4]}"] = model(x[j : j + 1])[0]
    return root, manifest, ckpts, expected


def _eval_config(root, manifest, ckpts, name, order="bgr"):
    return TrainConfig(
        data="csv", root=str(manifest), classes=CLASSES, model="ststnet", protocol="loso",
        data_options={"kind": "flow", "flow_order": order, "flow_scale": "stored"},
        weights=str(ckpts / "{subject}.pth"), eval_only=True, cpu=True,
        cache_dir=str(root / "cache"), output_dir=str(root / name),
    )  # fmt: skip


def test_legacy_files_are_legacy_and_load_with_weights_only(published):
    _, _, ckpts, _ = published
    path = next(ckpts.glob("*.pth"))
    assert not zipfile.is_zipfile(path)  # the pre-zip format, as released
    model = create_model("ststnet", 3, weights=path)
    state = torch.load(path, weights_only=True)
    assert torch.equal(model.streams[2][2].running_var, state["bn3.running_var"])
    assert torch.equal(model.fc.weight, state["fc.weight"])


def test_eval_reproduces_the_saving_models_predictions(published):
    root, manifest, ckpts, expected = published
    result = train(_eval_config(root, manifest, ckpts, "eval-bgr"), progress=False)
    preds = result.predictions
    assert len(preds) == len(expected) == 36
    for sid, pred, probs in zip(preds.sample_ids, preds.y_pred, preds.probs):
        want = torch.softmax(expected[sid].double(), 0).numpy()
        assert pred == int(np.argmax(want)), sid
        np.testing.assert_allclose(probs, want, rtol=0, atol=1e-6)
    assert result.metrics["selection"].startswith("given weights")
    assert (root / "eval-bgr" / "report.md").is_file()


def test_channel_order_changes_the_predictions(published):
    root, manifest, ckpts, _ = published
    bgr = read_predictions(root / "eval-bgr" / "predictions.csv")
    rgb = train(_eval_config(root, manifest, ckpts, "eval-rgb", order="rgb"), progress=False)
    assert np.abs(rgb.predictions.probs - bgr.probs).max() > 0.05
    assert (rgb.predictions.y_pred != bgr.y_pred).any()
    # the checkpoints learnt from BGR input: read in RGB order they score worse
    bgr_uf1 = json.loads((root / "eval-bgr" / "metrics.json").read_text())["uf1"]
    assert rgb.metrics["uf1"] < bgr_uf1


def test_mer_eval_command_and_pattern_errors(published):
    root, manifest, ckpts, _ = published
    out = root / "cli-eval"
    args = [
        "mer", "eval", "--data", "csv", "--root", str(manifest), "--model", "ststnet",
        "--protocol", "loso", "--output-dir", str(out), "--cache-dir", str(root / "cache"),
        "--quiet", "--cpu", "--set", f"classes={list(CLASSES)}",
        "--set", "data_options={kind: flow, flow_order: bgr}",
        "--set", f"weights={ckpts}/{{subject}}.pth",
    ]  # fmt: skip
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "UF1 " in res.output and (out / "metrics.json").is_file()
    assert "  samm       UF1 " in res.output and "(12 samples)" in res.output  # per source
    kfold = _eval_config(root, manifest, ckpts, "kfold").replace(
        protocol="kfold", protocol_options={"k": 2}
    )
    with pytest.raises(ConfigError, match="tests 3 subjects"):
        train(kfold, progress=False)
    with pytest.raises(ConfigError, match="set weights"):
        TrainConfig(eval_only=True)
