#include "precision.h"

#include <immintrin.h>
#include <omp.h>

#include <chrono>

#include "dnnl-compat.h"

namespace vitlens {

void round_bf16(const float* x, float* out, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; i++) {
    const uint32_t bits = static_cast<uint32_t>(to_bf16_bits(x[i])) << 16;
    __builtin_memcpy(out + i, &bits, 4);
  }
}

void to_bf16(const float* x, uint16_t* bits, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; i++) bits[i] = to_bf16_bits(x[i]);
}

std::string cpu_isa() { return compat::cpu_isa_name(); }

bool has_native_bf16() { return compat::cpu_has_bf16_kernels(); }

namespace {

constexpr int64_t kIters = 20'000'000;
constexpr int kChains = 12;  // independent accumulators: enough to hide a multiply-add's latency

// Reads each accumulator's first lane into a volatile, so the loop cannot be optimised away.
template <typename Vec>
inline void keep_alive(const Vec (&acc)[kChains]) {
  float sink = 0;
  for (const Vec& v : acc) {
    float first;
    __builtin_memcpy(&first, &v, sizeof first);
    sink += first;
  }
  volatile float keep = sink;
  (void)keep;
}

// Each loop returns the FLOPs it did (2 per lane and multiply-add).
__attribute__((target("avx2,fma"))) double fma_loop_avx2() {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; i++) acc[i] = _mm256_set1_ps(0.001f * i);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < kIters; it++)
    for (int i = 0; i < kChains; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  keep_alive(acc);
  return 2.0 * 8 * kChains * static_cast<double>(kIters);
}

__attribute__((target("avx512f"))) double fma_loop_avx512() {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; i++) acc[i] = _mm512_set1_ps(0.001f * i);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < kIters; it++)
    for (int i = 0; i < kChains; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  keep_alive(acc);
  return 2.0 * 16 * kChains * static_cast<double>(kIters);
}

// Before AVX2 there is no FMA: a multiply and an add per lane, 8 lanes (AVX) or 4 (SSE).
__attribute__((target("avx"))) double mul_add_loop_avx() {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; i++) acc[i] = _mm256_set1_ps(0.001f * i);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < kIters; it++)
    for (int i = 0; i < kChains; i++) acc[i] = _mm256_add_ps(_mm256_mul_ps(acc[i], a), b);
  keep_alive(acc);
  return 2.0 * 8 * kChains * static_cast<double>(kIters);
}

double mul_add_loop_sse() {
  __m128 acc[kChains];
  for (int i = 0; i < kChains; i++) acc[i] = _mm_set1_ps(0.001f * i);
  const __m128 a = _mm_set1_ps(0.999999f), b = _mm_set1_ps(1e-7f);
  for (int64_t it = 0; it < kIters; it++)
    for (int i = 0; i < kChains; i++) acc[i] = _mm_add_ps(_mm_mul_ps(acc[i], a), b);
  keep_alive(acc);
  return 2.0 * 4 * kChains * static_cast<double>(kIters);
}

}  // namespace

double fma_peak_gflops(int threads) {
  // The widest multiply-add oneDNN dispatches (ONEDNN_MAX_CPU_ISA lowers it): AVX-512 from
  // avx512_core, AVX2 FMA, else separate multiplies and adds as its AVX / SSE4.1 kernels run them.
  double (*loop)() = compat::cpu_has_avx512_core()                               ? fma_loop_avx512
                     : compat::cpu_has_avx2() && __builtin_cpu_supports("fma")   ? fma_loop_avx2
                     : compat::cpu_has_avx()                                     ? mul_add_loop_avx
                                                                                 : mul_add_loop_sse;
  double flops = 0;
  const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : flops)
  flops += loop();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return flops / s / 1e9;
}

}  // namespace vitlens
