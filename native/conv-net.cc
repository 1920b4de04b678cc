#include "conv-net.h"

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

#include "dnnl-engine.h"
#include "signal-guard.h"

namespace vitlens {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

constexpr int kUserInput = -1;
constexpr int kUserOutput = -2;

struct Shape {
  int64_t c, h, w;
};

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};

// An activation argument of an op: where its memory lives once buffers are allocated.
struct ActArg {
  int arg;
  memory::desc desc;
  int buffer;  // plan buffer index, or kUserInput / kUserOutput
};

struct Op {
  dnnl::primitive prim;
  std::vector<ActArg> acts;
  std::unordered_map<int, memory> fixed;  // weights, bias
};

// Buffers reused across steps once their value is dead; sizes grow while planning.
struct BufferPool {
  std::vector<size_t> bytes;
  std::vector<int> free_list;

  int acquire(size_t need) {
    int best = -1;
    for (size_t i = 0; i < free_list.size(); i++) {
      const int b = free_list[i];
      if (best < 0 || (bytes[b] >= need && (bytes[best] < need || bytes[b] < bytes[best])) ||
          (bytes[best] < need && bytes[b] > bytes[best]))
        best = static_cast<int>(i);
    }
    if (best >= 0) {
      const int b = free_list[best];
      free_list.erase(free_list.begin() + best);
      if (bytes[b] < need) bytes[b] = need;
      return b;
    }
    bytes.push_back(need);
    return static_cast<int>(bytes.size()) - 1;
  }
  void release(int b) {
    if (b >= 0) free_list.push_back(b);
  }
};

}  // namespace

struct ConvNet::Plan {
  std::vector<Op> ops;
  std::vector<std::unique_ptr<float, AlignedFree>> buffers;
  std::vector<std::unordered_map<int, memory>> args;  // per op, materialized
  std::vector<std::pair<size_t, int>> user_in, user_out;  // (op, arg) whose handle is set per call
};

ConvNet::ConvNet(std::vector<ConvNetStep> steps, const std::vector<const float*>& weights, const std::vector<const float*>& biases)
    : steps_(std::move(steps)) {
  if (steps_.empty()) throw std::invalid_argument("convNet: no steps");
  in_c_ = -1;
  auto& eng = engine().engine;
  for (size_t i = 0; i < steps_.size(); i++) {
    ConvNetStep& s = steps_[i];
    if (s.input < -1 || s.input >= static_cast<int>(i) || s.residual < kNoResidual || s.residual >= static_cast<int>(i))
      throw std::invalid_argument("convNet step " + std::to_string(i) + ": input and residual must be earlier steps");
    if (s.input == -1 && !s.pool) in_c_ = s.in_c;
    if (s.pool) continue;
    s.weights = memory({{s.out_c, s.in_c, s.kernel, s.kernel}, dt::f32, tag::oihw}, eng);
    std::memcpy(s.weights.get_data_handle(), weights[i], sizeof(float) * s.out_c * s.in_c * s.kernel * s.kernel);
    if (biases[i]) {
      s.bias = memory({{s.out_c}, dt::f32, tag::x}, eng);
      std::memcpy(s.bias.get_data_handle(), biases[i], sizeof(float) * s.out_c);
    }
  }
  if (in_c_ < 0) throw std::invalid_argument("convNet: the network input must feed a convolution");
}

std::tuple<int64_t, int64_t, int64_t> ConvNet::output_shape(int64_t h, int64_t w) const {
  // (C, 0, 0) as soon as a step's window does not fit its padded input (PyTorch's floored size
  // would be below 1; C++'s division truncates toward zero, so that is tested first).
  std::vector<Shape> shapes;
  auto shape_of = [&](int v) { return v < 0 ? Shape{in_c_, h, w} : shapes[v]; };
  for (const ConvNetStep& s : steps_) {
    const Shape x = shape_of(s.input);
    const int64_t c = s.pool ? x.c : s.out_c;
    int64_t extent;
    if (__builtin_mul_overflow(s.dilation, s.kernel - 1, &extent) || extent >= x.h + 2 * s.pad || extent >= x.w + 2 * s.pad)
      return {steps_.back().pool ? 0 : steps_.back().out_c, 0, 0};
    shapes.push_back({c, (x.h + 2 * s.pad - extent - 1) / s.stride + 1, (x.w + 2 * s.pad - extent - 1) / s.stride + 1});
  }
  return {shapes.back().c, shapes.back().h, shapes.back().w};
}

ConvNet::Plan& ConvNet::plan_for(int64_t b, int64_t h, int64_t w) {
  const auto key = std::make_tuple(b, h, w);
  auto found = plans_.find(key);
  if (found != plans_.end()) {
    found->second.first = ++clock_;
    return *found->second.second;
  }
  if (plans_.size() >= kMaxPlans) {
    auto oldest = plans_.begin();
    for (auto it = plans_.begin(); it != plans_.end(); ++it)
      if (it->second.first < oldest->second.first) oldest = it;
    plans_.erase(oldest);
  }

  auto& eng = engine().engine;
  const int n = static_cast<int>(steps_.size());
  auto plan = std::make_shared<Plan>();
  std::vector<int> last_use(n, -1);
  for (int i = 0; i < n; i++) {
    if (steps_[i].input >= 0) last_use[steps_[i].input] = i;
    if (steps_[i].residual >= 0) last_use[steps_[i].residual] = i;
  }
  last_use[n - 1] = n;  // the output lives to the end

  std::vector<Shape> shapes(n);
  std::vector<memory::desc> descs(n);
  std::vector<int> buffer_of(n, -1);
  BufferPool pool;
  const memory::desc user_in_desc({b, in_c_, h, w}, dt::f32, tag::nchw);
  auto shape_of = [&](int v) { return v < 0 ? Shape{in_c_, h, w} : shapes[v]; };
  auto desc_of = [&](int v) { return v < 0 ? user_in_desc : descs[v]; };
  auto buffer_val = [&](int v) { return v < 0 ? kUserInput : buffer_of[v]; };
  // A copy of value v in layout `want` (a reorder into a temporary buffer), or v itself.
  std::vector<int> temps;
  auto as_layout = [&](int v, const memory::desc& want) -> int {
    if (desc_of(v) == want) return buffer_val(v);
    const int t = pool.acquire(want.get_size());
    temps.push_back(t);
    plan->ops.push_back({dnnl::reorder(dnnl::reorder::primitive_desc(eng, desc_of(v), eng, want)),
                         {{DNNL_ARG_FROM, desc_of(v), buffer_val(v)}, {DNNL_ARG_TO, want, t}}, {}});
    return t;
  };

  for (int i = 0; i < n; i++) {
    ConvNetStep& s = steps_[i];
    const Shape x = shape_of(s.input);
    temps.clear();
    if (s.pool) {
      const PoolShape ps{b, x.c, x.h, x.w, s.kernel, s.stride, s.pad};
      shapes[i] = {x.c, ps.out_h(), ps.out_w()};
      const memory::desc any({b, x.c, ps.out_h(), ps.out_w()}, dt::f32, tag::any);
      auto pd = pool_primitive_desc(ps, desc_of(s.input), any);
      descs[i] = pd.dst_desc();
      buffer_of[i] = pool.acquire(descs[i].get_size());
      plan->ops.push_back({dnnl::pooling_forward(pd),
                           {{DNNL_ARG_SRC, desc_of(s.input), buffer_val(s.input)}, {DNNL_ARG_DST, descs[i], buffer_of[i]}}, {}});
      if (pd.workspace_desc().get_size() > 0) throw std::runtime_error("convNet: max pooling asked for a workspace");
    } else {
      const ConvShape cs{b, x.c, x.h, x.w, s.out_c, s.kernel, s.stride, s.pad, s.dilation};
      shapes[i] = {s.out_c, cs.out_h(), cs.out_w()};
      const memory::desc src_any({b, x.c, x.h, x.w}, dt::f32, tag::any);
      const memory::desc wts_any({s.out_c, s.in_c, s.kernel, s.kernel}, dt::f32, tag::any);
      const memory::desc dst_any({b, s.out_c, cs.out_h(), cs.out_w()}, dt::f32, tag::any);
      auto pd = conv_primitive_desc(cs, {static_cast<bool>(s.bias), s.residual != kNoResidual, s.relu}, src_any, wts_any, dst_any);
      if (pd.weights_desc() != s.weights.get_desc()) {  // reorder the weights once into the chosen layout
        memory chosen(pd.weights_desc(), eng);
        SignalGuard guard;
        dnnl::reorder(s.weights, chosen).execute(engine().stream, s.weights, chosen);
        engine().stream.wait();
        s.weights = chosen;
      }
      descs[i] = pd.dst_desc();
      const int src = as_layout(s.input, pd.src_desc());
      if (s.residual >= 0 && last_use[s.residual] == i && desc_of(s.residual) == descs[i]) {
        buffer_of[i] = buffer_of[s.residual];  // the residual's buffer becomes the output: summed in place
        buffer_of[s.residual] = -1;
      } else {
        buffer_of[i] = pool.acquire(descs[i].get_size());
        if (s.residual != kNoResidual)
          plan->ops.push_back({dnnl::reorder(dnnl::reorder::primitive_desc(eng, desc_of(s.residual), eng, descs[i])),
                               {{DNNL_ARG_FROM, desc_of(s.residual), buffer_val(s.residual)}, {DNNL_ARG_TO, descs[i], buffer_of[i]}}, {}});
      }
      Op op{dnnl::convolution_forward(pd), {{DNNL_ARG_SRC, pd.src_desc(), src}, {DNNL_ARG_DST, descs[i], buffer_of[i]}}, {{DNNL_ARG_WEIGHTS, s.weights}}};
      if (s.bias) op.fixed.insert({DNNL_ARG_BIAS, s.bias});
      plan->ops.push_back(std::move(op));
    }
    for (int t : temps) pool.release(t);
    for (int v = 0; v < i; v++)
      if (last_use[v] == i && buffer_of[v] >= 0) {
        pool.release(buffer_of[v]);
        buffer_of[v] = -1;
      }
  }
  const memory::desc user_out_desc({b, shapes[n - 1].c, shapes[n - 1].h, shapes[n - 1].w}, dt::f32, tag::nchw);
  plan->ops.push_back({dnnl::reorder(dnnl::reorder::primitive_desc(eng, descs[n - 1], eng, user_out_desc)),
                       {{DNNL_ARG_FROM, descs[n - 1], buffer_of[n - 1]}, {DNNL_ARG_TO, user_out_desc, kUserOutput}}, {}});

  for (size_t bytes : pool.bytes) {
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) throw std::bad_alloc();
    plan->buffers.emplace_back(static_cast<float*>(p));
  }
  for (size_t o = 0; o < plan->ops.size(); o++) {
    std::unordered_map<int, memory> args = plan->ops[o].fixed;
    for (const ActArg& a : plan->ops[o].acts) {
      void* handle = a.buffer >= 0 ? plan->buffers[a.buffer].get() : nullptr;
      args.insert({a.arg, memory(a.desc, eng, handle)});
      if (a.buffer == kUserInput) plan->user_in.push_back({o, a.arg});
      if (a.buffer == kUserOutput) plan->user_out.push_back({o, a.arg});
    }
    plan->args.push_back(std::move(args));
  }
  return *plans_.emplace(key, std::make_pair(++clock_, plan)).first->second.second;
}

void ConvNet::forward(const float* x, float* out, int64_t b, int64_t h, int64_t w) {
  if (b == 0) return;
  Plan& plan = plan_for(b, h, w);
  for (auto [o, arg] : plan.user_in) plan.args[o].at(arg).set_data_handle(const_cast<float*>(x));
  for (auto [o, arg] : plan.user_out) plan.args[o].at(arg).set_data_handle(out);
  Engine& e = engine();
  SignalGuard guard;  // oneDNN may run a convolution as an sgemm: see signal-guard.h
  for (size_t o = 0; o < plan.ops.size(); o++) plan.ops[o].prim.execute(e.stream, plan.args[o]);
  e.stream.wait();
}

}  // namespace vitlens
