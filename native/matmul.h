// Matrix products through oneDNN's matmul primitive, one primitive cached per shape.
#pragma once
#include <cstdint>

namespace vitlens {

// A product's post-op, applied to the result (bias and accumulated C included).
enum class Activation { kNone, kGelu, kRelu };

// C (M,N) = op(A) @ op(B) [+ bias (N)] [+ C when accumulate]; op(X) = X^T when trans*.
// Row-major; A is (M,K) or (K,M) when transA, B is (K,N) or (N,K) when transB.
// bf16: A and B rounded to bf16 (nearest even), products accumulated and written in f32; only
// where has_native_bf16() (oneDNN refuses the primitive elsewhere). activation: GELU (erf) or ReLU
// of the result as a post-op (inference, where nothing keeps the product itself).
void matmul(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k,
            bool trans_a, bool trans_b, const float* bias, bool accumulate, bool bf16 = false,
            Activation activation = Activation::kNone);

// C[i] (M,N) = alpha * op(A[i]) @ op(B[i]) [+ C[i] when accumulate], for i < batch.
void batch_matmul(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t n,
                  int64_t k, bool trans_a, bool trans_b, float alpha, bool accumulate, bool bf16 = false);

}  // namespace vitlens
