// Elementwise, normalization and layout kernels (OpenMP over rows).
// Convention: activation outputs are overwritten; parameter gradients (dweight, dbias,
// column sums with accumulate) are added to, as gradients accumulate over a batch.
#pragma once
#include <cstdint>

namespace vitlens {

// out = (x - mean) * rstd * weight + bias per row of `dim`; keeps mean and rstd (rows).
void layernorm_forward(const float* x, const float* weight, const float* bias, float* out,
                       float* mean, float* rstd, int64_t rows, int64_t dim, float eps);
// dx = d(layernorm)/dx; dweight += sum(dout * xhat); dbias += sum(dout).
void layernorm_backward(const float* dout, const float* x, const float* mean, const float* rstd,
                        const float* weight, float* dx, float* dweight, float* dbias,
                        int64_t rows, int64_t dim);

void softmax_forward(const float* x, float* out, int64_t rows, int64_t cols);
// dx = y * (dy - sum(dy * y)) per row.
void softmax_backward(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols);

// GELU, exact erf form: x * 0.5 * (1 + erf(x / sqrt(2))).
void gelu_forward(const float* x, float* out, int64_t n);
void gelu_backward(const float* dy, const float* x, float* dx, int64_t n);

void add(const float* a, const float* b, float* out, int64_t n);
void scale(const float* x, float s, float* out, int64_t n);
// out (cols) = [out +] sum over rows of x (rows, cols): the bias gradient.
void sum_rows(const float* x, float* out, int64_t rows, int64_t cols, bool accumulate);
double sum_squares(const float* x, int64_t n);

// (d0, d1, d2, d3) -> (d0, d2, d1, d3): heads split/merge in attention.
void swap_axes12(const float* src, float* dst, int64_t d0, int64_t d1, int64_t d2, int64_t d3);

// Image (B, C, H, W) -> patches (B, gh*gw, C*p*p), flattened like a Conv2d weight (C, p, p).
void patchify(const float* img, float* out, int64_t b, int64_t c, int64_t h, int64_t w, int64_t p);

}  // namespace vitlens
