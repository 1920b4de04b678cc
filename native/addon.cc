// N-API surface: flat functions over Float32Array views, mirrored one to one by the js backend.
// Every argument is checked before any work: integers as dim() does (non-negative, whole, at
// most 2^53 - 1), every buffer's length against the shape (element counts computed without
// overflow), so a wrong call throws, never reads or writes out of bounds. Nothing is checked or
// thrown inside an OpenMP parallel region (an exception there terminates the process). Every
// entry runs under guard(): a C++ exception (oneDNN's dnnl::error, std::bad_alloc) becomes a JS
// Error naming the function, never an abort. Zero-sized shapes return an empty result.
#include <napi.h>
#include <omp.h>

#include <cmath>
#include <initializer_list>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "conv-net.h"
#include "conv.h"
#include "dnnl-ops.h"
#include "few-rows-matmul.h"
#include "kernels.h"
#include "matmul.h"
#include "precision.h"
#include "serial-if-small.h"
#include "signal-guard.h"

namespace {

constexpr double kMaxDim = 9007199254740991.0;  // 2^53 - 1, JavaScript's Number.MAX_SAFE_INTEGER
constexpr int64_t kMaxThreads = 4096;

// JavaScript's `typeof` of a value, for messages.
const char* type_of(const Napi::Value& v) {
  switch (v.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "boolean";
    case napi_number: return "number";
    case napi_string: return "string";
    case napi_symbol: return "symbol";
    case napi_function: return "function";
    case napi_bigint: return "bigint";
    default: return "object";
  }
}

// A C++ exception from a call becomes a JS Error naming the function (oneDNN's dnnl::error for
// a shape it refuses, std::bad_alloc); Napi errors (the argument checks) pass unchanged.
template <typename F>
auto guard(Napi::Env env, const char* fn, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const dnnl::error& e) {
    throw Napi::Error::New(env, std::string(fn) + ": oneDNN: " + e.what());
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, std::string(fn) + ": out of memory");
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string(fn) + ": " + e.what());
  } catch (...) {
    throw Napi::Error::New(env, std::string(fn) + ": unknown C++ exception");
  }
}

using Entry = Napi::Value (*)(const Napi::CallbackInfo&);

// An exported function: `F` under guard(), its name (the function's data) in every message.
template <Entry F>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  return guard(info.Env(), static_cast<const char*>(info.Data()), [&] { return F(info); });
}

struct Args {
  const Napi::CallbackInfo& info;
  const char* name = nullptr;  // the function's name for messages; an exported function's data when null
  Napi::Env env() const { return info.Env(); }
  std::string fn() const { return name ? name : static_cast<const char*>(info.Data()); }
  std::string where(const char* name) const { return fn() + ": " + name + ": "; }

  [[noreturn]] void range_error(const std::string& message) const { throw Napi::RangeError::New(env(), fn() + ": " + message); }

  // A dimension: a whole number in [0, 2^53 - 1].
  int64_t dim(size_t i, const char* name) const {
    if (!info[i].IsNumber()) throw Napi::TypeError::New(env(), where(name) + "expected a number, got " + type_of(info[i]));
    const double v = info[i].As<Napi::Number>().DoubleValue();
    if (!(v >= 0 && v <= kMaxDim && v == std::floor(v)))
      throw Napi::RangeError::New(env(), where(name) + "expected a non-negative integer, got " + info[i].ToString().Utf8Value());
    return static_cast<int64_t>(v);
  }
  // A dimension of at least 1.
  int64_t positive(size_t i, const char* name) const {
    const int64_t v = dim(i, name);
    if (v < 1) throw Napi::RangeError::New(env(), where(name) + "expected a positive integer, got 0");
    return v;
  }
  // A thread count: 1 to kMaxThreads.
  int threads(size_t i, const char* name) const {
    const int64_t v = positive(i, name);
    if (v > kMaxThreads)
      throw Napi::RangeError::New(env(), where(name) + "expected at most " + std::to_string(kMaxThreads) + ", got " + std::to_string(v));
    return static_cast<int>(v);
  }
  // The element count of a shape, or an error when it exceeds 2^53 - 1 (no int64 overflow).
  int64_t count(std::initializer_list<int64_t> dims, const char* name) const {
    int64_t n = 1;
    for (int64_t d : dims)
      if (d == 0) return 0;
    for (int64_t d : dims)
      if (__builtin_mul_overflow(n, d, &n) || n > static_cast<int64_t>(kMaxDim))
        throw Napi::RangeError::New(env(), where(name) + "the shape needs more than 2^53 elements");
    return n;
  }
  bool flag(size_t i) const { return info[i].ToBoolean().Value(); }
  float number(size_t i, const char* name) const {
    if (!info[i].IsNumber()) throw Napi::TypeError::New(env(), where(name) + "expected a number, got " + type_of(info[i]));
    return info[i].As<Napi::Number>().FloatValue();
  }

  // A Float32Array holding at least `need` elements, or nullptr when optional and null/undefined.
  float* f32(size_t i, int64_t need, const char* name, bool optional = false) const {
    if (optional && (info[i].IsNull() || info[i].IsUndefined())) return nullptr;
    if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw Napi::TypeError::New(env(), where(name) + "expected a Float32Array");
    auto arr = info[i].As<Napi::Float32Array>();
    if (static_cast<int64_t>(arr.ElementLength()) < need)
      throw Napi::RangeError::New(env(), where(name) + "Float32Array of length " + std::to_string(arr.ElementLength()) +
                                             " is shorter than the " + std::to_string(need) + " elements the shape needs");
    return arr.Data();
  }
};

// The products' optional last argument: true for bf16 operands, refused where the CPU has no bf16 units.
bool bf16_operands(const Args& a, size_t i) {
  if (!a.flag(i)) return false;
  if (!vitlens::has_native_bf16())
    throw Napi::Error::New(a.env(), a.fn() + ": bf16 products need avx512_core_bf16 or AMX; this CPU dispatches " + vitlens::cpu_isa());
  return true;
}

Napi::Value Matmul(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t m = a.dim(3, "M"), n = a.dim(4, "N"), k = a.dim(5, "K");
  const float* pa = a.f32(0, a.count({m, k}, "A"), "A");
  const float* pb = a.f32(1, a.count({k, n}, "B"), "B");
  float* pc = a.f32(2, a.count({m, n}, "C"), "C");
  const float* bias = a.f32(8, n, "bias", true);
  const bool bf16 = bf16_operands(a, 10);
  const auto act = a.flag(12) ? vitlens::Activation::kRelu : a.flag(11) ? vitlens::Activation::kGelu : vitlens::Activation::kNone;
  vitlens::SerialIfSmall serial(2.0 * m * n * k, vitlens::kSerialFlops);
  vitlens::matmul(pa, pb, pc, m, n, k, a.flag(6), a.flag(7), bias, a.flag(9), bf16, act);
  return info.Env().Undefined();
}

Napi::Value BatchMatmul(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t batch = a.dim(3, "batch"), m = a.dim(4, "M"), n = a.dim(5, "N"), k = a.dim(6, "K");
  const float* pa = a.f32(0, a.count({batch, m, k}, "A"), "A");
  const float* pb = a.f32(1, a.count({batch, k, n}, "B"), "B");
  float* pc = a.f32(2, a.count({batch, m, n}, "C"), "C");
  const float alpha = a.number(9, "alpha");
  const bool bf16 = bf16_operands(a, 11);
  vitlens::SerialIfSmall serial(2.0 * batch * m * n * k, vitlens::kSerialFlops);
  vitlens::batch_matmul(pa, pb, pc, batch, m, n, k, a.flag(7), a.flag(8), alpha, a.flag(10), bf16);
  return info.Env().Undefined();
}

Napi::Value LayernormForward(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t rows = a.dim(6, "rows"), dim = a.dim(7, "dim");
  const int64_t total = a.count({rows, dim}, "x");
  const float* x = a.f32(0, total, "x");
  const float* weight = a.f32(1, dim, "weight");
  const float* bias = a.f32(2, dim, "bias");
  float* out = a.f32(3, total, "out");
  float* mean = a.f32(4, rows, "mean");
  float* rstd = a.f32(5, rows, "rstd");
  const float eps = a.number(8, "eps");
  vitlens::SerialIfSmall serial(static_cast<double>(total), vitlens::kSerialElements);
  vitlens::layernorm_forward(x, weight, bias, out, mean, rstd, rows, dim, eps);
  return info.Env().Undefined();
}

Napi::Value LayernormBackward(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t rows = a.dim(8, "rows"), dim = a.dim(9, "dim");
  const int64_t total = a.count({rows, dim}, "x");
  const float* dout = a.f32(0, total, "dout");
  const float* x = a.f32(1, total, "x");
  const float* mean = a.f32(2, rows, "mean");
  const float* rstd = a.f32(3, rows, "rstd");
  const float* weight = a.f32(4, dim, "weight");
  float* dx = a.f32(5, total, "dx");
  float* dweight = a.f32(6, dim, "dweight");
  float* dbias = a.f32(7, dim, "dbias");
  vitlens::SerialIfSmall serial(static_cast<double>(total), vitlens::kSerialElements);
  vitlens::layernorm_backward(dout, x, mean, rstd, weight, dx, dweight, dbias, rows, dim);
  return info.Env().Undefined();
}

// softmaxForward / logSoftmaxForward (x, out, rows, cols).
Napi::Value RowSoftmax(const Napi::CallbackInfo& info, bool log) {
  Args a{info};
  const int64_t rows = a.dim(2, "rows"), cols = a.dim(3, "cols");
  const int64_t total = a.count({rows, cols}, "x");
  const float* x = a.f32(0, total, "x");
  float* out = a.f32(1, total, "out");
  vitlens::SerialIfSmall serial(static_cast<double>(total), vitlens::kSerialElements);
  (log ? vitlens::dnnl_logsoftmax_forward : vitlens::dnnl_softmax_forward)(x, out, rows, cols);
  return info.Env().Undefined();
}
Napi::Value SoftmaxForward(const Napi::CallbackInfo& info) { return RowSoftmax(info, false); }
Napi::Value LogSoftmaxForward(const Napi::CallbackInfo& info) { return RowSoftmax(info, true); }

Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t rows = a.dim(3, "rows"), cols = a.dim(4, "cols");
  const int64_t total = a.count({rows, cols}, "dy");
  const float* dy = a.f32(0, total, "dy");
  const float* y = a.f32(1, total, "y");
  float* dx = a.f32(2, total, "dx");
  vitlens::SerialIfSmall serial(static_cast<double>(total), vitlens::kSerialElements);
  vitlens::softmax_backward(dy, y, dx, rows, cols);
  return info.Env().Undefined();
}

// geluForward / geluTanhForward (x, out, n).
Napi::Value Gelu(const Napi::CallbackInfo& info, bool tanh) {
  Args a{info};
  const int64_t n = a.dim(2, "n");
  const float* x = a.f32(0, n, "x");
  float* out = a.f32(1, n, "out");
  vitlens::SerialIfSmall serial(static_cast<double>(n), vitlens::kSerialElements);
  vitlens::dnnl_gelu_forward(x, out, n, tanh);
  return info.Env().Undefined();
}
Napi::Value GeluForward(const Napi::CallbackInfo& info) { return Gelu(info, false); }
Napi::Value GeluTanhForward(const Napi::CallbackInfo& info) { return Gelu(info, true); }

// geluBackward / geluTanhBackward (dy, x, dx, n).
Napi::Value GeluGrad(const Napi::CallbackInfo& info, bool tanh) {
  Args a{info};
  const int64_t n = a.dim(3, "n");
  const float* dy = a.f32(0, n, "dy");
  const float* x = a.f32(1, n, "x");
  float* dx = a.f32(2, n, "dx");
  vitlens::SerialIfSmall serial(static_cast<double>(n), vitlens::kSerialElements);
  vitlens::dnnl_gelu_backward(dy, x, dx, n, tanh);
  return info.Env().Undefined();
}
Napi::Value GeluBackward(const Napi::CallbackInfo& info) { return GeluGrad(info, false); }
Napi::Value GeluTanhBackward(const Napi::CallbackInfo& info) { return GeluGrad(info, true); }

Napi::Value Add(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t n = a.dim(3, "n");
  const float* x = a.f32(0, n, "a");
  const float* y = a.f32(1, n, "b");
  float* out = a.f32(2, n, "out");
  vitlens::SerialIfSmall serial(static_cast<double>(n), vitlens::kSerialElements);
  vitlens::add(x, y, out, n);
  return info.Env().Undefined();
}

Napi::Value Scale(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t n = a.dim(3, "n");
  const float* x = a.f32(0, n, "x");
  float* out = a.f32(2, n, "out");
  const float s = a.number(1, "s");
  vitlens::SerialIfSmall serial(static_cast<double>(n), vitlens::kSerialElements);
  vitlens::scale(x, s, out, n);
  return info.Env().Undefined();
}

Napi::Value SumRows(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t rows = a.dim(2, "rows"), cols = a.dim(3, "cols");
  const int64_t total = a.count({rows, cols}, "x");
  const float* x = a.f32(0, total, "x");
  float* out = a.f32(1, cols, "out");
  vitlens::SerialIfSmall serial(static_cast<double>(total), vitlens::kSerialElements);
  vitlens::sum_rows(x, out, rows, cols, a.flag(4));
  return info.Env().Undefined();
}

Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t n = a.dim(1, "n");
  const float* x = a.f32(0, n, "x");
  vitlens::SerialIfSmall serial(static_cast<double>(n), vitlens::kSerialElements);
  return Napi::Number::New(info.Env(), vitlens::sum_squares(x, n));
}

// splitHeads / mergeHeads (src, dst, B, N, S, H, hd).
Napi::Value HeadsPermute(const Napi::CallbackInfo& info, bool split) {
  Args a{info};
  const int64_t b = a.dim(2, "B"), n = a.dim(3, "N"), s = a.dim(4, "S"), h = a.dim(5, "H"), hd = a.dim(6, "hd");
  const int64_t total = a.count({b, n, s, h, hd}, "src");
  const float* src = a.f32(0, total, "src");
  float* dst = a.f32(1, total, "dst");
  vitlens::SerialIfSmall serial(static_cast<double>(total), vitlens::kSerialElements);
  (split ? vitlens::split_heads : vitlens::merge_heads)(src, dst, b, n, s, h, hd);
  return info.Env().Undefined();
}
Napi::Value SplitHeads(const Napi::CallbackInfo& info) { return HeadsPermute(info, true); }
Napi::Value MergeHeads(const Napi::CallbackInfo& info) { return HeadsPermute(info, false); }

Napi::Value Patchify(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t b = a.dim(2, "B"), c = a.dim(3, "C"), h = a.dim(4, "H"), w = a.dim(5, "W"), p = a.dim(6, "patch");
  if (p == 0 || h % p != 0 || w % p != 0) a.range_error("image size must be a multiple of the patch size");
  const int64_t total = a.count({b, c, h, w}, "image");
  const float* img = a.f32(0, total, "image");
  float* out = a.f32(1, total, "out");
  vitlens::SerialIfSmall serial(static_cast<double>(total), vitlens::kSerialElements);
  vitlens::patchify(img, out, b, c, h, w, p);
  return info.Env().Undefined();
}

Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t n = a.dim(3, "n");
  float* w = a.f32(0, n, "w");
  const float* g = a.f32(1, n, "g");
  float* buf = a.f32(2, n, "buf", true);
  const float lr = a.number(4, "lr"), momentum = a.number(5, "momentum"), dampening = a.number(6, "dampening");
  const float weight_decay = a.number(8, "weightDecay");
  vitlens::SerialIfSmall serial(static_cast<double>(n), vitlens::kSerialElements);
  vitlens::sgd_step(w, g, buf, n, lr, momentum, dampening, a.flag(7), weight_decay, a.flag(9));
  return info.Env().Undefined();
}

Napi::Value AdamwStep(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t n = a.dim(4, "n"), t = a.positive(10, "t");
  float* w = a.f32(0, n, "w");
  const float* g = a.f32(1, n, "g");
  float* m = a.f32(2, n, "m");
  float* v = a.f32(3, n, "v");
  const float lr = a.number(5, "lr"), beta1 = a.number(6, "beta1"), beta2 = a.number(7, "beta2"), eps = a.number(8, "eps");
  const float weight_decay = a.number(9, "weightDecay");
  vitlens::SerialIfSmall serial(static_cast<double>(n), vitlens::kSerialElements);
  vitlens::adamw_step(w, g, m, v, n, lr, beta1, beta2, eps, weight_decay, t);
  return info.Env().Undefined();
}

Napi::Value RoundBf16(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t n = a.dim(2, "n");
  const float* x = a.f32(0, n, "x");
  float* out = a.f32(1, n, "out");
  vitlens::round_bf16(x, out, n);
  return info.Env().Undefined();
}

Napi::Value CpuInfo(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o["isa"] = vitlens::cpu_isa();
  o["nativeBf16"] = vitlens::has_native_bf16();
  o["fewRows"] = vitlens::few_rows_isa();
  return o;
}

Napi::Value FmaPeak(const Napi::CallbackInfo& info) {
  Args a{info};
  return Napi::Number::New(info.Env(), vitlens::fma_peak_gflops(a.threads(0, "threads")));
}

// The window of a convolution or pooling (dilation * (kernel - 1) + 1) fits the padded input:
// PyTorch's output size (floored) is then at least 1. Checked before ConvShape::out_h, whose
// C++ division truncates toward zero and would give 1 for a slightly too small input.
bool window_fits(int64_t size, int64_t pad, int64_t kernel, int64_t dilation) {
  int64_t extent;
  if (__builtin_mul_overflow(dilation, kernel - 1, &extent)) return false;
  return extent < size + 2 * pad;  // size, pad <= 2^53: no overflow
}

Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  Args a{info};
  vitlens::ConvShape s{a.dim(3, "batch"), a.dim(4, "inChannels"), a.dim(5, "height"), a.dim(6, "width"), a.dim(7, "outChannels"),
                       a.dim(8, "kernel"), a.dim(9, "stride"), a.dim(10, "padding"), a.dim(11, "dilation")};
  if (s.kernel == 0 || s.stride == 0 || s.dilation == 0) a.range_error("kernel, stride and dilation must be positive");
  if (!window_fits(s.h, s.pad, s.kernel, s.dilation) || !window_fits(s.w, s.pad, s.kernel, s.dilation))
    a.range_error("the input is smaller than the kernel");
  const float* x = a.f32(0, a.count({s.batch, s.in_c, s.h, s.w}, "x"), "x");
  const float* w = a.f32(1, a.count({s.out_c, s.in_c, s.kernel, s.kernel}, "weight"), "weight");
  float* out = a.f32(2, a.count({s.batch, s.out_c, s.out_h(), s.out_w()}, "out"), "out");
  const float* bias = a.f32(12, s.out_c, "bias", true);
  vitlens::ConvEpilogue e{bias != nullptr, a.flag(13), a.flag(14)};
  vitlens::conv2d(x, w, bias, out, s, e);
  return info.Env().Undefined();
}

Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {
  Args a{info};
  vitlens::PoolShape s{a.dim(2, "batch"), a.dim(3, "channels"), a.dim(4, "height"), a.dim(5, "width"), a.dim(6, "kernel"),
                       a.dim(7, "stride"), a.dim(8, "padding")};
  if (s.kernel == 0 || s.stride == 0) a.range_error("kernel and stride must be positive");
  if (2 * s.pad > s.kernel) a.range_error("padding must be at most half the kernel");
  if (!window_fits(s.h, s.pad, s.kernel, 1) || !window_fits(s.w, s.pad, s.kernel, 1)) a.range_error("the input is smaller than the kernel");
  const float* x = a.f32(0, a.count({s.batch, s.channels, s.h, s.w}, "x"), "x");
  float* out = a.f32(1, a.count({s.batch, s.channels, s.out_h(), s.out_w()}, "out"), "out");
  vitlens::max_pool2d(x, out, s);
  return info.Env().Undefined();
}

// ConvNet(steps): a prepared network (see conv-net.h); steps are the ConvStep objects of backend.ts.
class ConvNetWrap : public Napi::ObjectWrap<ConvNetWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ConvNet", {InstanceMethod("forward", &ConvNetWrap::Forward)});
  }

  explicit ConvNetWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ConvNetWrap>(info) {
    guard(info.Env(), "convNet", [&] { Build(info); });
  }

 private:
  void Build(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsArray()) throw Napi::TypeError::New(env, "convNet: expected an array of steps");
    auto list = info[0].As<Napi::Array>();
    if (list.Length() == 0) throw Napi::RangeError::New(env, "convNet: no steps");
    std::vector<vitlens::ConvNetStep> steps;
    std::vector<const float*> weights, biases;
    for (uint32_t i = 0; i < list.Length(); i++) {
      const std::string where = "convNet step " + std::to_string(i) + ": ";
      if (!list.Get(i).IsObject()) throw Napi::TypeError::New(env, where + "expected an object");
      auto o = list.Get(i).As<Napi::Object>();
      // An integer field, as dim() checks it; `least` is -1 for step indices (the network input).
      auto integer = [&](const char* name, int64_t least = 0) -> int64_t {
        Napi::Value v = o.Get(name);
        if (!v.IsNumber()) throw Napi::TypeError::New(env, where + name + ": expected a number, got " + type_of(v));
        const double d = v.As<Napi::Number>().DoubleValue();
        if (!(d >= static_cast<double>(least) && d <= kMaxDim && d == std::floor(d)))
          throw Napi::RangeError::New(env, where + name + ": expected an integer of at least " + std::to_string(least) + ", got " +
                                               v.ToString().Utf8Value());
        return static_cast<int64_t>(d);
      };
      vitlens::ConvNetStep s{};
      s.pool = o.Get("kind").ToString().Utf8Value() == "maxpool";
      const int64_t input = integer("input", -1);
      const int64_t residual = o.Get("residual").IsUndefined() ? vitlens::kNoResidual : integer("residual", -1);
      if (input >= i || residual >= i) throw Napi::RangeError::New(env, where + "its input and residual must be earlier steps");
      s.input = static_cast<int>(input);
      s.residual = static_cast<int>(residual);
      s.kernel = integer("kernel", 1);
      s.stride = integer("stride", 1);
      s.pad = integer("padding");
      s.dilation = s.pool ? 1 : integer("dilation", 1);
      const float* w = nullptr;
      const float* b = nullptr;
      if (!s.pool) {
        s.in_c = integer("inChannels", 1);
        s.out_c = integer("outChannels", 1);
        s.relu = o.Get("relu").ToBoolean().Value();
        int64_t weight_size = 1;
        for (int64_t d : {s.out_c, s.in_c, s.kernel, s.kernel})
          if (__builtin_mul_overflow(weight_size, d, &weight_size)) throw Napi::RangeError::New(env, where + "the weight is too large");
        Napi::Value wv = o.Get("weight");
        if (!wv.IsTypedArray() || wv.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
            static_cast<int64_t>(wv.As<Napi::Float32Array>().ElementLength()) != weight_size)
          throw Napi::TypeError::New(env, where + "weight must be a Float32Array of outChannels * inChannels * kernel^2");
        w = wv.As<Napi::Float32Array>().Data();
        Napi::Value bv = o.Get("bias");
        if (!bv.IsNull() && !bv.IsUndefined()) {
          if (!bv.IsTypedArray() || bv.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
              static_cast<int64_t>(bv.As<Napi::Float32Array>().ElementLength()) != s.out_c)
            throw Napi::TypeError::New(env, where + "bias must be a Float32Array of outChannels");
          b = bv.As<Napi::Float32Array>().Data();
        }
      }
      steps.push_back(s);
      weights.push_back(w);
      biases.push_back(b);
    }
    net_ = std::make_unique<vitlens::ConvNet>(std::move(steps), weights, biases);
  }

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    return guard(info.Env(), "convNet.forward", [&] {
      Args a{info, "convNet.forward"};
      const int64_t b = a.dim(2, "batch"), h = a.dim(3, "height"), w = a.dim(4, "width");
      auto [c, oh, ow] = net_->output_shape(h, w);
      if (oh < 1 || ow < 1) throw Napi::RangeError::New(info.Env(), "convNet.forward: the input is too small for the network");
      const float* x = a.f32(0, a.count({b, net_->in_channels(), h, w}, "x"), "x");
      float* out = a.f32(1, a.count({b, c, oh, ow}, "out"), "out");
      net_->forward(x, out, b, h, w);
      return info.Env().Undefined();
    });
  }

  std::unique_ptr<vitlens::ConvNet> net_;
};

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t n = a.dim(0, "threads");
  if (n > kMaxThreads) a.range_error("threads: expected at most " + std::to_string(kMaxThreads) + ", got " + std::to_string(n));
  if (n > 0) {  // 0 keeps OpenMP's choice
    omp_set_num_threads(static_cast<int>(n));
    vitlens::block_signals_in_omp_workers();  // threads added to the pool
  }
  return info.Env().Undefined();
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), omp_get_max_threads());
}

template <Entry F>
void Export(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New<Guarded<F>>(env, name, const_cast<char*>(name)));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  vitlens::block_signals_in_omp_workers();  // oneDNN's sgemm runs on them too: see signal-guard.h
  Export<Matmul>(env, exports, "matmul");
  Export<BatchMatmul>(env, exports, "batchMatmul");
  Export<LayernormForward>(env, exports, "layernormForward");
  Export<LayernormBackward>(env, exports, "layernormBackward");
  Export<SoftmaxForward>(env, exports, "softmaxForward");
  Export<SoftmaxBackward>(env, exports, "softmaxBackward");
  Export<LogSoftmaxForward>(env, exports, "logSoftmaxForward");
  Export<GeluForward>(env, exports, "geluForward");
  Export<GeluBackward>(env, exports, "geluBackward");
  Export<GeluTanhForward>(env, exports, "geluTanhForward");
  Export<GeluTanhBackward>(env, exports, "geluTanhBackward");
  Export<Add>(env, exports, "add");
  Export<Scale>(env, exports, "scale");
  Export<SumRows>(env, exports, "sumRows");
  Export<SumSquares>(env, exports, "sumSquares");
  Export<SplitHeads>(env, exports, "splitHeads");
  Export<MergeHeads>(env, exports, "mergeHeads");
  Export<Patchify>(env, exports, "patchify");
  Export<SgdStep>(env, exports, "sgdStep");
  Export<AdamwStep>(env, exports, "adamwStep");
  Export<RoundBf16>(env, exports, "roundBf16");
  Export<CpuInfo>(env, exports, "cpuInfo");
  Export<FmaPeak>(env, exports, "fmaPeak");
  Export<Conv2d>(env, exports, "conv2d");
  Export<MaxPool2d>(env, exports, "maxPool2d");
  exports["ConvNet"] = ConvNetWrap::Define(env);
  Export<SetThreads>(env, exports, "setThreads");
  Export<GetThreads>(env, exports, "getThreads");
  return exports;
}

}  // namespace

NODE_API_MODULE(vitlens_native, Init)
