#include "matmul.h"

#include "dnnl-compat.h"
#include "dnnl-engine.h"
#include "few-rows-matmul.h"
#include "precision.h"
#include "signal-guard.h"

#include <algorithm>
#include <cmath>
#include <dnnl.hpp>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

namespace vitlens {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// (batch, m, n, k, trans_a, trans_b, has_bias, accumulate, alpha, bf16 operands, activation post-op)
using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, bool, bool, bool, bool, float, bool, Activation>;

struct Cached {
  dnnl::matmul prim;
  memory::desc a, b, bias, c;
};

// Logical (batch, rows, cols) view of a row-major buffer stored transposed or not.
memory::desc view(int64_t batch, int64_t rows, int64_t cols, bool transposed, dt type = dt::f32) {
  memory::dims dims = {batch, rows, cols};
  memory::dims strides = transposed ? memory::dims{rows * cols, 1, rows}
                                    : memory::dims{rows * cols, cols, 1};
  return memory::desc(dims, type, strides);
}

Cached& primitive_for(const Key& key) {
  thread_local std::map<Key, Cached> cache;
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  auto [batch, m, n, k, ta, tb, has_bias, accumulate, alpha, bf16, activation] = key;
  Cached entry;
  // bf16: the operands are converted into bf16 copies of the same layout; products accumulate
  // and write f32 (bias and the residual sum stay f32).
  const dt operand = bf16 ? dt::bf16 : dt::f32;
  entry.a = view(batch, m, k, ta, operand);
  entry.b = view(batch, k, n, tb, operand);
  entry.c = view(batch, m, n, false);
  entry.bias = has_bias ? memory::desc({1, 1, n}, dt::f32, tag::abc) : memory::desc();
  dnnl::primitive_attr attr;
  dnnl::post_ops ops;
  compat::scale_output(attr, ops, alpha);
  if (accumulate) ops.append_sum(1.0f);
  if (activation == Activation::kGelu) compat::append_eltwise(ops, dnnl::algorithm::eltwise_gelu_erf);
  if (activation == Activation::kRelu) compat::append_eltwise(ops, dnnl::algorithm::eltwise_relu);
  if (ops.len() > 0) attr.set_post_ops(ops);
  entry.prim = dnnl::matmul(compat::matmul_pd(entry.a, entry.b, entry.bias, entry.c, attr, engine().engine));
  return cache.emplace(key, std::move(entry)).first->second;
}

// A bf16 copy of `n` operand values in a per-thread buffer reused across calls (`slot` 0: A, 1: B).
void* bf16_copy(const float* x, int64_t n, int slot) {
  thread_local std::vector<uint16_t> buffers[2];
  auto& buf = buffers[slot];
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(n);
  to_bf16(x, buf.data(), n);
  return buf.data();
}

void run(const Key& key, const float* a, const float* b, const float* bias, float* c) {
  Cached& p = primitive_for(key);
  Engine& e = engine();
  const bool bf16 = std::get<9>(key);
  const int64_t batch = std::get<0>(key), m = std::get<1>(key), n = std::get<2>(key), k = std::get<3>(key);
  void* pa = bf16 ? bf16_copy(a, batch * m * k, 0) : const_cast<float*>(a);
  void* pb = bf16 ? bf16_copy(b, batch * k * n, 1) : const_cast<float*>(b);
  memory ma(p.a, e.engine, pa);
  memory mb(p.b, e.engine, pb);
  memory mc(p.c, e.engine, c);
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
  if (bias) args.insert({DNNL_ARG_BIAS, memory(p.bias, e.engine, const_cast<float*>(bias))});
  SignalGuard guard;  // the f32 products run oneDNN's sgemm: see signal-guard.h
  p.prim.execute(e.stream, args);
  e.stream.wait();
}

// A product with K = 0 (an empty sum): C = act([C +] bias), or 0 without a bias. oneDNN refuses
// zero-sized descriptors, so nothing reaches it.
void empty_sum(float* c, int64_t m, int64_t n, const float* bias, bool accumulate, Activation activation) {
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      float v = (bias ? bias[j] : 0.0f) + (accumulate ? c[i * n + j] : 0.0f);
      if (activation == Activation::kGelu) v = 0.5f * v * (1.0f + std::erf(v * static_cast<float>(M_SQRT1_2)));
      if (activation == Activation::kRelu) v = std::max(v, 0.0f);
      c[i * n + j] = v;
    }
}

}  // namespace

void matmul(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k,
            bool trans_a, bool trans_b, const float* bias, bool accumulate, bool bf16, Activation activation) {
  if (m == 0 || n == 0) return;  // an empty C
  if (k == 0) return empty_sum(c, m, n, bias, accumulate, activation);
  // A decoding step's few rows: oneDNN 2.6's GEMM streamed the weights at 5-11 GB/s for 4 rows
  // on a 2-core AVX2 host, the few-rows kernel at 20-30 GB/s (weights larger than the cache).
  if (!bf16 && activation != Activation::kGelu && few_rows_applies(m, n, k, trans_a, trans_b)) {
    return few_rows_matmul(a, b, c, m, n, k, bias, accumulate, activation == Activation::kRelu);
  }
  run(Key{1, m, n, k, trans_a, trans_b, bias != nullptr, accumulate, 1.0f, bf16, activation}, a, b, bias, c);
}

void batch_matmul(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t n,
                  int64_t k, bool trans_a, bool trans_b, float alpha, bool accumulate, bool bf16) {
  if (batch == 0 || m == 0 || n == 0) return;  // an empty C
  if (k == 0) return empty_sum(c, batch * m, n, nullptr, accumulate, Activation::kNone);
  run(Key{batch, m, n, k, trans_a, trans_b, false, accumulate, alpha, bf16, Activation::kNone}, a, b, nullptr, c);
}

}  // namespace vitlens
