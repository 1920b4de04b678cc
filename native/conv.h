// Convolutions and max pooling over NCHW activations through oneDNN (inference only).
#pragma once
#include <dnnl.hpp>

#include <cstdint>

namespace vitlens {

// A square-kernel 2-D convolution; dilation in PyTorch's convention (1 = none).
struct ConvShape {
  int64_t batch, in_c, h, w, out_c, kernel, stride, pad, dilation;
  int64_t out_h() const { return (h + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1; }
  int64_t out_w() const { return (w + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1; }
};

// Fused epilogue: out = relu(out + conv) when accumulate and relu (sum then ReLU post-ops).
struct ConvEpilogue {
  bool has_bias, accumulate, relu;
};

// The primitive descriptor for a convolution with the given memory descriptors (any may be
// format_tag::any, letting oneDNN choose its layout).
dnnl::convolution_forward::primitive_desc conv_primitive_desc(const ConvShape& s, const ConvEpilogue& e,
                                                              const dnnl::memory::desc& src,
                                                              const dnnl::memory::desc& weights,
                                                              const dnnl::memory::desc& dst);

struct PoolShape {
  int64_t batch, channels, h, w, kernel, stride, pad;
  int64_t out_h() const { return (h + 2 * pad - kernel) / stride + 1; }
  int64_t out_w() const { return (w + 2 * pad - kernel) / stride + 1; }
};

dnnl::pooling_forward::primitive_desc pool_primitive_desc(const PoolShape& s, const dnnl::memory::desc& src,
                                                          const dnnl::memory::desc& dst);

// out (B, out_c, oh, ow) = [relu]([out +] conv(x) [+ bias]), plain NCHW / OIHW.
void conv2d(const float* x, const float* weight, const float* bias, float* out, const ConvShape& s, const ConvEpilogue& e);

// out (B, C, oh, ow) = max pooling of x (B, C, H, W), plain NCHW.
void max_pool2d(const float* x, float* out, const PoolShape& s);

}  // namespace vitlens
