// A linear layer applied to a few rows (a decoding step's beams): C (M,N) = A (M,K) @ W^T
// [+ bias (N)] [+ C] [then ReLU], W stored (N,K) as a linear layer's weight, M <= kFewRows.
#pragma once
#include <cstdint>

namespace vitlens {

constexpr int64_t kFewRows = 8;

// Whether few_rows_matmul takes this product: few rows and a weight of at least 64k values (256 KB,
// CATR's 256 x 256 projections included: 1.5-3x faster than oneDNN's GEMM there for 1-8 rows);
// smaller ones stay with oneDNN, whose result the tests compare at every shape.
bool few_rows_applies(int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b);

// Which build of the kernel runs: "avx2" (AVX2 + FMA) or "baseline" (x86-64-v2).
const char* few_rows_isa();

void few_rows_matmul(const float* a, const float* w, float* c, int64_t m, int64_t n, int64_t k, const float* bias,
                     bool accumulate, bool relu);

}  // namespace vitlens
