// Shared declarations of the stcsnn-libtorch addon: the tensor store (JS holds integer ids,
// the addon holds at::Tensor), argument helpers and the result protocol.
//
// Result protocol: every op returns the number of outputs it made and writes, into the shared
// Int32Array `meta` (see addon.cc), for each output: [id, dtype, ndim, dims...].
// dtype codes: 0 float32, 1 int32, 2 bool (the TensorFlow.js dtypes the backend stores).
#pragma once
#include <napi.h>
#include <ATen/ATen.h>
#include <vector>
#include <string>

namespace stc {

extern at::Device g_device;
/// bf16 autocast of convolutions (setAutocast), on the CPU and on CUDA: a convolution's input and
/// filter are cast to bfloat16 for the convolution and for its two gradients (oneDNN or cuDNN
/// accumulate in float32 and round the result to bfloat16), results come back as float32.
/// Everything else stays float32: parameters (the master weights), their gradients, the SGD step
/// and momentum, batch norm and its statistics, the STC encoder (threshold recurrence, spikes,
/// decoding), matrix products (the classifier) and the loss.
extern bool g_bf16;

/// t in bfloat16 where the bf16 autocast applies to it (a float32 tensor), else t.
inline at::Tensor lowp(const at::Tensor &t) {
  return g_bf16 && t.scalar_type() == at::kFloat ? t.to(at::kBFloat16) : t;
}
/// t back in float32 after a bf16 convolution (keeping its strides).
inline at::Tensor highp(const at::Tensor &t) {
  return t.scalar_type() == at::kBFloat16 ? t.to(at::kFloat) : t;
}

int64_t put(at::Tensor t);
at::Tensor &get(int64_t id);
void drop(int64_t id);
size_t live();

/// Writes the outputs' ids and shapes into `meta`; returns their count as a JS number.
Napi::Value emit(Napi::Env env, std::vector<at::Tensor> outs);
Napi::Value emit1(Napi::Env env, at::Tensor out);

/// TensorFlow.js dtype code <-> ATen scalar type.
at::ScalarType scalarOf(int code);
int codeOf(at::ScalarType t);
/// Converts int64 -> int32 and float64 -> float32 (the dtypes TensorFlow.js knows).
at::Tensor normalize(at::Tensor t);

inline int64_t I(const Napi::CallbackInfo &info, size_t k) {
  return info[k].As<Napi::Number>().Int64Value();
}
inline double D(const Napi::CallbackInfo &info, size_t k) {
  return info[k].As<Napi::Number>().DoubleValue();
}
inline bool B(const Napi::CallbackInfo &info, size_t k) { return info[k].ToBoolean().Value(); }
inline at::Tensor &T(const Napi::CallbackInfo &info, size_t k) { return get(I(info, k)); }
std::vector<int64_t> V(const Napi::CallbackInfo &info, size_t k);
std::vector<double> VD(const Napi::CallbackInfo &info, size_t k);
/// An optional tensor argument: id < 0 means none.
c10::optional<at::Tensor> OT(const Napi::CallbackInfo &info, size_t k);

/// Converts C++/c10 exceptions into one-line JS errors.
template <typename F> Napi::Value guard(const Napi::CallbackInfo &info, const char *name, F f) {
  try {
    return f();
  } catch (const Napi::Error &) {
    throw;
  } catch (const c10::Error &e) {
    std::string m = e.what_without_backtrace();
    auto nl = m.find('\n');
    if (nl != std::string::npos) m = m.substr(0, nl);
    throw Napi::Error::New(info.Env(), std::string("libtorch ") + name + ": " + m);
  } catch (const std::exception &e) {
    throw Napi::Error::New(info.Env(), std::string("libtorch ") + name + ": " + e.what());
  }
}

/// The thresholds argument k of an STC kernel, refused (one line) when empty or not all positive.
std::vector<double> thresholdsOf(const Napi::CallbackInfo &info, size_t k);
/// StcQuantize of float32 `x` (any shape): q(x) = sum_t theta(t) s(t), the recurrence of stc.cc.
at::Tensor quantize(const at::Tensor &x, const std::vector<double> &thresholds, bool strict);
/// lowp(quantize(x)): in bfloat16 under the bf16 autocast (written directly, the same values), else float32.
at::Tensor quantizeLowp(const at::Tensor &x, const std::vector<double> &thresholds, bool strict);
/// StcQuantizeGrad: dy * 1[0 < x < upper] (upper = +inf: the ReLU gradient), contiguous, float32
/// (dy float32, or bfloat16 read as its exact float32 value).
at::Tensor maskGrad(const at::Tensor &dy, const at::Tensor &x, double upper);

void registerOps(Napi::Env env, Napi::Object exports);
void registerStc(Napi::Env env, Napi::Object exports);
void registerAlloc(Napi::Env env, Napi::Object exports);
// c10d process groups (dist.cc); `distInfo()` says whether they were compiled in.
void registerDist(Napi::Env env, Napi::Object exports);
// Installs the pool CPU allocator (alloc.cc) unless STCSNN_LIBTORCH_ALLOCATOR=malloc; true if it did.
bool installAllocator();

} // namespace stc
