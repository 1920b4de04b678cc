#include "dnnl-ops.h"

#include <dnnl.hpp>
#include <map>
#include <tuple>
#include <utility>

#include "dnnl-compat.h"
#include "dnnl-engine.h"
#include "signal-guard.h"

namespace vitlens {
namespace {

using dnnl::memory;
using dnnl::algorithm;

memory::desc flat(int64_t n) { return memory::desc({n}, memory::data_type::f32, memory::format_tag::a); }
memory::desc rows_desc(int64_t rows, int64_t cols) {
  return memory::desc({rows, cols}, memory::data_type::f32, memory::format_tag::ab);
}

memory mem(const memory::desc& d, const float* p) { return memory(d, engine().engine, const_cast<float*>(p)); }

void run(dnnl::primitive& p, std::unordered_map<int, memory> args) {
  SignalGuard guard;
  p.execute(engine().stream, args);
  engine().stream.wait();
}

// GELU primitives (erf form or tanh approximation): forward, and backward (which needs a forward hint).
struct Gelu {
  dnnl::eltwise_forward fwd;
  dnnl::eltwise_backward bwd;
};

Gelu& gelu(int64_t n, bool tanh) {
  thread_local std::map<std::pair<int64_t, bool>, Gelu> cache;
  auto key = std::make_pair(n, tanh);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  const auto& eng = engine().engine;
  auto d = flat(n);
  const auto alg = tanh ? algorithm::eltwise_gelu_tanh : algorithm::eltwise_gelu_erf;
  auto fpd = compat::eltwise_training_pd(alg, d, eng);
  auto bpd = compat::eltwise_backward_pd(alg, d, eng, fpd);
  return cache.emplace(key, Gelu{dnnl::eltwise_forward(fpd), dnnl::eltwise_backward(bpd)}).first->second;
}

// Softmax or log-softmax over the rows of a (rows, cols) matrix, one primitive per shape and
// thread. Forward only: oneDNN 2.6 runs softmax's backward as a reference loop on AVX2, so
// kernels.cc has it (softmax_backward).
dnnl::primitive& row_softmax(int64_t rows, int64_t cols, bool log) {
  thread_local std::map<std::tuple<int64_t, int64_t, bool>, dnnl::primitive> cache;
  auto key = std::make_tuple(rows, cols, log);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  return cache.emplace(key, compat::row_softmax_inference(rows_desc(rows, cols), log, engine().engine)).first->second;
}

}  // namespace

void dnnl_gelu_forward(const float* x, float* out, int64_t n, bool tanh) {
  if (n == 0) return;
  auto d = flat(n);
  run(gelu(n, tanh).fwd, {{DNNL_ARG_SRC, mem(d, x)}, {DNNL_ARG_DST, mem(d, out)}});
}

void dnnl_gelu_backward(const float* dy, const float* x, float* dx, int64_t n, bool tanh) {
  if (n == 0) return;
  auto d = flat(n);
  run(gelu(n, tanh).bwd, {{DNNL_ARG_SRC, mem(d, x)}, {DNNL_ARG_DIFF_DST, mem(d, dy)}, {DNNL_ARG_DIFF_SRC, mem(d, dx)}});
}

void dnnl_softmax_forward(const float* x, float* out, int64_t rows, int64_t cols) {
  if (rows == 0 || cols == 0) return;
  auto d = rows_desc(rows, cols);
  run(row_softmax(rows, cols, false), {{DNNL_ARG_SRC, mem(d, x)}, {DNNL_ARG_DST, mem(d, out)}});
}

void dnnl_logsoftmax_forward(const float* x, float* out, int64_t rows, int64_t cols) {
  if (rows == 0 || cols == 0) return;
  auto d = rows_desc(rows, cols);
  run(row_softmax(rows, cols, true), {{DNNL_ARG_SRC, mem(d, x)}, {DNNL_ARG_DST, mem(d, out)}});
}

}  // namespace vitlens
