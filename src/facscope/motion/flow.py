"""Dense optical flow behind a registry of methods.

Every method returns an (H, W, 2) ``float32`` field in pixels in OpenCV's convention: channel 0
is the horizontal displacement ``u`` (x, to the right), channel 1 the vertical ``v`` (y, down), and

    prev(y, x) ≈ next(y + flow[y, x, 1], x + flow[y, x, 0])

``tvl1`` is the micro-expression standard (OpenCV contrib's Dual TV-L1 with OpenCV's default
parameters) and ``tvl1.fine`` the same with two parameters changed for sub-pixel motion on face
crops; ``dis`` and ``farneback`` are fast plain-OpenCV alternatives; ``tvl1.skimage`` and
``ilk.skimage`` are scikit-image's TV-L1 and iterative Lucas-Kanade. Add a method with
``@FLOWS.register("name")`` on a class whose ``__call__(prev, next)`` returns such a field.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from facscope.errors import ConfigError
from facscope.registry import Registry

__all__ = [
    "FLOWS",
    "FlowMethod",
    "compute_flow",
    "create_flow",
    "endpoint_error",
    "list_flows",
    "to_gray",
]


class FlowMethod(Protocol):
    def __call__(self, prev: np.ndarray, next: np.ndarray) -> np.ndarray:
        """Flow from ``prev`` to ``next`` (grayscale uint8, same shape): (H, W, 2) float32."""
        ...

    def params(self) -> dict[str, Any]:
        """The method's parameters, for the record written beside every output."""
        ...


FLOWS: Registry[FlowMethod] = Registry("flow method")


class _Params:
    """Keeps the constructor's keyword arguments for :meth:`params`."""

    _params: dict[str, Any]

    def _keep(self, arguments: dict[str, Any]) -> None:
        """Keep ``locals()`` taken first thing in ``__init__``: its keyword arguments, in order."""
        self._params = {k: v for k, v in arguments.items() if k != "self"}

    def params(self) -> dict[str, Any]:
        return dict(self._params)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"{type(self).__name__}({args})"


@FLOWS.register("tvl1")
class TVL1Flow(_Params):
    """TV-L1 (OpenCV contrib ``DualTVL1OpticalFlow``); the defaults are OpenCV's own.

    Args:
        tau: time step of the numerical scheme.
        lambda_: weight of the data term (smaller = smoother flow).
        theta: tightness between the two coupled variables.
        scales: number of pyramid scales.
        warps: warpings per scale.
        epsilon: stopping threshold of the inner loop.
        inner_iterations: inner iterations per warping.
        outer_iterations: outer iterations per warping.
        scale_step: pyramid downscale factor between scales.
        gamma: weight of the illumination-change term (0 = off).
        median_filtering: median-filter size applied to the flow between warps.
    """

    def __init__(
        self,
        *,
        tau: float = 0.25,
        lambda_: float = 0.15,
        theta: float = 0.3,
        scales: int = 5,
        warps: int = 5,
        epsilon: float = 0.01,
        inner_iterations: int = 30,
        outer_iterations: int = 10,
        scale_step: float = 0.8,
        gamma: float = 0.0,
        median_filtering: int = 5,
    ) -> None:
        self._keep(locals())
        import cv2

        if not 0 < scale_step < 1:
            raise ConfigError(f"tvl1 scale_step must be in (0, 1); got {scale_step}")
        if scales < 1 or warps < 1:
            raise ConfigError(f"tvl1 scales and warps must be >= 1; got {scales}, {warps}")
        self._impl = cv2.optflow.DualTVL1OpticalFlow_create(
            tau=float(tau),
            lambda_=float(lambda_),
            theta=float(theta),
            nscales=int(scales),
            warps=int(warps),
            epsilon=float(epsilon),
            innnerIterations=int(inner_iterations),  # sic: OpenCV's spelling
            outerIterations=int(outer_iterations),
            scaleStep=float(scale_step),
            gamma=float(gamma),
            medianFiltering=int(median_filtering),
        )

    def __call__(self, prev: np.ndarray, next: np.ndarray) -> np.ndarray:
        return self._impl.calc(prev, next, None)


@FLOWS.register("tvl1.fine")
class TVL1FineFlow(TVL1Flow):
    """TV-L1 with a stronger data term and tighter coupling (λ 0.3, θ 0.1) for sub-pixel motion.

    OpenCV's defaults smooth sub-pixel facial motion on a face crop and underestimate it; on
    synthetic face crops (``benchmarks/flow_accuracy.py``) these two changes lower the error
    at 0.25–2 px and run faster (fewer iterations to converge). Every other parameter is
    OpenCV's default and all of them can still be set.
    """

    def __init__(self, *, lambda_: float = 0.3, theta: float = 0.1, **params: Any) -> None:
        super().__init__(lambda_=lambda_, theta=theta, **params)


@FLOWS.register("dis")
class DISFlow(_Params):
    """Dense Inverse Search (OpenCV ``DISOpticalFlow``): very fast, less accurate below 1 px.

    Args:
        preset: ``ultrafast``, ``fast`` or ``medium``.
        finest_scale, patch_size, patch_stride, gradient_descent_iterations,
        variational_refinement_iterations: override the preset's value when given.
    """

    _PRESETS = ("ultrafast", "fast", "medium")

    def __init__(
        self,
        *,
        preset: str = "medium",
        finest_scale: int | None = None,
        patch_size: int | None = None,
        patch_stride: int | None = None,
        gradient_descent_iterations: int | None = None,
        variational_refinement_iterations: int | None = None,
    ) -> None:
        import cv2

        if preset not in self._PRESETS:
            raise ConfigError(f"dis preset must be one of {self._PRESETS}; got {preset!r}")
        code = {
            "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
            "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
            "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
        }[preset]
        impl = cv2.DISOpticalFlow_create(code)
        setters = {
            "finest_scale": (finest_scale, impl.setFinestScale),
            "patch_size": (patch_size, impl.setPatchSize),
            "patch_stride": (patch_stride, impl.setPatchStride),
            "gradient_descent_iterations": (
                gradient_descent_iterations,
                impl.setGradientDescentIterations,
            ),
            "variational_refinement_iterations": (
                variational_refinement_iterations,
                impl.setVariationalRefinementIterations,
            ),
        }
        for value, setter in setters.values():
            if value is not None:
                setter(int(value))
        self._params = {"preset": preset, **{k: v for k, (v, _) in setters.items()}}
        self._impl = impl

    def __call__(self, prev: np.ndarray, next: np.ndarray) -> np.ndarray:
        return self._impl.calc(prev, next, None)


@FLOWS.register("farneback")
class FarnebackFlow(_Params):
    """Farneback polynomial-expansion flow (OpenCV), with OpenCV's sample parameters."""

    def __init__(
        self,
        *,
        pyr_scale: float = 0.5,
        levels: int = 3,
        winsize: int = 15,
        iterations: int = 3,
        poly_n: int = 5,
        poly_sigma: float = 1.2,
        gaussian: bool = False,
    ) -> None:
        self._keep(locals())
        if not 0 < pyr_scale < 1:
            raise ConfigError(f"farneback pyr_scale must be in (0, 1); got {pyr_scale}")

    def __call__(self, prev: np.ndarray, next: np.ndarray) -> np.ndarray:
        import cv2

        p = self._params
        flags = cv2.OPTFLOW_FARNEBACK_GAUSSIAN if p["gaussian"] else 0
        return cv2.calcOpticalFlowFarneback(
            prev,
            next,
            None,
            float(p["pyr_scale"]),
            int(p["levels"]),
            int(p["winsize"]),
            int(p["iterations"]),
            int(p["poly_n"]),
            float(p["poly_sigma"]),
            flags,
        )


class _SkimageFlow(_Params):
    """scikit-image flows return (v, u) (row, column) stacked first; facscope wants (u, v) last."""

    def _run(self, prev: np.ndarray, next: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, prev: np.ndarray, next: np.ndarray) -> np.ndarray:
        vu = self._run(prev.astype(np.float32) / 255.0, next.astype(np.float32) / 255.0)
        # skimage: reference(r, c) ≈ moving(r + v, c + u) — OpenCV's convention, axes swapped.
        return np.ascontiguousarray(np.stack([vu[1], vu[0]], axis=-1), dtype=np.float32)


@FLOWS.register("tvl1.skimage")
class SkimageTVL1Flow(_SkimageFlow):
    """TV-L1 from scikit-image (``optical_flow_tvl1``), scikit-image's default parameters."""

    def __init__(
        self,
        *,
        attachment: float = 15.0,
        tightness: float = 0.3,
        num_warp: int = 5,
        num_iter: int = 10,
        tol: float = 1e-4,
        prefilter: bool = False,
    ) -> None:
        self._keep(locals())

    def _run(self, prev: np.ndarray, next: np.ndarray) -> np.ndarray:
        from skimage.registration import optical_flow_tvl1

        return optical_flow_tvl1(prev, next, **self._params)


@FLOWS.register("ilk.skimage")
class SkimageILKFlow(_SkimageFlow):
    """Iterative Lucas-Kanade from scikit-image (``optical_flow_ilk``), its default parameters."""

    def __init__(
        self,
        *,
        radius: int = 7,
        num_warp: int = 10,
        gaussian: bool = False,
        prefilter: bool = False,
    ) -> None:
        self._keep(locals())

    def _run(self, prev: np.ndarray, next: np.ndarray) -> np.ndarray:
        from skimage.registration import optical_flow_ilk

        return optical_flow_ilk(prev, next, **self._params)


# Former names (before the registered-name style of facscope.registry).
FLOWS.alias("tvl1-skimage", "tvl1.skimage")
FLOWS.alias("ilk-skimage", "ilk.skimage")


def list_flows() -> list[str]:
    """Names of the registered flow methods."""
    return FLOWS.names()


def create_flow(name: str = "tvl1", **params: Any) -> FlowMethod:
    """The flow method registered as ``name``, built with ``params``."""
    try:
        return FLOWS.create(name, **params)
    except TypeError as exc:
        if "unexpected keyword" in str(exc):
            raise ConfigError(f"flow method {name!r}: {exc}") from None
        raise ConfigError(f"flow method {name!r}: a parameter has the wrong type ({exc})") from None
    except ValueError as exc:  # float('abc') inside a constructor
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(
            f"flow method {name!r}: a parameter value is not valid ({exc}); parameters are "
            f"{sorted(_parameter_names(name))}"
        ) from None


def _parameter_names(name: str) -> list[str]:
    import inspect

    signature = inspect.signature(FLOWS.get(name))
    return [p for p in signature.parameters if p not in ("self", "params")]


def to_gray(image: np.ndarray) -> np.ndarray:
    """A grayscale ``uint8`` (H, W) image from an RGB or grayscale array of any image dtype."""
    import cv2

    from facscope.io import to_rgb_uint8

    a = np.asarray(image)
    if a.ndim == 2 and a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    rgb = to_rgb_uint8(a)
    if a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 1):
        return np.ascontiguousarray(rgb[:, :, 0])
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def compute_flow(
    prev: np.ndarray, next: np.ndarray, method: str | FlowMethod = "tvl1", **params: Any
) -> np.ndarray:
    """Dense flow from ``prev`` to ``next``: (H, W, 2) ``float32`` pixels, OpenCV convention.

    Args:
        prev, next: images of the same size (RGB or grayscale; converted to grayscale uint8).
        method: a registered name (:func:`list_flows`) or a method instance.
        **params: the method's parameters (when ``method`` is a name).
    """
    a, b = to_gray(prev), to_gray(next)
    if a.shape != b.shape:
        raise ConfigError(f"prev and next must have the same size; got {a.shape} and {b.shape}")
    impl = create_flow(method, **params) if isinstance(method, str) else method
    flow = np.asarray(impl(a, b), dtype=np.float32)
    if flow.shape != (*a.shape, 2):
        raise ConfigError(f"flow method returned shape {flow.shape}; expected {(*a.shape, 2)}")
    return flow


def endpoint_error(flow: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean end-point error ``|flow − truth|`` in pixels, over ``mask`` (bool H×W) if given."""
    err = np.linalg.norm(np.asarray(flow, np.float64) - np.asarray(truth, np.float64), axis=-1)
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if not m.any():
            raise ConfigError("the EPE mask selects no pixels")
        err = err[m]
    return float(err.mean())
