// Vectorized GELU and softmax (forward; its backward is in kernels.h) through oneDNN's JIT eltwise and softmax primitives,
// one primitive cached per shape (per thread).
#pragma once
#include <cstdint>

namespace vitlens {

// GELU's erf form, or with `tanh` its tanh approximation (GPT-2's gelu_new).
void dnnl_gelu_forward(const float* x, float* out, int64_t n, bool tanh = false);
void dnnl_gelu_backward(const float* dy, const float* x, float* dx, int64_t n, bool tanh = false);
void dnnl_softmax_forward(const float* x, float* out, int64_t rows, int64_t cols);
// x - log(sum(exp(x))) per row, in place when out == x.
void dnnl_logsoftmax_forward(const float* x, float* out, int64_t rows, int64_t cols);

}  // namespace vitlens
