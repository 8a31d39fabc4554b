"""Feeding cached clips and flow stacks to a model: a torch Dataset, a seeded sampler, the
DataLoader over them, and the on-device conversion to the model's input.

Workers hand over ``uint8`` clips (four times less to copy than float); the conversion to float,
the Kinetics normalisation and the ``(N, 3, T, H, W)`` layout happen on the device in
:func:`to_model_input`. Every random choice (order, jitter, flips) is a function of the run's
seed, the epoch and the sample index, so an epoch is the same whichever worker loads which
sample and whether the run was resumed. :class:`EpochSampler` hands the dataset
``(epoch, index)`` keys, so workers that live across epochs (``persistent_workers``) draw for
the right epoch without being told it.

A dataset keeps what it learnt from each clip entry it has read (the frames' header and the
frame numbers; at most :data:`KEPT_ENTRIES`), so a read after the first parses nothing and
reads only the frames picked (:class:`~facscope.mer.cache.FrameFile`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate

from facscope.data.sample import Sample
from facscope.errors import ConfigError
from facscope.mer.cache import FrameFile, load_entry
from facscope.mer.config import CLIP_INPUTS
from facscope.mer.models import ModelInput
from facscope.mer.sampling import gather_frames, sample_frames

__all__ = [
    "CLIP_INPUTS",
    "KEPT_ENTRIES",
    "CachedDataset",
    "EpochSampler",
    "collate",
    "loader_workers",
    "make_loader",
    "to_model_input",
]

#: Most clip entries a dataset keeps per process (a header and the frame numbers each, no open
#: file); past it the oldest half is dropped.
KEPT_ENTRIES = 16384


class CachedDataset(Dataset):
    """Samples read from cache entries, as ``(input, label, index)``.

    For clip models the input is ``uint8`` ``(T, H, W, 3)`` picked by the sampling strategy
    (with jitter and flips when ``train``); for flow models ``float32`` ``(C, H, W)``
    (``C`` = the model's channels: u, v[, strain]). Horizontal flips mirror the image; for flow
    they also negate u.

    Args:
        samples, entries, labels: aligned sequences (label ids; -1 allowed for prediction only).
        spec: the model's resolved input.
        sampling, window, jitter: key-frame sampling (clips only).
        train: apply jitter and flips.
        hflip: random horizontal flips (training only).
        seed: the run's seed.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        entries: Sequence[Path],
        labels: Sequence[int],
        spec: ModelInput,
        *,
        sampling: str = "uniform",
        window: float = 0.1,
        jitter: float = 0.0,
        train: bool = False,
        hflip: bool = False,
        seed: int = 0,
    ) -> None:
        if not len(samples) == len(entries) == len(labels):
            raise ConfigError("samples, entries and labels must have the same length")
        self.samples = list(samples)
        self.entries = [Path(e) for e in entries]
        self.labels = [int(v) for v in labels]
        self.spec = spec
        self.sampling = sampling
        self.window = window
        self.jitter = jitter if train else 0.0
        self.hflip = hflip and train
        self.seed = int(seed)
        self.epoch = 0
        self._kept: dict[Path, tuple[FrameFile, np.ndarray]] = {}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.samples)

    def _clip_entry(self, index: int) -> tuple[FrameFile, np.ndarray]:
        path = self.entries[index]
        kept = self._kept.get(path)
        if kept is None:
            if len(self._kept) >= KEPT_ENTRIES:
                for key in list(self._kept)[: KEPT_ENTRIES // 2]:
                    del self._kept[key]
            numbers = np.load(path / "numbers.npy")
            kept = self._kept[path] = (FrameFile.open(path / "frames.npy"), numbers)
        return kept

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[torch.Tensor, int, int]:
        """Sample ``key``: an index (drawn for the epoch of :meth:`set_epoch`) or ``(epoch,
        index)`` as :class:`EpochSampler` yields."""
        epoch, index = key if isinstance(key, tuple) else (self.epoch, key)
        rng = np.random.default_rng([self.seed, int(epoch), int(index), 7919])
        flip = self.hflip and bool(rng.random() < 0.5)
        x = self._flow(index, flip) if self.spec.kind == "flow" else self._clip(index, rng, flip)
        return x, self.labels[index], index

    def _clip(self, index: int, rng: np.random.Generator, flip: bool) -> torch.Tensor:
        s = self.samples[index]
        frames, numbers = self._clip_entry(index)
        if frames.shape[1] != self.spec.size or frames.shape[2] != self.spec.size:
            raise ConfigError(
                f"cache entry {self.entries[index]} holds {frames.shape[1]} px frames; the model "
                f"reads {self.spec.size} px: rebuild the cache at that size"
            )
        sel = sample_frames(
            self.sampling,
            onset=int(s.onset),  # type: ignore[arg-type]
            apex=s.apex,
            offset=int(s.offset),  # type: ignore[arg-type]
            fps=float(s.fps),  # type: ignore[arg-type]
            available=numbers.tolist(),
            n=int(self.spec.frames),  # type: ignore[arg-type]
            window=self.window,
            jitter=self.jitter,
            rng=rng,
        )
        clip = torch.from_numpy(gather_frames(frames, numbers.tolist(), sel))
        # torch mirrors a uint8 (T, H, W, 3) clip ~20x faster than a numpy ::-1 copy
        return clip.flip(2) if flip else clip

    def _flow(self, index: int, flip: bool) -> torch.Tensor:
        stack = load_entry(self.entries[index], "flow")["flow"]
        c = len(self.spec.channels)
        if stack.shape[0] != self.spec.size:
            raise ConfigError(
                f"cache entry {self.entries[index]} holds a {stack.shape[0]} px flow stack; the "
                f"model reads {self.spec.size} px: rebuild the cache at that size"
            )
        x = np.transpose(stack[..., :c], (2, 0, 1)).astype(np.float32)
        if flip:
            x = x[:, :, ::-1].copy()
            # u is min-max normalised: mirroring negates it, i.e. m - u (m = 1 for facscope's
            # own stacks, the stored range's top for flow files, 0 for de-normalised flow)
            x[0] = self._mirror(index) - x[0]
        return torch.from_numpy(np.ascontiguousarray(x))

    def _mirror(self, index: int) -> float:
        s = self.samples[index]
        if not s.is_flow:
            return 1.0
        from facscope.mer.flowinput import mirror_value

        return mirror_value(s)


class EpochSampler(Sampler[tuple[int, int]]):
    """``(epoch, index)`` keys for one epoch: a seeded permutation, or weighted draws with
    replacement.

    The order depends only on ``(seed, epoch)``; call :meth:`set_epoch` before each epoch
    (``accelerate`` does it for prepared loaders). With ``weights`` an epoch draws ``len(weights)``
    indices with probability ∝ weight (the class-balanced sampler). The epoch rides along with
    each index so that :class:`CachedDataset`'s jitter and flips follow it in any worker.
    """

    def __init__(
        self, n: int, *, seed: int = 0, weights: np.ndarray | None = None, shuffle: bool = True
    ) -> None:
        self.n = int(n)
        self.seed = int(seed)
        self.shuffle = shuffle
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float64)
        if self.weights is not None and (
            self.weights.shape != (self.n,) or self.weights.sum() <= 0
        ):
            raise ConfigError(f"sampler weights must be {self.n} non-negative values, not all 0")
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[tuple[int, int]]:
        if not self.shuffle:
            order: list[int] = list(range(self.n))
        else:
            rng = np.random.default_rng([self.seed, self.epoch, 104729])
            if self.weights is not None:
                p = self.weights / self.weights.sum()
                order = rng.choice(self.n, size=self.n, replace=True, p=p).tolist()
            else:
                order = rng.permutation(self.n).tolist()
        return iter([(self.epoch, i) for i in order])


def to_model_input(
    x: torch.Tensor, spec: ModelInput, *, clip_input: str = "frames", diff_gain: float = 10.0
) -> torch.Tensor:
    """A loader batch as the model's input, on ``x``'s device.

    Clips: ``uint8`` ``(N, T, H, W, 3)`` → float ``(N, 3, T, H, W)``. With
    ``clip_input="frames"`` they are scaled to [0, 1] and normalised with the model's mean/std;
    with ``"onset_diff"`` every frame becomes its difference from the clip's first sampled frame
    (the onset for every strategy but ``apex_window``), ``(x_t − x_0) / 255 · diff_gain``, so the
    first frame is all zeros and a still face is all zeros. Flow: returned as float.
    """
    if spec.kind == "flow":
        return x.float()
    if x.ndim != 5 or x.shape[-1] != 3:
        raise ConfigError(f"a clip batch must have shape (N, T, H, W, 3); got {tuple(x.shape)}")
    if clip_input not in CLIP_INPUTS:
        raise ConfigError(f"clip_input must be one of {CLIP_INPUTS}; got {clip_input!r}")
    v = x.permute(0, 4, 1, 2, 3).float().div_(255.0)
    if clip_input == "onset_diff":
        return (v - v[:, :, :1]).mul_(float(diff_gain))
    if spec.mean is not None and spec.std is not None:
        mean = torch.tensor(spec.mean, device=v.device).view(1, 3, 1, 1, 1)
        std = torch.tensor(spec.std, device=v.device).view(1, 3, 1, 1, 1)
        v = (v - mean) / std
    return v


def collate(batch: list[tuple[torch.Tensor, int, int]]) -> dict[str, Any]:
    """Stack ``(input, label, index)`` items into a dict batch.

    In a loader worker the inputs are stacked straight into shared memory (as torch's
    ``default_collate`` does), so handing the batch to the main process copies nothing more.
    """
    xs, ys, idx = zip(*batch)
    return {
        "x": default_collate(list(xs)),
        "y": torch.tensor(ys, dtype=torch.long),
        "index": torch.tensor(idx, dtype=torch.long),
    }


def loader_workers(num_workers: int, samples: int, batch_size: int) -> int:
    """Worker processes for a loader: ``num_workers``, but no more than it has batches (a
    12-clip test set in batches of 16 gains nothing from 8 workers, and each one costs a
    process start). The count changes no result: randomness follows the samples, not workers."""
    return max(0, min(num_workers, math.ceil(samples / max(batch_size, 1))))


def make_loader(
    dataset: CachedDataset,
    sampler: EpochSampler | None,
    *,
    batch_size: int,
    num_workers: int,
    seed: int,
    device: Any,
    persistent: bool,
) -> DataLoader:
    """A ``DataLoader`` over ``dataset`` (in ``sampler``'s order, or in order) with
    :func:`collate`, at most :func:`loader_workers` workers, kept across epochs when
    ``persistent``, and pinned memory on a CUDA ``device``."""
    workers = loader_workers(
        num_workers, len(sampler if sampler is not None else dataset), batch_size
    )
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=workers,
        collate_fn=collate,
        pin_memory=getattr(device, "type", "cpu") == "cuda",
        drop_last=False,
        # loaders read every epoch (training; validation with selection="val") keep their
        # workers, and the cache entries they opened; EpochSampler tells each sample's epoch
        persistent_workers=persistent and workers > 0,
        # the loader draws its workers' base seed from this, not from the global RNG that
        # dropout uses: a loader whose workers persist draws once per run, not once per epoch
        generator=torch.Generator().manual_seed(seed),
    )
