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

// 12 independent accumulators hide the FMA latency; returns FLOPs done.
__attribute__((target("avx2,fma"))) double fma_loop_avx2() {
  __m256 acc[12];
  for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_ps(0.001f * i);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < kIters; it++)
    for (int i = 0; i < 12; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  float sink = 0;
  for (int i = 0; i < 12; i++) sink += _mm256_cvtss_f32(acc[i]);
  volatile float keep = sink;
  (void)keep;
  return 2.0 * 8 * 12 * static_cast<double>(kIters);
}

__attribute__((target("avx512f"))) double fma_loop_avx512() {
  __m512 acc[12];
  for (int i = 0; i < 12; i++) acc[i] = _mm512_set1_ps(0.001f * i);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < kIters; it++)
    for (int i = 0; i < 12; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  float sink = 0, lanes[16];
  for (int i = 0; i < 12; i++) {
    _mm512_storeu_ps(lanes, acc[i]);
    sink += lanes[0];
  }
  volatile float keep = sink;
  (void)keep;
  return 2.0 * 16 * 12 * static_cast<double>(kIters);
}

}  // namespace

double fma_peak_gflops(int threads) {
  // The widest FMA the library may use: AVX-512 only where oneDNN dispatches avx512_core.
  const bool wide = compat::cpu_has_avx512_core();
  if (!__builtin_cpu_supports("fma")) return 0;
  double flops = 0;
  const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : flops)
  flops += wide ? fma_loop_avx512() : fma_loop_avx2();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return flops / s / 1e9;
}

}  // namespace vitlens
