#include "kernels.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace vitlens {

void layernorm_forward(const float* x, const float* weight, const float* bias, float* out,
                       float* mean, float* rstd, int64_t rows, int64_t dim, float eps) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * dim;
    float* yr = out + r * dim;
    // Two passes (mean, then squared deviations) in float SIMD lanes: no cancellation from
    // E[x^2] - E[x]^2, and 8 partial sums keep the rounding error at float32 level.
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < dim; i++) sum += xr[i];
    const float m = sum / dim;
    float var = 0;
#pragma omp simd reduction(+ : var)
    for (int64_t i = 0; i < dim; i++) var += (xr[i] - m) * (xr[i] - m);
    const float s = 1.0f / std::sqrt(var / dim + eps);
#pragma omp simd
    for (int64_t i = 0; i < dim; i++) yr[i] = (xr[i] - m) * s * weight[i] + bias[i];
    mean[r] = m;
    rstd[r] = s;
  }
}

void layernorm_backward(const float* dout, const float* x, const float* mean, const float* rstd,
                        const float* weight, float* dx, float* dweight, float* dbias,
                        int64_t rows, int64_t dim) {
  // Parameter gradients: partial sums over fixed blocks of rows (contiguous reads, in parallel),
  // then added block by block in order, so the result does not depend on the thread count.
  // (Summing each column down the rows read with a stride of `dim` and ran ~10x slower.)
  constexpr int64_t kBlock = 64;
  const int64_t blocks = (rows + kBlock - 1) / kBlock;
  std::vector<float> partial(static_cast<size_t>(blocks) * 2 * dim, 0.0f);
#pragma omp parallel for schedule(static)
  for (int64_t blk = 0; blk < blocks; blk++) {
    float* pw = partial.data() + blk * 2 * dim;
    float* pb = pw + dim;
    for (int64_t r = blk * kBlock; r < std::min(rows, (blk + 1) * kBlock); r++) {
      const float* dy = dout + r * dim;
      const float* xr = x + r * dim;
      const float m = mean[r], s = rstd[r];
      double mean_dxhat = 0, mean_dxhat_xhat = 0;
#pragma omp simd reduction(+ : mean_dxhat, mean_dxhat_xhat)
      for (int64_t i = 0; i < dim; i++) {
        const float xhat = (xr[i] - m) * s;
        const float dxhat = dy[i] * weight[i];
        mean_dxhat += dxhat;
        mean_dxhat_xhat += dxhat * xhat;
        pw[i] += dy[i] * xhat;
        pb[i] += dy[i];
      }
      const float a = static_cast<float>(mean_dxhat / dim), c = static_cast<float>(mean_dxhat_xhat / dim);
      float* dxr = dx + r * dim;
#pragma omp simd
      for (int64_t i = 0; i < dim; i++) {
        const float xhat = (xr[i] - m) * s;
        dxr[i] = s * (dy[i] * weight[i] - a - xhat * c);
      }
    }
  }
  for (int64_t blk = 0; blk < blocks; blk++) {
    const float* pw = partial.data() + blk * 2 * dim;
#pragma omp simd
    for (int64_t i = 0; i < dim; i++) {
      dweight[i] += pw[i];
      dbias[i] += pw[dim + i];
    }
  }
}

void softmax_backward(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols) {
  // dx = y * (dy - sum(dy * y)) per row; oneDNN 2.6 runs this as a reference loop on AVX2 (~10x slower).
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* dyr = dy + r * cols;
    const float* yr = y + r * cols;
    float* dxr = dx + r * cols;
    float dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int64_t i = 0; i < cols; i++) dot += dyr[i] * yr[i];
#pragma omp simd
    for (int64_t i = 0; i < cols; i++) dxr[i] = yr[i] * (dyr[i] - dot);
  }
}

void add(const float* a, const float* b, float* out, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void scale(const float* x, float s, float* out, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) out[i] = x[i] * s;
}

void sum_rows(const float* x, float* out, int64_t rows, int64_t cols, bool accumulate) {
  // Rows outer, columns inner: contiguous reads. Each thread owns a block of columns.
#pragma omp parallel
  {
    const int nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t c0 = cols * t / nt, c1 = cols * (t + 1) / nt;
    if (!accumulate)
      for (int64_t c = c0; c < c1; c++) out[c] = 0;
    for (int64_t r = 0; r < rows; r++) {
      const float* xr = x + r * cols;
#pragma omp simd
      for (int64_t c = c0; c < c1; c++) out[c] += xr[c];
    }
  }
}

double sum_squares(const float* x, int64_t n) {
  double s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static)
  for (int64_t i = 0; i < n; i++) s += static_cast<double>(x[i]) * x[i];
  return s;
}

namespace {
// Copies every hd-long row between the token-major (B, N, S, H, hd) and the head-major
// (S, B, H, N, hd) layouts: split_heads goes one way, merge_heads the other.
template <bool kToHeads>
void permute_heads(const float* src, float* dst, int64_t b, int64_t n, int64_t s, int64_t h, int64_t hd) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t i = 0; i < b; i++)
    for (int64_t t = 0; t < n; t++)
      for (int64_t part = 0; part < s; part++)
        for (int64_t head = 0; head < h; head++) {
          const int64_t token_major = (((i * n + t) * s + part) * h + head) * hd;
          const int64_t head_major = (((part * b + i) * h + head) * n + t) * hd;
          const float* from = src + (kToHeads ? token_major : head_major);
          float* to = dst + (kToHeads ? head_major : token_major);
          for (int64_t d = 0; d < hd; d++) to[d] = from[d];
        }
}
}  // namespace

void split_heads(const float* src, float* dst, int64_t b, int64_t n, int64_t s, int64_t h, int64_t hd) {
  permute_heads<true>(src, dst, b, n, s, h, hd);
}

void merge_heads(const float* src, float* dst, int64_t b, int64_t n, int64_t s, int64_t h, int64_t hd) {
  permute_heads<false>(src, dst, b, n, s, h, hd);
}

void patchify(const float* img, float* out, int64_t b, int64_t c, int64_t h, int64_t w, int64_t p) {
  const int64_t gh = h / p, gw = w / p, row = c * p * p;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < b; n++)
    for (int64_t py = 0; py < gh; py++)
      for (int64_t px = 0; px < gw; px++) {
        float* dst = out + ((n * gh + py) * gw + px) * row;
        for (int64_t ch = 0; ch < c; ch++)
          for (int64_t y = 0; y < p; y++) {
            const float* src = img + ((n * c + ch) * h + py * p + y) * w + px * p;
            for (int64_t x = 0; x < p; x++) dst[(ch * p + y) * p + x] = src[x];
          }
      }
}

void sgd_step(float* w, const float* g, float* buf, int64_t n, float lr, float momentum, float dampening,
              bool nesterov, float weight_decay, bool first) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float d = g[i] + weight_decay * w[i];
    if (buf) {
      buf[i] = first ? d : momentum * buf[i] + (1 - dampening) * d;
      d = nesterov ? d + momentum * buf[i] : buf[i];
    }
    w[i] -= lr * d;
  }
}

void adamw_step(float* w, const float* g, float* m, float* v, int64_t n, float lr, float beta1, float beta2,
                float eps, float weight_decay, int64_t t) {
  const double c1 = 1 - std::pow(static_cast<double>(beta1), static_cast<double>(t));
  const double c2 = std::sqrt(1 - std::pow(static_cast<double>(beta2), static_cast<double>(t)));
  const float step = static_cast<float>(lr / c1), inv_c2 = static_cast<float>(1 / c2);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; i++) {
    w[i] *= 1 - lr * weight_decay;
    m[i] = beta1 * m[i] + (1 - beta1) * g[i];
    v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
    w[i] -= step * (m[i] / (std::sqrt(v[i]) * inv_c2 + eps));
  }
}

}  // namespace vitlens
