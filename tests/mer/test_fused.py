"""The fused STSTNet stream layer equals the same layers as torch operations (outputs and
gradients), its dropout draws are torch's, and a machine without a compiler is told why."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
fn = torch.nn.functional

from facscope.mer import fused  # noqa: E402


@pytest.fixture(scope="module")
def kernel():
    got = fused.load_kernel(3, 28, 16)
    if isinstance(got, str):
        pytest.skip(f"no fused kernel here: {got}")
    return got


def _torch_layer(x, idx, counts, w, b, gamma, beta, noise, keep):
    """Per fold: conv → ReLU → batch norm (batch statistics) → max pool → dropout → avg pool."""
    out = []
    for f in range(idx.shape[0]):
        c = int(counts[f])
        z = torch.relu(fn.conv2d(x[idx[f, :c]], w[f], b[f], padding=2))
        y = fn.batch_norm(z, None, None, gamma[f], beta[f], training=True)
        y = fn.max_pool2d(y, 3, 3, 1)
        if noise:
            y = y * torch.cat([m[f, :c] for m in noise], dim=1) * keep
        y = fn.avg_pool2d(y, 2, 2).flatten(1)
        out.append(torch.cat([y, torch.zeros(idx.shape[1] - c, y.shape[1])]))
    return torch.stack(out)


@pytest.mark.parametrize("streams", [False, True], ids=["no-dropout", "stream-dropout"])
def test_fused_layer_equals_torch_autograd(kernel, streams):
    torch.manual_seed(0)
    f, b, n, d = 5, 7, 20, 16
    x = torch.randn(n, 3, 28, 28) * 3
    xpad = fn.pad(x, (2, 2, 2, 2)).contiguous()
    idx = torch.randint(0, n, (f, b))
    counts = torch.tensor([7, 7, 5, 0, 3])  # ragged, and one fold without rows
    w = (torch.randn(f, d, 3, 3, 3) * 0.3).requires_grad_()
    bias = (torch.randn(f, d) * 0.1).requires_grad_()
    gamma = torch.randn(f, d).requires_grad_()  # both signs: max and min pooling
    beta = torch.randn(f, d).requires_grad_()
    noise = [(torch.rand(f, b, wd, 10, 10) > 0.5).float() for wd in (3, 5, 8)] if streams else []
    g_out = torch.randn(f, b, d * 25)

    q, mean, var = fused.stream_layer(kernel, xpad, idx, counts, w, bias, gamma.detach() < 0,
                                      torch.rand(f, d))  # fmt: skip
    scale = gamma / torch.sqrt(var + 1e-5)
    got = fused.tail_layer(kernel, q, counts, mean, scale, beta, noise, 2.0)
    (got * g_out).sum().backward()
    mine = [t.grad.clone() for t in (w, bias, gamma, beta)]
    for t in (w, bias, gamma, beta):
        t.grad = None

    want = _torch_layer(x, idx, counts, w, bias, gamma, beta, noise, 2.0)
    (want * g_out).sum().backward()
    torch.testing.assert_close(got.detach(), want.detach(), rtol=1e-4, atol=1e-4)
    for name, a, t in zip(("w", "b", "gamma", "beta"), mine, (w, bias, gamma, beta)):
        scale_ = t.grad.abs().max()
        assert (a - t.grad).abs().max() <= 1e-5 * scale_ + 1e-5, name


def test_native_dropout_draws_are_torchs(kernel):
    gens = [torch.Generator().manual_seed(s) for s in (3, 2**40 + 5)]
    mine = fused.FoldGenerators([torch.Generator().manual_seed(s) for s in (3, 2**40 + 5)],
                                kernel)  # fmt: skip
    assert mine.kernel is kernel
    for size in (7, 1000, 5003):  # across the generator's 624-word blocks, resuming mid-block
        for fold, g in enumerate(gens):
            want = torch.empty(size).bernoulli_(0.6, generator=g)
            got = torch.empty(size)
            mine.bernoulli_(fold, got, 0.6)
            assert torch.equal(got, want)


def test_native_draws_follow_a_generator_left_at_an_odd_word(kernel):
    g, h = torch.Generator().manual_seed(11), torch.Generator().manual_seed(11)
    for gen in (g, h):  # 3 single 32-bit words: the draws' word pairs now straddle the blocks
        torch.empty(3, dtype=torch.int32).random_(generator=gen)
    mine = fused.FoldGenerators([h], kernel)
    for size, p in ((311, 0.5), (2000, 0.5), (97, 1.0), (500, 0.3)):
        want = torch.empty(size).bernoulli_(p, generator=g)
        got = torch.empty(size)
        mine.bernoulli_(0, got, p)
        assert torch.equal(got, want)


def test_no_compiler_is_said_and_auto_falls_back(monkeypatch, tmp_path):
    monkeypatch.setenv("CXX", "")
    monkeypatch.setattr(fused.shutil, "which", lambda name: None)
    fused._build.cache_clear()
    try:
        why = fused.kernel_unavailable(3, 28, 16)
    finally:
        fused._build.cache_clear()
    assert why is not None and "compiler" in why
