// Every call whose form belongs to oneDNN 2.x, in one place: the operation descriptors
// (matmul::desc, convolution_forward::desc, pooling_forward::desc, eltwise_*::desc,
// softmax_forward::desc, logsoftmax_forward::desc) that oneDNN 3.0 removed in favour of
// primitive_desc constructors, set_output_scales (3.x: runtime scales), post_ops::append_eltwise's
// scale argument, and the cpu_isa names. The rest of native/ uses only API that 2.x and 3.x share
// (memory, memory::desc, engine, stream, reorder, primitive_attr, post_ops::append_sum, execute),
// so a port to 3.x rewrites this file and nothing else.
#pragma once

#if __has_include(<oneapi/dnnl/dnnl_version.h>)
#include <oneapi/dnnl/dnnl_version.h>
#elif __has_include(<dnnl_version.h>)  // oneDNN 1.x's (DNNL) layout
#include <dnnl_version.h>
#endif

#if !defined(DNNL_VERSION_MAJOR) || DNNL_VERSION_MAJOR != 2
#error "vitlens' native addon supports oneDNN 2.x only (written for and tested with 2.6, Debian's libdnnl-dev); this oneDNN is another major version: port native/dnnl-compat.h"
#endif

#include <dnnl.hpp>
#include <string>

namespace vitlens::compat {

using dnnl::memory;

// C = alpha * product: oneDNN 2.x's output scale (3.x: an eltwise_linear post-op, or runtime
// scales). Call before any other post-op is appended to `ops`.
inline void scale_output(dnnl::primitive_attr& attr, dnnl::post_ops& /*ops*/, float alpha) {
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
}

// An activation post-op (GELU erf, ReLU) with oneDNN's default alpha and beta.
inline void append_eltwise(dnnl::post_ops& ops, dnnl::algorithm alg) { ops.append_eltwise(1.0f, alg, 0.0f, 0.0f); }

// A matmul of (batch, M, K) by (batch, K, N) into (batch, M, N); `bias` may be an empty desc.
inline dnnl::matmul::primitive_desc matmul_pd(const memory::desc& a, const memory::desc& b, const memory::desc& bias,
                                              const memory::desc& c, const dnnl::primitive_attr& attr, const dnnl::engine& eng) {
  const bool has_bias = bias != memory::desc();
  auto desc = has_bias ? dnnl::matmul::desc(a, b, bias, c) : dnnl::matmul::desc(a, b, c);
  return dnnl::matmul::primitive_desc(desc, attr, eng);
}

// A direct 2-D convolution for inference; `bias` may be an empty desc. Dilations count the gaps
// (oneDNN's convention: 0 is a plain convolution).
inline dnnl::convolution_forward::primitive_desc conv_inference_pd(
    const memory::desc& src, const memory::desc& weights, const memory::desc& bias, const memory::desc& dst,
    const memory::dims& strides, const memory::dims& dilates, const memory::dims& pad_l, const memory::dims& pad_r,
    const dnnl::primitive_attr& attr, const dnnl::engine& eng) {
  const bool has_bias = bias != memory::desc();
  auto desc = has_bias
      ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, weights,
                                        bias, dst, strides, dilates, pad_l, pad_r)
      : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, weights,
                                        dst, strides, dilates, pad_l, pad_r);
  return dnnl::convolution_forward::primitive_desc(desc, attr, eng);
}

// Max pooling for inference (no dilation).
inline dnnl::pooling_forward::primitive_desc max_pool_inference_pd(const memory::desc& src, const memory::desc& dst,
                                                                   const memory::dims& strides, const memory::dims& kernel,
                                                                   const memory::dims& pad_l, const memory::dims& pad_r,
                                                                   const dnnl::engine& eng) {
  dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, src, dst, strides, kernel,
                                   pad_l, pad_r);
  return dnnl::pooling_forward::primitive_desc(desc, eng);
}

// An elementwise function (alpha = beta = 0) forward for training, and its backward.
inline dnnl::eltwise_forward::primitive_desc eltwise_training_pd(dnnl::algorithm alg, const memory::desc& d, const dnnl::engine& eng) {
  return dnnl::eltwise_forward::primitive_desc({dnnl::prop_kind::forward_training, alg, d, 0.f, 0.f}, eng);
}
inline dnnl::eltwise_backward::primitive_desc eltwise_backward_pd(dnnl::algorithm alg, const memory::desc& d, const dnnl::engine& eng,
                                                                  const dnnl::eltwise_forward::primitive_desc& hint) {
  return dnnl::eltwise_backward::primitive_desc({alg, d, d, 0.f, 0.f}, eng, hint);
}

// Softmax over the last axis of (rows, cols) for inference, or with `log` log-softmax (2.x has a
// primitive of its own; 3.x: softmax_forward with algorithm::softmax_log).
inline dnnl::primitive row_softmax_inference(const memory::desc& rows_cols, bool log, const dnnl::engine& eng) {
  if (log) return dnnl::logsoftmax_forward(dnnl::logsoftmax_forward::primitive_desc({dnnl::prop_kind::forward_inference, rows_cols, 1}, eng));
  return dnnl::softmax_forward(dnnl::softmax_forward::primitive_desc({dnnl::prop_kind::forward_inference, rows_cols, 1}, eng));
}

// The best ISA oneDNN dispatches to here, by oneDNN's name (avx2, avx512_core_amx, ...).
inline std::string cpu_isa_name() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "any";
  }
}

// Whether the dispatched ISA includes `wanted` (2.x's ISA values are nested bit masks: AMX
// includes avx512_core_bf16, which includes avx512_core).
inline bool cpu_isa_includes(dnnl::cpu_isa wanted) {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto want = static_cast<unsigned>(wanted);
  return (isa & want) == want;
}

// oneDNN has bf16 matmul kernels here: avx512_core_bf16 or AMX.
inline bool cpu_has_bf16_kernels() { return cpu_isa_includes(dnnl::cpu_isa::avx512_core_bf16); }
// oneDNN dispatches AVX-512 (avx512_core or later).
inline bool cpu_has_avx512_core() { return cpu_isa_includes(dnnl::cpu_isa::avx512_core); }
// oneDNN dispatches AVX2 (or later) / AVX (or later). vitlens' own kernels and the peak loop ask
// these rather than the CPU, so ONEDNN_MAX_CPU_ISA emulates an older ISA for the whole engine.
inline bool cpu_has_avx2() { return cpu_isa_includes(dnnl::cpu_isa::avx2); }
inline bool cpu_has_avx() { return cpu_isa_includes(dnnl::cpu_isa::avx); }

}  // namespace vitlens::compat
