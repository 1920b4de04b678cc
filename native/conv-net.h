// A fixed chain of convolutions and max pools run as one call: weights reordered once into the
// layout oneDNN picks (format_tag::any), activations kept in its blocked layout between steps,
// one reorder in and one out; primitives and buffers planned once per input shape.
#pragma once
#include <dnnl.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "conv.h"

namespace vitlens {

constexpr int kNoResidual = -2;

struct ConvNetStep {
  bool pool;
  int input;     // index of an earlier step, -1 = the network input
  int residual;  // index of an earlier step added before the ReLU, -1 = the network input, kNoResidual

  int64_t in_c, out_c, kernel, stride, pad, dilation;
  bool relu;
  dnnl::memory weights;  // (out_c, in_c, k, k), in the layout the last plan chose
  dnnl::memory bias;     // (out_c), or empty
};

class ConvNet {
 public:
  // Steps with `weights` / `bias` still empty; the weights and biases are copied from the pointers.
  ConvNet(std::vector<ConvNetStep> steps, const std::vector<const float*>& weights, const std::vector<const float*>& biases);

  int64_t in_channels() const { return in_c_; }
  // (C, H, W) of the output for an (h, w) input.
  std::tuple<int64_t, int64_t, int64_t> output_shape(int64_t h, int64_t w) const;
  // out (B, C', H', W') = the network on x (B, C, H, W), both plain NCHW.
  void forward(const float* x, float* out, int64_t b, int64_t h, int64_t w);

 private:
  struct Plan;
  Plan& plan_for(int64_t b, int64_t h, int64_t w);

  // Plans hold activation buffers: a few input shapes are kept (CATR's images differ in one
  // side), the least recently used dropped beyond that.
  static constexpr size_t kMaxPlans = 4;
  std::vector<ConvNetStep> steps_;
  int64_t in_c_;
  uint64_t clock_ = 0;
  std::map<std::tuple<int64_t, int64_t, int64_t>, std::pair<uint64_t, std::shared_ptr<Plan>>> plans_;  // (last use, plan)
};

}  // namespace vitlens
