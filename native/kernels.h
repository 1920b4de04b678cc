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

// dx = y * (dy - sum(dy * y)) per row of `cols`: softmax's backward from its output y.
void softmax_backward(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols);

void add(const float* a, const float* b, float* out, int64_t n);
void scale(const float* x, float s, float* out, int64_t n);
// out (cols) = [out +] sum over rows of x (rows, cols): the bias gradient.
void sum_rows(const float* x, float* out, int64_t rows, int64_t cols, bool accumulate);
double sum_squares(const float* x, int64_t n);

// torch.optim.SGD on one tensor: d = g + wd*w; buf = first ? d : m*buf + (1-damp)*d (when m != 0);
// d = nesterov ? d + m*buf : buf; w -= lr*d. `buf` may be null when momentum is 0.
void sgd_step(float* w, const float* g, float* buf, int64_t n, float lr, float momentum, float dampening,
              bool nesterov, float weight_decay, bool first);
// torch.optim.AdamW on one tensor at step t (1-based).
void adamw_step(float* w, const float* g, float* m, float* v, int64_t n, float lr, float beta1, float beta2,
                float eps, float weight_decay, int64_t t);

// (B, N, S, H, hd) -> (S, B, H, N, hd): a fused projection (S = 3 for qkv) split into
// contiguous per-head blocks, so attention is one batched matmul over B*H.
void split_heads(const float* src, float* dst, int64_t b, int64_t n, int64_t s, int64_t h, int64_t hd);
// The inverse: (S, B, H, N, hd) -> (B, N, S, H, hd).
void merge_heads(const float* src, float* dst, int64_t b, int64_t n, int64_t s, int64_t h, int64_t hd);

// Image (B, C, H, W) -> patches (B, gh*gw, C*p*p), flattened like a Conv2d weight (C, p, p).
void patchify(const float* img, float* out, int64_t b, int64_t c, int64_t h, int64_t w, int64_t p);

}  // namespace vitlens
