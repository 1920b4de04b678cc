#include "few-rows-matmul.h"

#include <cstring>

#include "dnnl-compat.h"

namespace vitlens {

// The same kernel twice: for AVX2 + FMA (picked at run time where the CPU has them and oneDNN
// dispatches AVX2 or later, AVX-512 machines included) and for baseline x86-64, which the addon is
// otherwise built for.
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace avx2 {
#include "few-rows-kernel.inc"
}  // namespace avx2
#pragma GCC pop_options

namespace baseline {
#include "few-rows-kernel.inc"
}  // namespace baseline

namespace {

// AVX2 where oneDNN dispatches it too: ONEDNN_MAX_CPU_ISA below AVX2 runs (and tests) the baseline.
bool use_avx2() {
  static const bool fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && compat::cpu_has_avx2();
  return fma;
}

template <int M>
void dispatch(const float* a, const float* w, float* c, int64_t n, int64_t k, const float* bias, bool accumulate, bool relu) {
  if (use_avx2()) {
    avx2::few_rows<M>(a, w, c, n, k, bias, accumulate, relu);
  } else {
    baseline::few_rows<M>(a, w, c, n, k, bias, accumulate, relu);
  }
}

}  // namespace

const char* few_rows_isa() { return use_avx2() ? "avx2" : "baseline"; }

bool few_rows_applies(int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b) {
  return m >= 1 && m <= kFewRows && !trans_a && trans_b && n * k >= (int64_t{1} << 16);
}

void few_rows_matmul(const float* a, const float* w, float* c, int64_t m, int64_t n, int64_t k, const float* bias,
                     bool accumulate, bool relu) {
  switch (m) {
    case 1: return dispatch<1>(a, w, c, n, k, bias, accumulate, relu);
    case 2: return dispatch<2>(a, w, c, n, k, bias, accumulate, relu);
    case 3: return dispatch<3>(a, w, c, n, k, bias, accumulate, relu);
    case 4: return dispatch<4>(a, w, c, n, k, bias, accumulate, relu);
    case 5: return dispatch<5>(a, w, c, n, k, bias, accumulate, relu);
    case 6: return dispatch<6>(a, w, c, n, k, bias, accumulate, relu);
    case 7: return dispatch<7>(a, w, c, n, k, bias, accumulate, relu);
    default: return dispatch<8>(a, w, c, n, k, bias, accumulate, relu);
  }
}

}  // namespace vitlens
