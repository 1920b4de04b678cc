#include "conv.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "dnnl-compat.h"
#include "dnnl-engine.h"
#include "signal-guard.h"

namespace vitlens {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// Right padding that makes oneDNN's exact size arithmetic give PyTorch's floored output size
// (negative when the last rows are dropped by the stride).
int64_t pad_right(int64_t in, int64_t out, int64_t kernel_extent, int64_t stride, int64_t pad_left) {
  return (out - 1) * stride + kernel_extent - in - pad_left;
}

}  // namespace

dnnl::convolution_forward::primitive_desc conv_primitive_desc(const ConvShape& s, const ConvEpilogue& e,
                                                              const memory::desc& src, const memory::desc& weights,
                                                              const memory::desc& dst) {
  const int64_t extent = s.dilation * (s.kernel - 1) + 1;
  const memory::dims strides = {s.stride, s.stride};
  const memory::dims dilates = {s.dilation - 1, s.dilation - 1};  // oneDNN counts the gaps
  const memory::dims pad_l = {s.pad, s.pad};
  const memory::dims pad_r = {pad_right(s.h, s.out_h(), extent, s.stride, s.pad), pad_right(s.w, s.out_w(), extent, s.stride, s.pad)};
  const memory::desc bias = e.has_bias ? memory::desc({s.out_c}, dt::f32, tag::x) : memory::desc();
  dnnl::primitive_attr attr;
  dnnl::post_ops ops;
  if (e.accumulate) ops.append_sum(1.0f);
  if (e.relu) compat::append_eltwise(ops, dnnl::algorithm::eltwise_relu);
  attr.set_post_ops(ops);
  return compat::conv_inference_pd(src, weights, bias, dst, strides, dilates, pad_l, pad_r, attr, engine().engine);
}

dnnl::pooling_forward::primitive_desc pool_primitive_desc(const PoolShape& s, const memory::desc& src, const memory::desc& dst) {
  const memory::dims pad_r = {pad_right(s.h, s.out_h(), s.kernel, s.stride, s.pad), pad_right(s.w, s.out_w(), s.kernel, s.stride, s.pad)};
  return compat::max_pool_inference_pd(src, dst, {s.stride, s.stride}, {s.kernel, s.kernel}, {s.pad, s.pad}, pad_r, engine().engine);
}

void conv2d(const float* x, const float* weight, const float* bias, float* out, const ConvShape& s, const ConvEpilogue& e) {
  if (s.batch == 0 || s.out_c == 0) return;  // an empty output
  if (s.in_c == 0) {  // an empty sum (oneDNN refuses zero-sized descriptors): [relu]([out +] bias)
    const int64_t plane = s.out_h() * s.out_w();
    for (int64_t i = 0; i < s.batch * s.out_c * plane; i++) {
      const float v = (e.has_bias ? bias[i / plane % s.out_c] : 0.0f) + (e.accumulate ? out[i] : 0.0f);
      out[i] = e.relu ? std::max(v, 0.0f) : v;
    }
    return;
  }
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool, bool, bool>;
  thread_local std::map<Key, dnnl::convolution_forward> cache;
  const memory::desc src({s.batch, s.in_c, s.h, s.w}, dt::f32, tag::nchw);
  const memory::desc wts({s.out_c, s.in_c, s.kernel, s.kernel}, dt::f32, tag::oihw);
  const memory::desc dst({s.batch, s.out_c, s.out_h(), s.out_w()}, dt::f32, tag::nchw);
  const Key key{s.batch, s.in_c, s.h, s.w, s.out_c, s.kernel, s.stride, s.pad, s.dilation, e.has_bias, e.accumulate, e.relu};
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, dnnl::convolution_forward(conv_primitive_desc(s, e, src, wts, dst))).first;
  Engine& en = engine();
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, memory(src, en.engine, const_cast<float*>(x))},
                                          {DNNL_ARG_WEIGHTS, memory(wts, en.engine, const_cast<float*>(weight))},
                                          {DNNL_ARG_DST, memory(dst, en.engine, out)}};
  if (e.has_bias) args.insert({DNNL_ARG_BIAS, memory(memory::desc({s.out_c}, dt::f32, tag::x), en.engine, const_cast<float*>(bias))});
  SignalGuard guard;  // oneDNN may run a convolution as an sgemm: see signal-guard.h
  it->second.execute(en.stream, args);
  en.stream.wait();
}

void max_pool2d(const float* x, float* out, const PoolShape& s) {
  if (s.batch == 0 || s.channels == 0) return;  // an empty output
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t>;
  thread_local std::map<Key, dnnl::pooling_forward> cache;
  const memory::desc src({s.batch, s.channels, s.h, s.w}, dt::f32, tag::nchw);
  const memory::desc dst({s.batch, s.channels, s.out_h(), s.out_w()}, dt::f32, tag::nchw);
  const Key key{s.batch, s.channels, s.h, s.w, s.kernel, s.stride, s.pad};
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, dnnl::pooling_forward(pool_primitive_desc(s, src, dst))).first;
  Engine& en = engine();
  SignalGuard guard;
  it->second.execute(en.stream, {{DNNL_ARG_SRC, memory(src, en.engine, const_cast<float*>(x))}, {DNNL_ARG_DST, memory(dst, en.engine, out)}});
  en.stream.wait();
}

}  // namespace vitlens
