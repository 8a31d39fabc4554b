"""The clip/flow cache and the loader that feeds it to models."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from _mer_data import CLASSES, make_clip, make_tiny_dataset, texture

from facscope.data import load_dataset
from facscope.data.sample import Sample
from facscope.errors import ConfigError, InputFileError
from facscope.mer.cache import CacheSpec, FrameFile, build_cache, cache_sample, load_entry
from facscope.mer.loader import CachedDataset, EpochSampler, to_model_input
from facscope.mer.models import model_input


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    manifest = make_tiny_dataset(root, subjects=2)
    return load_dataset("csv", manifest, classes=CLASSES)


def test_clip_entries_hold_uint8_crops_thinned_to_the_cache_rate(tiny, tmp_path):
    spec = CacheSpec(root=tmp_path, kind="clip", size=24, face="full", fps=100.0)
    built = build_cache(list(tiny), spec, progress=False)
    assert built.built == len(tiny) and built.reused == 0 and not built.failures
    for s, e in zip(tiny, built.entries):
        d = load_entry(e, "clip")
        assert d["frames"].dtype == np.uint8 and d["frames"].shape[1:] == (24, 24, 3)
        nums = d["numbers"].tolist()
        if s.fps == 200.0:  # 7 frames at 200 fps kept at 100 fps: every other, plus apex
            assert nums == [1, 3, 4, 5, 7]
        else:
            assert nums == [1, 2, 3, 4, 5, 6, 7]
    again = build_cache(list(tiny), spec, progress=False)
    assert again.reused == len(tiny) and again.built == 0 and again.entries == built.entries
    other = CacheSpec(root=tmp_path, kind="clip", size=32, face="full", fps=100.0)
    assert other.entry(tiny[0]) != spec.entry(tiny[0])  # a new setting never reuses an entry


def test_flow_entries_see_the_class_direction(tiny, tmp_path):
    spec = CacheSpec(
        root=tmp_path, kind="flow", size=28, face="full", flow="farneback", flow_size=40
    )
    built = build_cache(list(tiny), spec, progress=False)
    for e in built.entries:
        stack = load_entry(e, "flow")["flow"]
        assert stack.shape == (28, 28, 3) and stack.dtype == np.float32
        assert stack.min() >= 0.0 and stack.max() <= 1.0


def test_a_failing_sample_is_recorded_and_the_build_goes_on(tiny, tmp_path):
    bad = tiny[0].with_(sample_id="broken", frames_dir=tmp_path / "missing")
    spec = CacheSpec(root=tmp_path / "c", kind="clip", size=16, face="full")
    built = build_cache([bad, tiny[1]], spec, progress=False)
    assert built.entries[0] is None and built.entries[1] is not None
    assert built.failures[0]["sample_id"] == "broken"
    assert "missing" in (tmp_path / "c" / "failures.jsonl").read_text()


def test_detect_mode_aligns_on_the_onset_frame(tmp_path, astronaut):
    import cv2

    folder = tmp_path / "astro"
    folder.mkdir()
    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    for n in (1, 2, 3):
        m = np.float32([[1, 0, n - 1], [0, 1, 0]])
        cv2.imwrite(str(folder / f"img{n}.png"), cv2.warpAffine(small[..., ::-1], m, (256, 256)))
    sample = Sample(
        dataset="t",
        subject="1",
        sample_id="a",
        frames_dir=folder,
        fps=30.0,
        onset=1,
        apex=2,
        offset=3,
    )
    entry = cache_sample(sample, CacheSpec(root=tmp_path / "c", kind="clip", size=64))
    meta = (entry / "meta.json").read_text()
    assert '"mode": "detect"' in meta
    frames = load_entry(entry, "clip")["frames"]
    assert frames.shape == (3, 64, 64, 3)
    # one transform for every frame: the 2-px shift of the content survives in the crops
    shift = cv2.phaseCorrelate(
        frames[0, ..., 0].astype(np.float32), frames[2, ..., 0].astype(np.float32)
    )[0]
    assert shift[0] > 0.1


def test_loader_picks_frames_by_strategy_and_flips_flow(tiny, tmp_path):
    clip_spec = model_input("r3d_18").resolve(frames=3, size=24)
    cspec = CacheSpec(root=tmp_path, kind="clip", size=24, face="full", fps=None)
    entries = build_cache(list(tiny), cspec, progress=False).entries
    ds = CachedDataset(list(tiny), entries, [0] * len(tiny), clip_spec, sampling="triplet")
    x, _, _ = ds[0]
    raw = load_entry(entries[0], "clip")["frames"]
    assert x.dtype == torch.uint8 and tuple(x.shape) == (3, 24, 24, 3)
    assert torch.equal(x, torch.from_numpy(np.ascontiguousarray(raw[[0, 3, 6]])))
    batch = to_model_input(x[None], clip_spec)
    assert batch.shape == (1, 3, 3, 24, 24) and batch.dtype == torch.float32
    expected = (raw[0, 5, 7, 1] / 255 - clip_spec.mean[1]) / clip_spec.std[1]
    assert float(batch[0, 1, 0, 5, 7]) == pytest.approx(expected, abs=1e-5)

    fspec = CacheSpec(
        root=tmp_path, kind="flow", size=28, face="full", flow="farneback", flow_size=40
    )
    fentries = build_cache(list(tiny), fspec, progress=False).entries
    flow_in = model_input("off_apexnet")
    plain = CachedDataset(list(tiny), fentries, [0] * len(tiny), flow_in)
    flips = CachedDataset(list(tiny), fentries, [0] * len(tiny), flow_in, train=True, hflip=True)
    a = plain[0][0]
    assert tuple(a.shape) == (2, 28, 28)
    flipped = [k for k in range(len(tiny)) if not torch.equal(flips[k][0], plain[k][0])]
    assert flipped, "hflip never fired"
    k = flipped[0]
    f, p = flips[k][0], plain[k][0]
    assert torch.allclose(f[0], 1 - p[0].flip(-1)) and torch.allclose(f[1], p[1].flip(-1))


def test_clip_flips_mirror_the_frames_and_workers_reopen_entries(tiny, tmp_path):
    import pickle

    spec = model_input("r3d_18").resolve(frames=3, size=24)
    cspec = CacheSpec(root=tmp_path, kind="clip", size=24, face="full", fps=None)
    entries = build_cache(list(tiny), cspec, progress=False).entries
    plain = CachedDataset(list(tiny), entries, [0] * len(tiny), spec, train=True)
    flips = CachedDataset(list(tiny), entries, [0] * len(tiny), spec, train=True, hflip=True)
    mirrored = [k for k in range(len(tiny)) if not torch.equal(flips[k][0], plain[k][0])]
    assert mirrored, "hflip never fired"
    for k in mirrored:
        assert torch.equal(flips[k][0], plain[k][0].flip(2))  # (T, H, W, 3): W is axis 2
    copy = pickle.loads(pickle.dumps(flips))  # what a loader worker receives
    assert all(torch.equal(copy[k][0], flips[k][0]) for k in range(len(tiny)))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts /proc/self/fd")
def test_kept_clip_entries_hold_no_file_open(tiny, tmp_path):
    # a memory map keeps a file descriptor: thousands of kept entries would exhaust them
    spec = model_input("r3d_18").resolve(frames=3, size=16)
    cspec = CacheSpec(root=tmp_path, kind="clip", size=16, face="full", fps=None)
    entries = build_cache(list(tiny), cspec, progress=False).entries
    ds = CachedDataset(list(tiny), entries, [0] * len(tiny), spec)
    before = len(os.listdir("/proc/self/fd"))
    for i in range(len(ds)):
        ds[i]
    assert len(ds._kept) == len(tiny) > 1
    assert len(os.listdir("/proc/self/fd")) <= before


def test_frame_file_reads_the_frames_picked_and_names_a_truncated_entry(tmp_path):
    frames = np.random.default_rng(0).integers(0, 255, (6, 4, 5, 3), dtype=np.uint8)
    np.save(tmp_path / "frames.npy", frames)
    ff = FrameFile.open(tmp_path / "frames.npy")
    assert ff.shape == frames.shape and ff.dtype == np.uint8 and len(ff) == 6
    assert np.array_equal(ff[[4, 0, 4]], frames[[4, 0, 4]])
    with pytest.raises(IndexError):
        ff[[6]]
    data = (tmp_path / "frames.npy").read_bytes()
    (tmp_path / "frames.npy").write_bytes(data[: len(data) - 10])
    with pytest.raises(InputFileError, match="truncated"):
        ff[[5]]


def test_cache_size_mismatch_is_a_clear_error(tiny, tmp_path):
    cspec = CacheSpec(root=tmp_path, kind="clip", size=16, face="full")
    entries = build_cache(list(tiny)[:1], cspec, progress=False).entries
    ds = CachedDataset(
        list(tiny)[:1], entries, [0], model_input("r3d_18").resolve(frames=2, size=24)
    )
    with pytest.raises(ConfigError, match="rebuild the cache"):
        ds[0]


def test_epoch_sampler_is_seeded_and_balances_classes():
    a, b = EpochSampler(10, seed=1), EpochSampler(10, seed=1)
    assert list(a) == list(b) and sorted(a) == [(0, i) for i in range(10)]
    b.set_epoch(1)
    assert list(a) != list(b) and {e for e, _ in b} == {1}
    labels = np.array([0] * 90 + [1] * 10)
    w = 1.0 / np.bincount(labels)[labels]
    s = EpochSampler(100, seed=0, weights=w)
    draws = []
    for epoch in range(20):
        s.set_epoch(epoch)
        draws += [i for _, i in s]
    share = np.mean(labels[draws] == 1)
    assert 0.4 < share < 0.6  # the minority class is drawn about half the time
    with pytest.raises(ConfigError, match="weights"):
        EpochSampler(3, weights=np.zeros(3))


def test_jitter_changes_with_the_epoch_but_not_with_the_worker(tiny, tmp_path):
    spec = model_input("r3d_18").resolve(frames=4, size=16)
    cspec = CacheSpec(root=tmp_path, kind="clip", size=16, face="full", fps=None)
    entries = build_cache(list(tiny), cspec, progress=False).entries
    ds = CachedDataset(list(tiny), entries, [0] * len(tiny), spec, jitter=0.01, train=True, seed=3)
    first = [ds[i][0] for i in range(len(tiny))]
    again = [ds[i][0] for i in reversed(range(len(tiny)))][::-1]
    assert all(torch.equal(u, v) for u, v in zip(first, again))
    ds.set_epoch(1)
    later = [ds[i][0] for i in range(len(tiny))]
    assert any(not torch.equal(u, v) for u, v in zip(first, later))


def test_persistent_workers_draw_for_the_epoch_the_sampler_gives(tiny, tmp_path):
    from torch.utils.data import DataLoader

    from facscope.mer.loader import collate

    spec = model_input("r3d_18").resolve(frames=4, size=16)
    cspec = CacheSpec(root=tmp_path, kind="clip", size=16, face="full", fps=None)
    entries = build_cache(list(tiny), cspec, progress=False).entries
    ds = CachedDataset(
        list(tiny), entries, list(range(len(tiny))), spec, jitter=0.01, train=True, hflip=True
    )
    sampler = EpochSampler(len(ds), seed=5)
    loader = DataLoader(
        ds, batch_size=len(ds), sampler=sampler, collate_fn=collate, num_workers=1,
        persistent_workers=True,
    )  # fmt: skip
    for epoch in range(3):
        sampler.set_epoch(epoch)  # the dataset's own epoch is never set
        (batch,) = list(loader)
        ds.set_epoch(epoch)
        expected = torch.stack([ds[int(i)][0] for i in batch["index"]])
        assert torch.equal(batch["x"], expected), f"epoch {epoch}"


def test_make_clip_helper_moves_the_patch(tmp_path):
    rng = np.random.default_rng(0)
    make_clip(tmp_path / "c", texture(rng, 32), "anger", frames=5, amp=2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(list((tmp_path / "c").glob("img*.png"))) == 5


def test_onset_difference_input_zeroes_a_still_face():
    spec = model_input("r3d_18").resolve(frames=3, size=16)
    x = torch.full((2, 3, 4, 4, 3), 77, dtype=torch.uint8)
    x[0, 1] += 10
    x[0, 2] += 20
    v = to_model_input(x, spec, clip_input="onset_diff", diff_gain=10.0)
    assert v.shape == (2, 3, 3, 4, 4)
    assert torch.count_nonzero(v[1]) == 0 and torch.count_nonzero(v[:, :, 0]) == 0
    assert torch.allclose(v[0, :, 1], torch.full((3, 4, 4), 100 / 255))
    assert torch.allclose(v[0, :, 2], torch.full((3, 4, 4), 200 / 255))
    with pytest.raises(ConfigError, match="clip_input"):
        to_model_input(x, spec, clip_input="bogus")


@pytest.mark.parametrize("damage", ["truncated", "objects"])
def test_a_damaged_entry_is_reported_and_built_again(tiny, tmp_path, damage):
    from facscope.errors import FacscopeDataWarning

    spec = CacheSpec(
        root=tmp_path, kind="flow", size=28, face="full", flow="farneback", flow_size=40
    )
    built = build_cache(list(tiny)[:2], spec, progress=False)
    flow = built.entries[0] / "flow.npy"
    good = np.load(flow)
    if damage == "truncated":
        flow.write_bytes(flow.read_bytes()[:-100])  # a kill or a full disk during a copy
    else:
        np.save(flow, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.warns(FacscopeDataWarning, match="damaged.*flow.npy"):
        again = build_cache(list(tiny)[:2], spec, progress=False)
    assert again.reused == 1 and again.built == 1
    assert np.array_equal(load_entry(again.entries[0], "flow")["flow"], good)
