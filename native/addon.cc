// N-API surface: flat functions over Float32Array views, mirrored one to one by the js backend.
// Every buffer length is checked against the shape arguments so a wrong call throws, never
// reads or writes out of bounds.
#include <napi.h>
#include <omp.h>

#include <memory>
#include <string>
#include <vector>

#include "conv-net.h"
#include "conv.h"
#include "dnnl-ops.h"
#include "kernels.h"
#include "matmul.h"
#include "precision.h"
#include "serial-if-small.h"
#include "signal-guard.h"

namespace {

struct Args {
  const Napi::CallbackInfo& info;
  Napi::Env env() const { return info.Env(); }

  int64_t dim(size_t i, const char* name) const {
    if (!info[i].IsNumber()) throw Napi::TypeError::New(env(), std::string(name) + ": expected a number");
    const double v = info[i].As<Napi::Number>().DoubleValue();
    if (v < 0 || v != static_cast<int64_t>(v)) throw Napi::RangeError::New(env(), std::string(name) + ": expected a non-negative integer");
    return static_cast<int64_t>(v);
  }
  bool flag(size_t i) const { return info[i].ToBoolean().Value(); }
  float number(size_t i) const { return info[i].As<Napi::Number>().FloatValue(); }

  // A Float32Array holding at least `need` elements, or nullptr when optional and null/undefined.
  float* f32(size_t i, int64_t need, const char* name, bool optional = false) const {
    if (optional && (info[i].IsNull() || info[i].IsUndefined())) return nullptr;
    if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw Napi::TypeError::New(env(), std::string(name) + ": expected a Float32Array");
    auto arr = info[i].As<Napi::Float32Array>();
    if (static_cast<int64_t>(arr.ElementLength()) < need)
      throw Napi::RangeError::New(env(), std::string(name) + ": Float32Array of length " +
                                             std::to_string(arr.ElementLength()) + " is shorter than the " +
                                             std::to_string(need) + " elements the shape needs");
    return arr.Data();
  }
};

// The products' optional last argument: true for bf16 operands, refused where the CPU has no bf16 units.
bool bf16_operands(const Args& a, size_t i) {
  if (!a.flag(i)) return false;
  if (!vitlens::has_native_bf16())
    throw Napi::Error::New(a.env(), "bf16 products need avx512_core_bf16 or AMX; this CPU dispatches " + vitlens::cpu_isa());
  return true;
}

Napi::Value Matmul(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t m = a.dim(3, "M"), n = a.dim(4, "N"), k = a.dim(5, "K");
  vitlens::SerialIfSmall serial(2.0 * m * n * k, vitlens::kSerialFlops);
  vitlens::matmul(a.f32(0, m * k, "A"), a.f32(1, k * n, "B"), a.f32(2, m * n, "C"), m, n, k, a.flag(6),
                  a.flag(7), a.f32(8, n, "bias", true), a.flag(9), bf16_operands(a, 10),
                  a.flag(12) ? vitlens::Activation::kRelu : a.flag(11) ? vitlens::Activation::kGelu : vitlens::Activation::kNone);
  return info.Env().Undefined();
}

Napi::Value BatchMatmul(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t batch = a.dim(3, "batch"), m = a.dim(4, "M"), n = a.dim(5, "N"), k = a.dim(6, "K");
  vitlens::SerialIfSmall serial(2.0 * batch * m * n * k, vitlens::kSerialFlops);
  vitlens::batch_matmul(a.f32(0, batch * m * k, "A"), a.f32(1, batch * k * n, "B"), a.f32(2, batch * m * n, "C"),
                        batch, m, n, k, a.flag(7), a.flag(8), a.number(9), a.flag(10), bf16_operands(a, 11));
  return info.Env().Undefined();
}

Napi::Value LayernormForward(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t rows = a.dim(6, "rows"), dim = a.dim(7, "dim");
  vitlens::SerialIfSmall serial(static_cast<double>(rows * dim), vitlens::kSerialElements);
  vitlens::layernorm_forward(a.f32(0, rows * dim, "x"), a.f32(1, dim, "weight"), a.f32(2, dim, "bias"),
                             a.f32(3, rows * dim, "out"), a.f32(4, rows, "mean"), a.f32(5, rows, "rstd"), rows,
                             dim, a.number(8));
  return info.Env().Undefined();
}

Napi::Value LayernormBackward(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t rows = a.dim(8, "rows"), dim = a.dim(9, "dim");
  vitlens::SerialIfSmall serial(static_cast<double>(rows * dim), vitlens::kSerialElements);
  vitlens::layernorm_backward(a.f32(0, rows * dim, "dout"), a.f32(1, rows * dim, "x"), a.f32(2, rows, "mean"),
                              a.f32(3, rows, "rstd"), a.f32(4, dim, "weight"), a.f32(5, rows * dim, "dx"),
                              a.f32(6, dim, "dweight"), a.f32(7, dim, "dbias"), rows, dim);
  return info.Env().Undefined();
}

Napi::Value SoftmaxForward(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t rows = a.dim(2, "rows"), cols = a.dim(3, "cols");
  vitlens::SerialIfSmall serial(static_cast<double>(rows * cols), vitlens::kSerialElements);
  vitlens::dnnl_softmax_forward(a.f32(0, rows * cols, "x"), a.f32(1, rows * cols, "out"), rows, cols);
  return info.Env().Undefined();
}

Napi::Value LogSoftmaxForward(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t rows = a.dim(2, "rows"), cols = a.dim(3, "cols");
  vitlens::SerialIfSmall serial(static_cast<double>(rows * cols), vitlens::kSerialElements);
  vitlens::dnnl_logsoftmax_forward(a.f32(0, rows * cols, "x"), a.f32(1, rows * cols, "out"), rows, cols);
  return info.Env().Undefined();
}

Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t rows = a.dim(3, "rows"), cols = a.dim(4, "cols");
  vitlens::SerialIfSmall serial(static_cast<double>(rows * cols), vitlens::kSerialElements);
  vitlens::softmax_backward(a.f32(0, rows * cols, "dy"), a.f32(1, rows * cols, "y"), a.f32(2, rows * cols, "dx"),
                            rows, cols);
  return info.Env().Undefined();
}

Napi::Value GeluForward(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t n = a.dim(2, "n");
  vitlens::SerialIfSmall serial(static_cast<double>(n), vitlens::kSerialElements);
  vitlens::dnnl_gelu_forward(a.f32(0, n, "x"), a.f32(1, n, "out"), n);
  return info.Env().Undefined();
}

Napi::Value GeluTanhForward(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t n = a.dim(2, "n");
  vitlens::SerialIfSmall serial(static_cast<double>(n), vitlens::kSerialElements);
  vitlens::dnnl_gelu_forward(a.f32(0, n, "x"), a.f32(1, n, "out"), n, true);
  return info.Env().Undefined();
}

Napi::Value GeluTanhBackward(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t n = a.dim(3, "n");
  vitlens::SerialIfSmall serial(static_cast<double>(n), vitlens::kSerialElements);
  vitlens::dnnl_gelu_backward(a.f32(0, n, "dy"), a.f32(1, n, "x"), a.f32(2, n, "dx"), n, true);
  return info.Env().Undefined();
}

Napi::Value GeluBackward(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t n = a.dim(3, "n");
  vitlens::SerialIfSmall serial(static_cast<double>(n), vitlens::kSerialElements);
  vitlens::dnnl_gelu_backward(a.f32(0, n, "dy"), a.f32(1, n, "x"), a.f32(2, n, "dx"), n);
  return info.Env().Undefined();
}

Napi::Value Add(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t n = a.dim(3, "n");
  vitlens::SerialIfSmall serial(static_cast<double>(n), vitlens::kSerialElements);
  vitlens::add(a.f32(0, n, "a"), a.f32(1, n, "b"), a.f32(2, n, "out"), n);
  return info.Env().Undefined();
}

Napi::Value Scale(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t n = a.dim(3, "n");
  vitlens::SerialIfSmall serial(static_cast<double>(n), vitlens::kSerialElements);
  vitlens::scale(a.f32(0, n, "x"), a.number(1), a.f32(2, n, "out"), n);
  return info.Env().Undefined();
}

Napi::Value SumRows(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t rows = a.dim(2, "rows"), cols = a.dim(3, "cols");
  vitlens::SerialIfSmall serial(static_cast<double>(rows * cols), vitlens::kSerialElements);
  vitlens::sum_rows(a.f32(0, rows * cols, "x"), a.f32(1, cols, "out"), rows, cols, a.flag(4));
  return info.Env().Undefined();
}

Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t n = a.dim(1, "n");
  vitlens::SerialIfSmall serial(static_cast<double>(n), vitlens::kSerialElements);
  return Napi::Number::New(info.Env(), vitlens::sum_squares(a.f32(0, n, "x"), n));
}

Napi::Value HeadsPermute(const Napi::CallbackInfo& info, bool split) {
  Args a{info};
  const int64_t b = a.dim(2, "B"), n = a.dim(3, "N"), s = a.dim(4, "S"), h = a.dim(5, "H"), hd = a.dim(6, "hd");
  const int64_t total = b * n * s * h * hd;
  vitlens::SerialIfSmall serial(static_cast<double>(total), vitlens::kSerialElements);
  (split ? vitlens::split_heads : vitlens::merge_heads)(a.f32(0, total, "src"), a.f32(1, total, "dst"), b, n, s, h, hd);
  return info.Env().Undefined();
}
Napi::Value SplitHeads(const Napi::CallbackInfo& info) { return HeadsPermute(info, true); }
Napi::Value MergeHeads(const Napi::CallbackInfo& info) { return HeadsPermute(info, false); }

Napi::Value Patchify(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t b = a.dim(2, "B"), c = a.dim(3, "C"), h = a.dim(4, "H"), w = a.dim(5, "W"), p = a.dim(6, "patch");
  if (p == 0 || h % p != 0 || w % p != 0)
    throw Napi::RangeError::New(info.Env(), "patchify: image size must be a multiple of the patch size");
  vitlens::SerialIfSmall serial(static_cast<double>(b * c * h * w), vitlens::kSerialElements);
  vitlens::patchify(a.f32(0, b * c * h * w, "image"), a.f32(1, b * c * h * w, "out"), b, c, h, w, p);
  return info.Env().Undefined();
}

Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t n = a.dim(3, "n");
  vitlens::SerialIfSmall serial(static_cast<double>(n), vitlens::kSerialElements);
  vitlens::sgd_step(a.f32(0, n, "w"), a.f32(1, n, "g"), a.f32(2, n, "buf", true), n, a.number(4), a.number(5), a.number(6),
                    a.flag(7), a.number(8), a.flag(9));
  return info.Env().Undefined();
}

Napi::Value AdamwStep(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t n = a.dim(4, "n");
  vitlens::SerialIfSmall serial(static_cast<double>(n), vitlens::kSerialElements);
  vitlens::adamw_step(a.f32(0, n, "w"), a.f32(1, n, "g"), a.f32(2, n, "m"), a.f32(3, n, "v"), n, a.number(5), a.number(6),
                      a.number(7), a.number(8), a.number(9), a.dim(10, "step"));
  return info.Env().Undefined();
}

Napi::Value RoundBf16(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t n = a.dim(2, "n");
  vitlens::round_bf16(a.f32(0, n, "x"), a.f32(1, n, "out"), n);
  return info.Env().Undefined();
}

Napi::Value CpuInfo(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o["isa"] = vitlens::cpu_isa();
  o["nativeBf16"] = vitlens::has_native_bf16();
  return o;
}

Napi::Value FmaPeak(const Napi::CallbackInfo& info) {
  Args a{info};
  return Napi::Number::New(info.Env(), vitlens::fma_peak_gflops(static_cast<int>(a.dim(0, "threads"))));
}

// oneDNN reports failures (an unsupported shape) as exceptions: surfaced as JS errors, never a crash.
template <typename F>
auto guarded(Napi::Env env, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const dnnl::error& e) {
    throw Napi::Error::New(env, std::string("oneDNN: ") + e.what());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  Args a{info};
  vitlens::ConvShape s{a.dim(3, "batch"), a.dim(4, "inChannels"), a.dim(5, "height"), a.dim(6, "width"), a.dim(7, "outChannels"),
                       a.dim(8, "kernel"), a.dim(9, "stride"), a.dim(10, "padding"), a.dim(11, "dilation")};
  if (s.kernel == 0 || s.stride == 0 || s.dilation == 0) throw Napi::RangeError::New(info.Env(), "conv2d: kernel, stride and dilation must be positive");
  if (s.out_h() < 1 || s.out_w() < 1) throw Napi::RangeError::New(info.Env(), "conv2d: the input is smaller than the kernel");
  const float* bias = a.f32(12, s.out_c, "bias", true);
  vitlens::ConvEpilogue e{bias != nullptr, a.flag(13), a.flag(14)};
  const float* x = a.f32(0, s.batch * s.in_c * s.h * s.w, "x");
  const float* w = a.f32(1, s.out_c * s.in_c * s.kernel * s.kernel, "weight");
  float* out = a.f32(2, s.batch * s.out_c * s.out_h() * s.out_w(), "out");
  guarded(info.Env(), [&] { vitlens::conv2d(x, w, bias, out, s, e); });
  return info.Env().Undefined();
}

Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {
  Args a{info};
  vitlens::PoolShape s{a.dim(2, "batch"), a.dim(3, "channels"), a.dim(4, "height"), a.dim(5, "width"), a.dim(6, "kernel"),
                       a.dim(7, "stride"), a.dim(8, "padding")};
  if (s.kernel == 0 || s.stride == 0) throw Napi::RangeError::New(info.Env(), "maxPool2d: kernel and stride must be positive");
  if (s.out_h() < 1 || s.out_w() < 1 || 2 * s.pad > s.kernel) throw Napi::RangeError::New(info.Env(), "maxPool2d: bad size or padding");
  const float* x = a.f32(0, s.batch * s.channels * s.h * s.w, "x");
  float* out = a.f32(1, s.batch * s.channels * s.out_h() * s.out_w(), "out");
  guarded(info.Env(), [&] { vitlens::max_pool2d(x, out, s); });
  return info.Env().Undefined();
}

// ConvNet(steps): a prepared network (see conv-net.h); steps are the ConvStep objects of backend.ts.
class ConvNetWrap : public Napi::ObjectWrap<ConvNetWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ConvNet", {InstanceMethod("forward", &ConvNetWrap::Forward)});
  }

  explicit ConvNetWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ConvNetWrap>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsArray()) throw Napi::TypeError::New(env, "ConvNet: expected an array of steps");
    auto list = info[0].As<Napi::Array>();
    std::vector<vitlens::ConvNetStep> steps;
    std::vector<const float*> weights, biases;
    for (uint32_t i = 0; i < list.Length(); i++) {
      auto o = list.Get(i).As<Napi::Object>();
      const std::string where = "ConvNet step " + std::to_string(i) + ": ";
      auto integer = [&](const char* name, bool optional = false, int64_t fallback = 0) -> int64_t {
        Napi::Value v = o.Get(name);
        if (optional && v.IsUndefined()) return fallback;
        if (!v.IsNumber()) throw Napi::TypeError::New(env, where + name + " must be a number");
        return v.As<Napi::Number>().Int64Value();
      };
      vitlens::ConvNetStep s{};
      s.pool = o.Get("kind").ToString().Utf8Value() == "maxpool";
      s.input = static_cast<int>(integer("input"));
      s.residual = static_cast<int>(integer("residual", true, vitlens::kNoResidual));
      s.kernel = integer("kernel");
      s.stride = integer("stride");
      s.pad = integer("padding");
      s.dilation = s.pool ? 1 : integer("dilation");
      if (s.kernel < 1 || s.stride < 1 || s.dilation < 1 || s.pad < 0) throw Napi::RangeError::New(env, where + "bad kernel, stride, padding or dilation");
      const float* w = nullptr;
      const float* b = nullptr;
      if (!s.pool) {
        s.in_c = integer("inChannels");
        s.out_c = integer("outChannels");
        s.relu = o.Get("relu").ToBoolean().Value();
        Napi::Value wv = o.Get("weight");
        if (!wv.IsTypedArray() || wv.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
            static_cast<int64_t>(wv.As<Napi::Float32Array>().ElementLength()) != s.out_c * s.in_c * s.kernel * s.kernel)
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
    net_ = guarded(env, [&] { return std::make_unique<vitlens::ConvNet>(std::move(steps), weights, biases); });
  }

 private:
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    Args a{info};
    const int64_t b = a.dim(2, "batch"), h = a.dim(3, "height"), w = a.dim(4, "width");
    auto [c, oh, ow] = net_->output_shape(h, w);
    if (oh < 1 || ow < 1) throw Napi::RangeError::New(info.Env(), "ConvNet: the input is too small for the network");
    const float* x = a.f32(0, b * net_->in_channels() * h * w, "x");
    float* out = a.f32(1, b * c * oh * ow, "out");
    guarded(info.Env(), [&] { net_->forward(x, out, b, h, w); });
    return info.Env().Undefined();
  }

  std::unique_ptr<vitlens::ConvNet> net_;
};

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Args a{info};
  const int64_t n = a.dim(0, "threads");
  if (n > 0) {
    omp_set_num_threads(static_cast<int>(n));
    vitlens::block_signals_in_omp_workers();  // threads added to the pool
  }
  return info.Env().Undefined();
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), omp_get_max_threads());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  vitlens::block_signals_in_omp_workers();  // oneDNN's sgemm runs on them too: see signal-guard.h
  exports["matmul"] = Napi::Function::New(env, Matmul);
  exports["batchMatmul"] = Napi::Function::New(env, BatchMatmul);
  exports["layernormForward"] = Napi::Function::New(env, LayernormForward);
  exports["layernormBackward"] = Napi::Function::New(env, LayernormBackward);
  exports["softmaxForward"] = Napi::Function::New(env, SoftmaxForward);
  exports["softmaxBackward"] = Napi::Function::New(env, SoftmaxBackward);
  exports["logSoftmaxForward"] = Napi::Function::New(env, LogSoftmaxForward);
  exports["geluForward"] = Napi::Function::New(env, GeluForward);
  exports["geluBackward"] = Napi::Function::New(env, GeluBackward);
  exports["geluTanhForward"] = Napi::Function::New(env, GeluTanhForward);
  exports["geluTanhBackward"] = Napi::Function::New(env, GeluTanhBackward);
  exports["add"] = Napi::Function::New(env, Add);
  exports["scale"] = Napi::Function::New(env, Scale);
  exports["sumRows"] = Napi::Function::New(env, SumRows);
  exports["sumSquares"] = Napi::Function::New(env, SumSquares);
  exports["splitHeads"] = Napi::Function::New(env, SplitHeads);
  exports["mergeHeads"] = Napi::Function::New(env, MergeHeads);
  exports["patchify"] = Napi::Function::New(env, Patchify);
  exports["sgdStep"] = Napi::Function::New(env, SgdStep);
  exports["adamwStep"] = Napi::Function::New(env, AdamwStep);
  exports["roundBf16"] = Napi::Function::New(env, RoundBf16);
  exports["cpuInfo"] = Napi::Function::New(env, CpuInfo);
  exports["fmaPeak"] = Napi::Function::New(env, FmaPeak);
  exports["conv2d"] = Napi::Function::New(env, Conv2d);
  exports["maxPool2d"] = Napi::Function::New(env, MaxPool2d);
  exports["ConvNet"] = ConvNetWrap::Define(env);
  exports["setThreads"] = Napi::Function::New(env, SetThreads);
  exports["getThreads"] = Napi::Function::New(env, GetThreads);
  return exports;
}

}  // namespace

NODE_API_MODULE(vitlens_native, Init)
