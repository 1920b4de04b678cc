#include "matmul.h"

#include "dnnl-engine.h"

#include <dnnl.hpp>
#include <map>
#include <mutex>
#include <tuple>

namespace vitlens {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// (batch, m, n, k, trans_a, trans_b, has_bias, accumulate, alpha)
using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, bool, bool, bool, bool, float>;

struct Cached {
  dnnl::matmul prim;
  memory::desc a, b, bias, c;
};

// Logical (batch, rows, cols) view of a row-major buffer stored transposed or not.
memory::desc view(int64_t batch, int64_t rows, int64_t cols, bool transposed) {
  memory::dims dims = {batch, rows, cols};
  memory::dims strides = transposed ? memory::dims{rows * cols, 1, rows}
                                    : memory::dims{rows * cols, cols, 1};
  return memory::desc(dims, dt::f32, strides);
}

Cached& primitive_for(const Key& key) {
  thread_local std::map<Key, Cached> cache;
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  auto [batch, m, n, k, ta, tb, has_bias, accumulate, alpha] = key;
  Cached entry;
  entry.a = view(batch, m, k, ta);
  entry.b = view(batch, k, n, tb);
  entry.c = view(batch, m, n, false);
  entry.bias = has_bias ? memory::desc({1, 1, n}, dt::f32, tag::abc) : memory::desc();
  dnnl::primitive_attr attr;
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
  if (accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  auto desc = has_bias ? dnnl::matmul::desc(entry.a, entry.b, entry.bias, entry.c)
                       : dnnl::matmul::desc(entry.a, entry.b, entry.c);
  dnnl::matmul::primitive_desc pd(desc, attr, engine().engine);
  entry.prim = dnnl::matmul(pd);
  return cache.emplace(key, std::move(entry)).first->second;
}

void run(const Key& key, const float* a, const float* b, const float* bias, float* c) {
  Cached& p = primitive_for(key);
  Engine& e = engine();
  memory ma(p.a, e.engine, const_cast<float*>(a));
  memory mb(p.b, e.engine, const_cast<float*>(b));
  memory mc(p.c, e.engine, c);
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
  if (bias) args.insert({DNNL_ARG_BIAS, memory(p.bias, e.engine, const_cast<float*>(bias))});
  p.prim.execute(e.stream, args);
  e.stream.wait();
}

}  // namespace

void matmul(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k,
            bool trans_a, bool trans_b, const float* bias, bool accumulate) {
  run(Key{1, m, n, k, trans_a, trans_b, bias != nullptr, accumulate, 1.0f}, a, b, bias, c);
}

void batch_matmul(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t n,
                  int64_t k, bool trans_a, bool trans_b, float alpha, bool accumulate) {
  run(Key{batch, m, n, k, trans_a, trans_b, false, accumulate, alpha}, a, b, nullptr, c);
}

}  // namespace vitlens
