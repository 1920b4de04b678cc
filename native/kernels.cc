#include "kernels.h"

#include <cmath>

namespace vitlens {

void layernorm_forward(const float* x, const float* weight, const float* bias, float* out,
                       float* mean, float* rstd, int64_t rows, int64_t dim, float eps) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * dim;
    float* yr = out + r * dim;
    double sum = 0;  // double: ViT activations can be large, avoid cancellation
    for (int64_t i = 0; i < dim; i++) sum += xr[i];
    const double mu = sum / dim;
    double var = 0;
    for (int64_t i = 0; i < dim; i++) var += (xr[i] - mu) * (xr[i] - mu);
    const float s = static_cast<float>(1.0 / std::sqrt(var / dim + eps));
    const float m = static_cast<float>(mu);
    for (int64_t i = 0; i < dim; i++) yr[i] = (xr[i] - m) * s * weight[i] + bias[i];
    mean[r] = m;
    rstd[r] = s;
  }
}

void layernorm_backward(const float* dout, const float* x, const float* mean, const float* rstd,
                        const float* weight, float* dx, float* dweight, float* dbias,
                        int64_t rows, int64_t dim) {
  // dx rows are independent; parameter gradients are reduced serially to stay deterministic.
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* dy = dout + r * dim;
    const float* xr = x + r * dim;
    const float m = mean[r], s = rstd[r];
    double mean_dxhat = 0, mean_dxhat_xhat = 0;
    for (int64_t i = 0; i < dim; i++) {
      const float xhat = (xr[i] - m) * s;
      const float dxhat = dy[i] * weight[i];
      mean_dxhat += dxhat;
      mean_dxhat_xhat += dxhat * xhat;
    }
    mean_dxhat /= dim;
    mean_dxhat_xhat /= dim;
    float* dxr = dx + r * dim;
    for (int64_t i = 0; i < dim; i++) {
      const float xhat = (xr[i] - m) * s;
      const float dxhat = dy[i] * weight[i];
      dxr[i] = s * (dxhat - static_cast<float>(mean_dxhat) - xhat * static_cast<float>(mean_dxhat_xhat));
    }
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < dim; i++) {
    float dw = 0, db = 0;
    for (int64_t r = 0; r < rows; r++) {
      const float dy = dout[r * dim + i];
      dw += dy * (x[r * dim + i] - mean[r]) * rstd[r];
      db += dy;
    }
    dweight[i] += dw;
    dbias[i] += db;
  }
}

void softmax_forward(const float* x, float* out, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* yr = out + r * cols;
    float mx = -INFINITY;
    for (int64_t i = 0; i < cols; i++) mx = xr[i] > mx ? xr[i] : mx;
    double sum = 0;
    for (int64_t i = 0; i < cols; i++) {
      yr[i] = std::exp(xr[i] - mx);
      sum += yr[i];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t i = 0; i < cols; i++) yr[i] *= inv;
  }
}

void softmax_backward(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float* dyr = dy + r * cols;
    const float* yr = y + r * cols;
    double dot = 0;
    for (int64_t i = 0; i < cols; i++) dot += dyr[i] * yr[i];
    const float d = static_cast<float>(dot);
    float* dxr = dx + r * cols;
    for (int64_t i = 0; i < cols; i++) dxr[i] = yr[i] * (dyr[i] - d);
  }
}

void gelu_forward(const float* x, float* out, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) out[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * static_cast<float>(M_SQRT1_2)));
}

void gelu_backward(const float* dy, const float* x, float* dx, int64_t n) {
  const float inv_sqrt_2pi = static_cast<float>(0.5 * M_2_SQRTPI * M_SQRT1_2);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    const float cdf = 0.5f * (1.0f + std::erf(x[i] * static_cast<float>(M_SQRT1_2)));
    const float pdf = inv_sqrt_2pi * std::exp(-0.5f * x[i] * x[i]);
    dx[i] = dy[i] * (cdf + x[i] * pdf);
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
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < cols; c++) {
    float s = accumulate ? out[c] : 0.0f;
    for (int64_t r = 0; r < rows; r++) s += x[r * cols + c];
    out[c] = s;
  }
}

double sum_squares(const float* x, int64_t n) {
  double s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static)
  for (int64_t i = 0; i < n; i++) s += static_cast<double>(x[i]) * x[i];
  return s;
}

void swap_axes12(const float* src, float* dst, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t a = 0; a < d0; a++)
    for (int64_t i = 0; i < d1; i++)
      for (int64_t j = 0; j < d2; j++) {
        const float* s = src + ((a * d1 + i) * d2 + j) * d3;
        float* d = dst + ((a * d2 + j) * d1 + i) * d3;
        for (int64_t t = 0; t < d3; t++) d[t] = s[t];
      }
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

}  // namespace vitlens
