"""The model registry: declared inputs, one training step each, safe checkpoint loading."""

from __future__ import annotations

import pytest
import torch

from facscope.errors import ConfigError, FacscopeDataWarning, InputFileError
from facscope.mer.models import create_model, list_models, load_weights, model_input

VIDEO = ["mc3_18", "r2plus1d_18", "r3d_18", "s3d"]
FLOW = ["off_apexnet", "ststnet"]
TINY = {"s3d": {"adaptive_pool": True}}


def test_registry_lists_video_and_flow_models():
    assert list_models() == sorted(VIDEO + FLOW)
    for name in VIDEO:
        assert model_input(name).kind == "clip"
    assert model_input("ststnet").shape() == (3, 28, 28)
    assert model_input("off_apexnet").channels == ("u", "v")
    assert model_input("r3d_18").shape() == (3, 16, 112, 112)


def test_s3d_declares_its_minimum_input():
    spec = model_input("s3d")
    assert (spec.min_size, spec.min_frames, spec.size) == (224, 14, 224)
    with pytest.raises(ConfigError, match="minimum of 224 px"):
        spec.resolve(size=112)
    with pytest.raises(ConfigError, match="minimum of 14"):
        spec.resolve(frames=8)
    reduced = model_input("s3d", adaptive_pool=True).resolve(frames=8, size=32)
    assert reduced.shape() == (3, 8, 32, 32)


def test_flow_models_take_their_size_from_input_size():
    with pytest.raises(ConfigError, match="input_size=42"):
        model_input("ststnet").resolve(size=42)
    m = create_model("ststnet", 3, input_size=42)
    assert m.input_spec.size == 42
    assert m(torch.rand(2, 3, 42, 42)).shape == (2, 3)


@pytest.mark.parametrize("name", VIDEO + FLOW)
def test_every_model_trains_one_step_on_tiny_inputs(name):
    torch.manual_seed(0)
    model = create_model(name, 4, **TINY.get(name, {}))
    spec = model.input_spec
    if spec.kind == "clip":
        spec = spec.resolve(frames=max(spec.min_frames, 2 if name != "s3d" else 8), size=32)
    x = torch.rand(2, *spec.shape())
    y = torch.tensor([1, 3])
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    logits = model(x)
    assert logits.shape == (2, 4)
    loss = torch.nn.functional.cross_entropy(logits, y)
    loss.backward()
    opt.step()
    changed = sum(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert changed >= len(before) // 2  # most parameters moved
    assert torch.isfinite(loss)


def test_checkpoint_round_trip_prefix_and_head_mismatch(tmp_path):
    src = create_model("ststnet", 3)
    path = tmp_path / "w.pt"
    torch.save({"model": {f"module.{k}": v for k, v in src.state_dict().items()}}, path)
    dst = create_model("ststnet", 3, weights=path)
    for k, v in src.state_dict().items():
        assert torch.equal(v, dst.state_dict()[k]), k
    with pytest.warns(FacscopeDataWarning, match="classification head"):
        other = create_model("ststnet", 5, weights=path)
    assert other.fc.out_features == 5
    assert torch.equal(other.streams[0][0].weight, src.streams[0][0].weight)


def test_checkpoint_errors_are_clear(tmp_path):
    missing = tmp_path / "none.pt"
    with pytest.raises(InputFileError, match="no such checkpoint"):
        create_model("ststnet", 3, weights=missing)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(InputFileError, match="weights_only=True"):
        create_model("ststnet", 3, weights=junk)
    wrong = tmp_path / "wrong.pt"
    torch.save(create_model("off_apexnet", 3).state_dict(), wrong)
    with pytest.raises(ConfigError, match="does not match STSTNet"):
        create_model("ststnet", 3, weights=wrong)
    widths = tmp_path / "widths.pt"
    torch.save(create_model("ststnet", 3, widths=(4, 5, 8)).state_dict(), widths)
    with pytest.raises(ConfigError, match="shape mismatches"):
        load_weights(create_model("ststnet", 3), widths, head=("fc.",))


def test_pickled_objects_are_not_executed(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pt"
    torch.save({"model": Evil()}, path)
    with pytest.raises(InputFileError, match="weights_only=True"):
        create_model("ststnet", 3, weights=path)


@pytest.mark.parametrize(
    ("args", "kw", "match"),
    [
        (("nope", 3), {}, "model must be one of"),
        (("ststnet", 1), {}, "num_classes"),
        (("ststnet", 3), {"bogus": 1}, "does not accept"),
        (("ststnet", 3), {"widths": (3, 5)}, "three positive"),
    ],
)
def test_bad_model_arguments(args, kw, match):
    with pytest.raises(ConfigError, match=match):
        create_model(*args, **kw)


def test_wrong_input_shape_names_the_expected_one():
    with pytest.raises(ConfigError, match=r"\(N, 2, H, W\)"):
        create_model("off_apexnet", 3)(torch.zeros(1, 3, 28, 28))


def test_cli_lists_every_registered_name():
    from click.testing import CliRunner

    from facscope.cli.main import cli
    from facscope.mer.imbalance import list_imbalance
    from facscope.mer.sampling import list_samplers

    res = CliRunner().invoke(cli, ["mer", "list"])
    assert res.exit_code == 0, res.output
    for name in [*list_models(), *list_samplers(), *list_imbalance(), "loso", "kfold"]:
        assert f"  {name} " in res.output
    assert "clip (3, 16, 224, 224)" in res.output  # S3D's declared input


def test_s3d_batch_norm_momentum_suits_training_from_scratch():
    bn = [m for m in create_model("s3d", 3).modules() if isinstance(m, torch.nn.BatchNorm3d)]
    assert bn and {m.momentum for m in bn} == {0.1}
    tv = create_model("s3d", 3, bn_momentum=0.001)
    assert {m.momentum for m in tv.modules() if isinstance(m, torch.nn.BatchNorm3d)} == {0.001}
    with pytest.raises(ConfigError, match="bn_momentum"):
        create_model("s3d", 3, bn_momentum=0.0)
