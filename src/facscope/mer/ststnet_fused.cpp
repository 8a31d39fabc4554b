// STSTNet's stream layer for F stacked fold models, fused: 3x3 convolution (padding 2) ->
// ReLU -> batch-norm statistics -> 3x3/3 max pooling (padding 1), never writing the
// (H+2)x(W+2) maps. Built and loaded by facscope/mer/fused.py (ctypes); see there for the maths.
//
// Compile-time sizes (-D): CIN input channels, SIDE input side (square), DV 16-channel vectors
// (the stacked streams' channels, padded to a multiple of 16).
//
// Layouts (float32, C order):
//   xpad  (N, CIN, SIDE+4, SIDE+4)   every sample, zero-padded by 2 (shared by all folds)
//   idx   (F, B) int64               each fold's rows; counts (F,) int32: its real rows
//   w     (F, K, DV*16)              K = CIN*9 taps (c, ky, kx), channels last
//   bias, shift, neg (F, DV*16)      neg: 1 where batch norm's scale is negative (min pooling)
//   q     (F, B, P, P, DV*16)        the selected (max or min) pooled ReLU output per window
//   s1,s2 (F, DV*16) double          sum of (r - shift) and (r - shift)^2 over rows and positions
//   gq    (F, B, P, P, DV*16)        gradient of q; alpha, beta (F, DV*16): gradient of the
//                                    statistics as  g_r += alpha + beta * r  at every position
//   dw    (F, K, DV*16), db (F, DV*16) double: accumulated weight and bias gradients
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#ifndef CIN
#define CIN 3
#endif
#ifndef SIDE
#define SIDE 28
#endif
#ifndef DV
#define DV 1
#endif

typedef float v16 __attribute__((vector_size(64)));
typedef int32_t i16 __attribute__((vector_size(64)));

static const int PS = SIDE + 4;             // padded input side
static const int HO = SIDE + 2;             // convolution output side
static const int P = (HO - 1) / 3 + 1;      // pooled side (window w covers rows 3w-1 .. 3w+1)
static const int K = CIN * 9;
static const int D = DV * 16;

static inline v16 vmax(v16 a, v16 b) { return a > b ? a : b; }
static inline v16 vmin(v16 a, v16 b) { return a < b ? a : b; }
static inline v16 splat(float x) { return v16{} + x; }

static inline v16 load(const float* p) {
  v16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
static inline void store(float* p, v16 v) { std::memcpy(p, &v, sizeof v); }

// z of row i of one sample into zr (HO*DV vectors): JB positions at a time, so each weight
// vector is loaded once per block and JB*DV accumulation chains run side by side (one chain
// per position would wait on the FMA latency).
static const int JB = HO % 10 == 0 ? 10 : HO % 8 == 0 ? 8 : HO % 6 == 0 ? 6 : HO % 5 == 0 ? 5 : 1;

static inline void conv_row(const float* x, const v16* w, const v16* b, int i, v16* zr) {
  for (int j0 = 0; j0 < HO; j0 += JB) {
    v16 acc[JB][DV];
    for (int jj = 0; jj < JB; ++jj)
      for (int v = 0; v < DV; ++v) acc[jj][v] = b[v];
#pragma GCC unroll 32
    for (int k = 0; k < K; ++k) {
      const int c = k / 9, ky = (k / 3) % 3, kx = k % 3;
      const float* row = x + (c * PS + i + ky) * PS + j0 + kx;
      for (int v = 0; v < DV; ++v) {
        const v16 wv = w[k * DV + v];
#pragma GCC unroll 16
        for (int jj = 0; jj < JB; ++jj) acc[jj][v] += wv * row[jj];
      }
    }
    for (int jj = 0; jj < JB; ++jj)
      for (int v = 0; v < DV; ++v) zr[(j0 + jj) * DV + v] = acc[jj][v];
  }
}

// dW += g * patch and db += g over row i (gr: HO*DV vectors); the K accumulators stay in
// registers while the positions stream past.
static inline void wgrad_row(const float* x, const v16* gr, int i, v16* tw, v16* tb) {
  for (int v = 0; v < DV; ++v) {
    v16 acc[K], ab = v16{};
    for (int k = 0; k < K; ++k) acc[k] = v16{};
    for (int j = 0; j < HO; ++j) {
      const v16 g = gr[j * DV + v];
      ab += g;
      const float* base = x + i * PS + j;
#pragma GCC unroll 32
      for (int k = 0; k < K; ++k) {
        const int c = k / 9, ky = (k / 3) % 3, kx = k % 3;
        acc[k] += g * base[(c * PS + ky) * PS + kx];
      }
    }
    for (int k = 0; k < K; ++k) tw[k * DV + v] += acc[k];
    tb[v] += ab;
  }
}

// Pooling windows: window w covers rows (columns) 3w-1 .. 3w+1 within 0 .. HO-1; rows past the
// last window (row HO-1 when HO = 30) are in no window but still in the statistics.
static inline int window_lo(int w) { return w * 3 - 1 < 0 ? 0 : w * 3 - 1; }
static inline int window_hi(int w) { return w * 3 + 1 < HO - 1 ? w * 3 + 1 : HO - 1; }
static inline int window_of(int i) { return (i + 1) / 3 < P ? (i + 1) / 3 : -1; }

struct Fold {
  v16 w[K * DV], b[DV], x1[DV], x2[DV];
  i16 neg[DV];
  Fold(const float* w_, const float* b_, const float* neg_, const float* x1_, const float* x2_,
       int f) {
    for (int t = 0; t < K * DV; ++t) w[t] = load(w_ + ((size_t)f * K * D) + t * 16);
    for (int v = 0; v < DV; ++v) {
      b[v] = load(b_ + (size_t)f * D + v * 16);
      neg[v] = load(neg_ + (size_t)f * D + v * 16) > splat(0.5f);
      x1[v] = x1_ ? load(x1_ + (size_t)f * D + v * 16) : v16{};
      x2[v] = x2_ ? load(x2_ + (size_t)f * D + v * 16) : v16{};
    }
  }
};

extern "C" {

int fused_sizes(int* out) {
  out[0] = CIN, out[1] = SIDE, out[2] = D, out[3] = P, out[4] = HO;
  return 0;
}

// Forward, row by row: z, ReLU, the shifted sums, and each window's max and min as its rows
// pass; a window row is written when its last row is done.
void fused_forward(int f0, int f1, int F, int B, const float* xpad, const int64_t* idx,
                   const int32_t* counts, const float* w, const float* bias, const float* shift,
                   const float* neg, float* q, double* s1, double* s2) {
  (void)F;
  v16 zr[HO * DV], mx[P * DV], mn[P * DV];
  for (int f = f0; f < f1; ++f) {
    const Fold fd(w, bias, neg, shift, nullptr, f);
    double acc1[D] = {0}, acc2[D] = {0};
    for (int n = 0; n < B; ++n) {
      float* qn = q + ((size_t)f * B + n) * P * P * D;
      if (n >= counts[f]) {
        std::memset(qn, 0, sizeof(float) * P * P * D);
        continue;
      }
      const float* x = xpad + (size_t)idx[(size_t)f * B + n] * CIN * PS * PS;
      v16 t1[DV] = {}, t2[DV] = {};
      for (int i = 0; i < HO; ++i) {
        const int wi = window_of(i);
        if (wi >= 0 && i == window_lo(wi))
          for (int t = 0; t < P * DV; ++t) mx[t] = splat(-1.0f), mn[t] = splat(3.4e38f);
        conv_row(x, fd.w, fd.b, i, zr);
        for (int j = 0; j < HO; ++j) {
          const int wj = window_of(j);
          for (int v = 0; v < DV; ++v) {
            const v16 r = vmax(zr[j * DV + v], v16{});
            const v16 c = r - fd.x1[v];
            t1[v] += c;
            t2[v] += c * c;
            if (wi >= 0 && wj >= 0) {
              mx[wj * DV + v] = vmax(mx[wj * DV + v], r);
              mn[wj * DV + v] = vmin(mn[wj * DV + v], r);
            }
          }
        }
        if (wi >= 0 && i == window_hi(wi))
          for (int wj = 0; wj < P; ++wj)
            for (int v = 0; v < DV; ++v)
              store(qn + (wi * P + wj) * D + v * 16,
                    fd.neg[v] ? mn[wj * DV + v] : mx[wj * DV + v]);
      }
      for (int v = 0; v < DV; ++v)
        for (int l = 0; l < 16; ++l) acc1[v * 16 + l] += t1[v][l], acc2[v * 16 + l] += t2[v][l];
    }
    for (int d = 0; d < D; ++d) s1[(size_t)f * D + d] = acc1[d], s2[(size_t)f * D + d] = acc2[d];
  }
}

// Backward, one window row (up to 3 rows) at a time: recompute z, form g_r = the statistics'
// share (alpha + beta*r) plus each window's gradient at its first position that holds the
// pooled value q (torch's max pooling: row-major scan, first maximum), zero where the ReLU
// stopped; then accumulate the weight and bias gradients over those rows.
void fused_backward(int f0, int f1, int F, int B, const float* xpad, const int64_t* idx,
                    const int32_t* counts, const float* w, const float* bias, const float* neg,
                    const float* q, const float* gq, const float* alpha, const float* beta,
                    double* dw, double* db) {
  (void)F;
  (void)neg;
  v16 zb[3 * HO * DV], gb[3 * HO * DV];
  for (int f = f0; f < f1; ++f) {
    const Fold fd(w, bias, neg, alpha, beta, f);
    std::vector<double> aw((size_t)K * D, 0.0), ab(D, 0.0);
    for (int n = 0; n < counts[f] && n < B; ++n) {
      const float* x = xpad + (size_t)idx[(size_t)f * B + n] * CIN * PS * PS;
      const float* qn = q + ((size_t)f * B + n) * P * P * D;
      const float* gqn = gq + ((size_t)f * B + n) * P * P * D;
      v16 tw[K * DV] = {}, tb[DV] = {};
      int i = 0;
      while (i < HO) {
        const int wi = window_of(i);
        const int lo = i, hi = wi >= 0 ? window_hi(wi) : i;
        for (int r = lo; r <= hi; ++r) {
          v16* zr = zb + (r - lo) * HO * DV;
          v16* gr = gb + (r - lo) * HO * DV;
          conv_row(x, fd.w, fd.b, r, zr);
          for (int t = 0; t < HO * DV; ++t) {
            const v16 z = zr[t];
            gr[t] = z > v16{} ? fd.x1[t % DV] + fd.x2[t % DV] * z : v16{};
          }
        }
        if (wi >= 0)
          for (int wj = 0; wj < P; ++wj)
            for (int v = 0; v < DV; ++v) {
              const v16 qv = load(qn + (wi * P + wj) * D + v * 16);
              const v16 g = load(gqn + (wi * P + wj) * D + v * 16);
              i16 taken = i16{};
              for (int r = lo; r <= hi; ++r)
                for (int j = window_lo(wj); j <= window_hi(wj); ++j) {
                  const int t = ((r - lo) * HO + j) * DV + v;
                  const v16 rv = vmax(zb[t], v16{});
                  const i16 hit = (rv == qv) & ~taken;
                  taken |= hit;
                  gb[t] += (hit & (zb[t] > v16{})) ? g : v16{};
                }
            }
        for (int r = lo; r <= hi; ++r) wgrad_row(x, gb + (r - lo) * HO * DV, r, tw, tb);
        i = hi + 1;
      }
      for (int t = 0; t < K * DV; ++t)
        for (int l = 0; l < 16; ++l) aw[(size_t)t * 16 + l] += tw[t][l];
      for (int v = 0; v < DV; ++v)
        for (int l = 0; l < 16; ++l) ab[v * 16 + l] += tb[v][l];
    }
    std::memcpy(dw + (size_t)f * K * D, aw.data(), sizeof(double) * K * D);
    std::memcpy(db + (size_t)f * D, ab.data(), sizeof(double) * D);
  }
}

// The rest of the stream layer on the pooled values, for one fold range: batch norm's affine
// map, the dropout mask (optional, per stream: noise[s] (F, B, widths[s], P, P), 0 or 1, times
// keep), and 2x2 average pooling, into feats (F, B, D, S, S) in the model's flatten order.
//   y = ((q - mean) * scale + beta) * noise * keep,   feats = mean of y over each 2x2 block
void tail_forward(int f0, int f1, int F, int B, int D, const int32_t* counts, const float* q,
                  const float* mean, const float* scale, const float* beta, int nstreams,
                  const float* const* noise, const int32_t* widths, float keep, float* feats) {
  (void)F;
  const int S = P / 2;
  for (int f = f0; f < f1; ++f)
    for (int n = 0; n < B; ++n) {
      float* out = feats + ((size_t)f * B + n) * D * S * S;
      if (n >= counts[f]) {
        std::memset(out, 0, sizeof(float) * D * S * S);
        continue;
      }
      const float* qn = q + ((size_t)f * B + n) * P * P * DV * 16;
      int s = 0, start = 0;
      for (int d = 0; d < D; ++d) {
        if (nstreams && d >= start + widths[s]) start += widths[s], ++s;
        const float m = mean[(size_t)f * D + d], a = scale[(size_t)f * D + d];
        const float b = beta[(size_t)f * D + d];
        const float* nz = nstreams ? noise[s] + (((size_t)f * B + n) * widths[s] + (d - start)) * P * P
                                   : nullptr;
        for (int i = 0; i < S; ++i)
          for (int j = 0; j < S; ++j) {
            float acc = 0.0f;
            for (int di = 0; di < 2; ++di)
              for (int dj = 0; dj < 2; ++dj) {
                const int wi = 2 * i + di, wj = 2 * j + dj;
                float y = (qn[(wi * P + wj) * DV * 16 + d] - m) * a + b;
                if (nz) y *= nz[wi * P + wj] * keep;
                acc += y;
              }
            out[(d * S + i) * S + j] = acc / 4.0f;
          }
      }
    }
}

// Its gradient: gq (F, B, P, P, DV*16) and, per fold and channel, gscale = sum g*(q - mean),
// gbeta = sum g (double; the mean's gradient is -scale * gbeta).
void tail_backward(int f0, int f1, int F, int B, int D, const int32_t* counts, const float* q,
                   const float* mean, const float* scale, int nstreams, const float* const* noise,
                   const int32_t* widths, float keep, const float* gfeats, float* gq,
                   double* gscale, double* gbeta) {
  (void)F;
  const int S = P / 2;
  for (int f = f0; f < f1; ++f) {
    std::vector<double> ga(D, 0.0), gb(D, 0.0);
    for (int n = 0; n < B; ++n) {
      float* gqn = gq + ((size_t)f * B + n) * P * P * DV * 16;
      std::memset(gqn, 0, sizeof(float) * P * P * DV * 16);
      if (n >= counts[f]) continue;
      const float* qn = q + ((size_t)f * B + n) * P * P * DV * 16;
      const float* g = gfeats + ((size_t)f * B + n) * D * S * S;
      int s = 0, start = 0;
      for (int d = 0; d < D; ++d) {
        if (nstreams && d >= start + widths[s]) start += widths[s], ++s;
        const float m = mean[(size_t)f * D + d], a = scale[(size_t)f * D + d];
        const float* nz = nstreams ? noise[s] + (((size_t)f * B + n) * widths[s] + (d - start)) * P * P
                                   : nullptr;
        float sa = 0.0f, sb = 0.0f;
        for (int i = 0; i < S; ++i)
          for (int j = 0; j < S; ++j) {
            const float go = g[(d * S + i) * S + j] / 4.0f;
            for (int di = 0; di < 2; ++di)
              for (int dj = 0; dj < 2; ++dj) {
                const int wi = 2 * i + di, wj = 2 * j + dj;
                const float gy = nz ? go * (nz[wi * P + wj] * keep) : go;
                const float qv = qn[(wi * P + wj) * DV * 16 + d];
                gqn[(wi * P + wj) * DV * 16 + d] = gy * a;
                sa += gy * (qv - m);
                sb += gy;
              }
          }
        ga[d] += sa, gb[d] += sb;
      }
    }
    for (int d = 0; d < D; ++d) gscale[(size_t)f * D + d] = ga[d], gbeta[(size_t)f * D + d] = gb[d];
  }
}

// Bernoulli(p) draws as torch's serial CPU kernel makes them (``bernoulli_(p, generator)`` on a
// float tensor where it does not use MKL): mt19937 (torch's state: 624 words, ``left``,
// ``next``), a double from two 32-bit outputs (53 bits), 1 where it is below p. Checked against
// torch at load time (facscope/mer/fused.py); the caller falls back to torch if they differ.
static void mt_regen(uint32_t* st) {
  const int N = 624, M = 397;
  auto twist = [](uint32_t u, uint32_t v) {
    return (((u & 0x80000000u) | (v & 0x7fffffffu)) >> 1) ^ ((0u - (v & 1u)) & 0x9908b0dfu);
  };
  int i = 0;
  for (; i < N - M; ++i) st[i] = st[i + M] ^ twist(st[i], st[i + 1]);
  for (; i < N - 1; ++i) st[i] = st[i + M - N] ^ twist(st[i], st[i + 1]);
  st[N - 1] = st[M - 1] ^ twist(st[N - 1], st[0]);
}

static void mt_temper(const uint32_t* st, uint32_t* out) {
  for (int i = 0; i < 624; ++i) {
    uint32_t y = st[i];
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= (y >> 18);
    out[i] = y;
  }
}

void bernoulli_fill(uint32_t* st, int32_t* left, int32_t* next, double p, float* out,
                    int64_t n) {
  // torch's engine: each output first does  if (--left == 0) regenerate (left = 624, next = 0),
  // then returns the tempered word st[next++]; so left - 1 words remain before a regeneration.
  // A draw is a double from two words (hi, lo), 53 bits: x = v / 2^53 < p  <=>  v < ceil(p 2^53)
  // for the integer v, which lets whole pairs of the block be compared without branches.
  uint32_t tb[624];
  int32_t avail = *left - 1, X = *next;
  if (avail > 0 && n > 0) mt_temper(st, tb);
  const double thr = p * 9007199254740992.0;  // p * 2^53, exact
  const uint64_t T = thr <= 0 ? 0 : (uint64_t)std::ceil(thr);
  const uint64_t mask = (1ull << 53) - 1;
  auto word = [&]() -> uint64_t {
    if (avail == 0) mt_regen(st), mt_temper(st, tb), avail = 624, X = 0;
    --avail;
    return tb[X++];
  };
  int64_t t = 0;
  while (t < n) {
    const int64_t pairs = std::min<int64_t>(avail / 2, n - t);
    const uint32_t* w = tb + X;
    for (int64_t j = 0; j < pairs; ++j) {
      const uint64_t v = (((uint64_t)w[2 * j] << 32) | w[2 * j + 1]) & mask;
      out[t + j] = v < T ? 1.0f : 0.0f;
    }
    t += pairs, X += 2 * (int32_t)pairs, avail -= 2 * (int32_t)pairs;
    if (t < n) {  // a pair across the regeneration (or none left in the block)
      const uint64_t hi = word();
      const uint64_t v = ((hi << 32) | word()) & mask;
      out[t++] = v < T ? 1.0f : 0.0f;
    }
  }
  *left = avail + 1, *next = X;
}

}  // extern "C"
