// N-API entry points of the stcsnn-libtorch addon: the tensor store, data transfer, threads and
// device. Tensors live here between kernels; JS holds their integer ids and frees them on
// dispose (no garbage-collection finalizers).
#include "common.h"
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/cuda.h>
#include <torch/version.h>
#include <type_traits>
#include <cstring>
#include <cstdlib>
#include <malloc.h>

namespace stc {

at::Device g_device(at::kCPU);
bool g_bf16 = false;

static std::vector<at::Tensor> g_slots;
static std::vector<int64_t> g_free;
static size_t g_live = 0;
static int32_t *g_meta = nullptr;
static size_t g_meta_len = 0;
static Napi::Reference<Napi::Int32Array> *g_meta_ref = nullptr;

int64_t put(at::Tensor t) {
  ++g_live;
  if (!g_free.empty()) {
    int64_t id = g_free.back();
    g_free.pop_back();
    g_slots[id] = std::move(t);
    return id;
  }
  g_slots.push_back(std::move(t));
  return static_cast<int64_t>(g_slots.size() - 1);
}

at::Tensor &get(int64_t id) {
  if (id < 0 || id >= static_cast<int64_t>(g_slots.size()) || !g_slots[id].defined()) {
    throw std::runtime_error("tensor id " + std::to_string(id) + " is not live (used after dispose?)");
  }
  return g_slots[id];
}

void drop(int64_t id) {
  if (id < 0 || id >= static_cast<int64_t>(g_slots.size()) || !g_slots[id].defined()) return;
  g_slots[id] = at::Tensor();
  g_free.push_back(id);
  --g_live;
}

size_t live() { return g_live; }

at::ScalarType scalarOf(int code) {
  switch (code) {
  case 0: return at::kFloat;
  case 1: return at::kInt;
  case 2: return at::kBool;
  default: throw std::runtime_error("unsupported dtype code " + std::to_string(code));
  }
}

int codeOf(at::ScalarType t) {
  switch (t) {
  case at::kFloat: return 0;
  case at::kInt: return 1;
  case at::kBool: return 2;
  default: throw std::runtime_error(std::string("unsupported result dtype ") + c10::toString(t));
  }
}

at::Tensor normalize(at::Tensor t) {
  switch (t.scalar_type()) {
  case at::kFloat:
  case at::kInt:
  case at::kBool: return t;
  case at::kLong:
  case at::kShort:
  case at::kByte:
  case at::kChar: return t.to(at::kInt);
  default: return t.to(at::kFloat);
  }
}

Napi::Value emit(Napi::Env env, std::vector<at::Tensor> outs) {
  size_t k = 0;
  for (auto &o : outs) {
    at::Tensor t = normalize(std::move(o));
    const auto dims = t.sizes();
    if (k + 3 + dims.size() > g_meta_len) throw std::runtime_error("result metadata overflow");
    int dtype = codeOf(t.scalar_type());
    g_meta[k + 1] = dtype;
    g_meta[k + 2] = static_cast<int32_t>(dims.size());
    for (size_t i = 0; i < dims.size(); ++i) g_meta[k + 3 + i] = static_cast<int32_t>(dims[i]);
    g_meta[k] = static_cast<int32_t>(put(std::move(t)));
    k += 3 + dims.size();
  }
  return Napi::Number::New(env, static_cast<double>(outs.size()));
}

Napi::Value emit1(Napi::Env env, at::Tensor out) {
  std::vector<at::Tensor> v;
  v.push_back(std::move(out));
  return emit(env, std::move(v));
}

std::vector<int64_t> V(const Napi::CallbackInfo &info, size_t k) {
  auto a = info[k].As<Napi::Array>();
  std::vector<int64_t> v(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) v[i] = a.Get(i).As<Napi::Number>().Int64Value();
  return v;
}

std::vector<double> VD(const Napi::CallbackInfo &info, size_t k) {
  auto a = info[k].As<Napi::Array>();
  std::vector<double> v(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) v[i] = a.Get(i).As<Napi::Number>().DoubleValue();
  return v;
}

c10::optional<at::Tensor> OT(const Napi::CallbackInfo &info, size_t k) {
  if (info.Length() <= k || !info[k].IsNumber()) return c10::nullopt;
  int64_t id = I(info, k);
  if (id < 0) return c10::nullopt;
  return get(id);
}

// write(values: TypedArray | null, shape: number[], dtype: 0|1|2) -> id
static Napi::Value Write(const Napi::CallbackInfo &info) {
  return guard(info, "write", [&]() -> Napi::Value {
    auto shape = V(info, 1);
    auto st = scalarOf(static_cast<int>(I(info, 2)));
    const bool onHost = g_device.is_cpu();
    if (!info[0].IsTypedArray() && !onHost) {
      return Napi::Number::New(info.Env(),
                               static_cast<double>(put(at::zeros(shape, at::TensorOptions().dtype(st).device(g_device)))));
    }
    // For a GPU: staged in pinned (page-locked) host memory from CUDA's caching host allocator
    // (not the pool of alloc.cc) and copied without blocking; the allocator keeps the staging
    // buffer until the copy is done.
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(st).pinned_memory(!onHost));
    const size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
    if (info[0].IsTypedArray()) {
      auto ta = info[0].As<Napi::TypedArray>();
      if (ta.ByteLength() != bytes) {
        throw std::runtime_error("write: " + std::to_string(ta.ByteLength()) + " bytes for a tensor of " +
                                 std::to_string(bytes) + " bytes");
      }
      auto buf = ta.ArrayBuffer();
      std::memcpy(t.data_ptr(), static_cast<uint8_t *>(buf.Data()) + ta.ByteOffset(), bytes);
    } else {
      t.zero_();
    }
    if (!onHost) t = t.to(g_device, /*non_blocking=*/true);
    return Napi::Number::New(info.Env(), static_cast<double>(put(std::move(t))));
  });
}

// read(id) -> Float32Array | Int32Array | Uint8Array (a copy)
static Napi::Value Read(const Napi::CallbackInfo &info) {
  return guard(info, "read", [&]() -> Napi::Value {
    at::Tensor t = normalize(get(I(info, 0))).to(at::kCPU).contiguous();
    const size_t n = static_cast<size_t>(t.numel());
    Napi::Env env = info.Env();
    switch (t.scalar_type()) {
    case at::kFloat: {
      auto a = Napi::Float32Array::New(env, n);
      if (n) std::memcpy(a.Data(), t.data_ptr(), n * 4);
      return a;
    }
    case at::kInt: {
      auto a = Napi::Int32Array::New(env, n);
      if (n) std::memcpy(a.Data(), t.data_ptr(), n * 4);
      return a;
    }
    default: {
      auto a = Napi::Uint8Array::New(env, n);
      if (n) std::memcpy(a.Data(), t.data_ptr(), n);
      return a;
    }
    }
  });
}

static Napi::Value Free(const Napi::CallbackInfo &info) {
  drop(I(info, 0));
  return info.Env().Undefined();
}

static Napi::Value Live(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), static_cast<double>(g_live));
}

// heapStats() -> { heap, inUse, free, mapped } in bytes: glibc's main heap (all arenas), the
// part of it in use, the part free inside it, and what is mmapped (large blocks).
static Napi::Value HeapStats(const Napi::CallbackInfo &info) {
  struct mallinfo2 m = mallinfo2();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("heap", static_cast<double>(m.arena));
  o.Set("inUse", static_cast<double>(m.uordblks));
  o.Set("free", static_cast<double>(m.fordblks));
  o.Set("mapped", static_cast<double>(m.hblkhd));
  return o;
}

// setMeta(Int32Array): the shared result buffer.
static Napi::Value SetMeta(const Napi::CallbackInfo &info) {
  auto a = info[0].As<Napi::Int32Array>();
  if (g_meta_ref) {
    g_meta_ref->Reset();
    delete g_meta_ref;
  }
  g_meta_ref = new Napi::Reference<Napi::Int32Array>(Napi::Persistent(a));
  g_meta = a.Data();
  g_meta_len = a.ElementLength();
  return info.Env().Undefined();
}

static Napi::Value SetThreads(const Napi::CallbackInfo &info) {
  return guard(info, "setThreads", [&]() -> Napi::Value {
    int64_t n = I(info, 0);
    if (n < 1) throw std::runtime_error("threads must be >= 1");
    at::set_num_threads(static_cast<int>(n));
    return Napi::Number::New(info.Env(), at::get_num_threads());
  });
}

static Napi::Value GetThreads(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

static Napi::Value HasCuda(const Napi::CallbackInfo &info) {
  return Napi::Boolean::New(info.Env(), at::hasCUDA());
}

// CUDA hooks that not every torch version has (detected at compile time, so the addon builds
// against any of them): CUDA runtime version, and the build configuration.
template <class H> auto cudartVersion(const H &h, int) -> decltype(static_cast<long>(h.versionCUDART())) {
  return static_cast<long>(h.versionCUDART());
}
template <class H> long cudartVersion(const H &, long) { return -1; }
template <class H> auto cudnnVersion(const H &h, int) -> decltype(static_cast<long>(h.versionCuDNN())) {
  return static_cast<long>(h.versionCuDNN());
}
template <class H> long cudnnVersion(const H &, long) { return -1; }

/// The number of visible GPUs (0 without a CUDA build of torch linked in).
static int64_t gpuCount() {
  if (!STCSNN_HAS_CUDA) return 0;
  return static_cast<int64_t>(torch::cuda::device_count());
}

/// Why CUDA cannot be used here, or "" when it can.
static std::string cudaProblem() {
  if (!STCSNN_HAS_CUDA) {
    return std::string("this stcsnn-libtorch was built against a libtorch without CUDA (torch ") + TORCH_VERSION +
           "; Debian libtorch-dev is CPU-only): install a CUDA torch (pip install torch) or set LIBTORCH to a "
           "CUDA libtorch, rebuild with `npm run build -w stcsnn-libtorch`, or use device cpu";
  }
  if (gpuCount() == 0) {
    return "this libtorch has CUDA but no GPU is visible (check nvidia-smi, the driver and CUDA_VISIBLE_DEVICES), "
           "or use device cpu";
  }
  return "";
}

// setDevice("cpu" | "cuda" | "cuda:N")
static Napi::Value SetDevice(const Napi::CallbackInfo &info) {
  return guard(info, "setDevice", [&]() -> Napi::Value {
    std::string d = info[0].As<Napi::String>().Utf8Value();
    at::Device dev(d);
    if (dev.is_cuda()) {
      const std::string why = cudaProblem();
      if (!why.empty()) throw std::runtime_error(why);
      if (dev.has_index() && dev.index() >= gpuCount()) {
        throw std::runtime_error("device " + d + ": only " + std::to_string(gpuCount()) + " GPU(s) visible");
      }
    }
    g_device = dev;
    return info.Env().Undefined();
  });
}

// setAutocast(bf16: boolean): convolutions and their gradients in bfloat16 (see common.h).
static Napi::Value SetAutocast(const Napi::CallbackInfo &info) {
  g_bf16 = B(info, 0);
  return info.Env().Undefined();
}

// synchronize(): waits for the GPU's queued work (for timing); nothing on the CPU.
static Napi::Value Synchronize(const Napi::CallbackInfo &info) {
  return guard(info, "synchronize", [&]() -> Napi::Value {
    if (g_device.is_cuda()) torch::cuda::synchronize();
    return info.Env().Undefined();
  });
}

// cudaInfo() -> { built, available, problem, devices, cudnn, cudnnVersion, cudaRuntime, bf16 }
static Napi::Value CudaInfo(const Napi::CallbackInfo &info) {
  return guard(info, "cudaInfo", [&]() -> Napi::Value {
    auto o = Napi::Object::New(info.Env());
    const auto &hooks = at::detail::getCUDAHooks();
    const bool linked = STCSNN_HAS_CUDA && gpuCount() > 0;
    const bool cudnn = linked && torch::cuda::cudnn_is_available();
    o.Set("built", static_cast<bool>(STCSNN_HAS_CUDA));
    o.Set("devices", static_cast<double>(gpuCount()));
    const std::string why = cudaProblem();
    o.Set("available", why.empty());
    o.Set("problem", why);
    o.Set("cudnn", cudnn);
    o.Set("cudnnVersion", cudnn ? static_cast<double>(cudnnVersion(hooks, 0)) : -1.0);
    o.Set("cudaRuntime", linked ? static_cast<double>(cudartVersion(hooks, 0)) : -1.0);
    o.Set("bf16", g_bf16);
    return o;
  });
}

static Napi::Value Version(const Napi::CallbackInfo &info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("torch", TORCH_VERSION);
  o.Set("mkldnn", at::hasMKLDNN());
  o.Set("cuda", at::hasCUDA());
  o.Set("parallel", at::get_parallel_info());
  o.Set("cxx11Abi", static_cast<bool>(_GLIBCXX_USE_CXX11_ABI));
  return o;
}

} // namespace stc

// Large tensors come and go every kernel, and on this kind of machine a page fault costs more
// than the arithmetic of an elementwise kernel, so memory once touched is kept:
// - ATen's blocks of 256 KiB and more come from the pool of alloc.cc, which never returns
//   memory. The heap then holds small blocks only, and blocks of 1 MiB and more that are not
//   ATen's (JavaScript's large buffers, e.g. initial weights drawn in JS, read-backs) are
//   mmapped, so that their memory goes back to the system when freed (VGG16 training: 20 MB
//   less resident at the same speed).
// - Without the pool (STCSNN_LIBTORCH_ALLOCATOR=malloc), the mmap and trim thresholds are raised
//   to 1 GiB so that the heap keeps freed tensors for reuse.
// One arena either way: libtorch's worker threads allocate too (scratch buffers), and with
// glibc's per-thread arenas a buffer freed in one arena cannot serve a request in another, so
// resident memory grew step after step (VGG16 training: 788 MB vs 633 MB with one arena, same
// speed). STCSNN_LIBTORCH_MALLOC=default keeps glibc's behaviour.
static void tuneMalloc(bool pooled) {
  const char *e = std::getenv("STCSNN_LIBTORCH_MALLOC");
  if (e && std::string(e) == "default") return;
  mallopt(M_MMAP_THRESHOLD, pooled ? 1 << 20 : 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_ARENA_MAX, 1);
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace stc;
  tuneMalloc(installAllocator());
  exports.Set("write", Napi::Function::New(env, Write));
  exports.Set("read", Napi::Function::New(env, Read));
  exports.Set("free", Napi::Function::New(env, Free));
  exports.Set("live", Napi::Function::New(env, Live));
  exports.Set("heapStats", Napi::Function::New(env, HeapStats));
  exports.Set("setMeta", Napi::Function::New(env, SetMeta));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads));
  exports.Set("hasCuda", Napi::Function::New(env, HasCuda));
  exports.Set("setDevice", Napi::Function::New(env, SetDevice));
  exports.Set("setAutocast", Napi::Function::New(env, SetAutocast));
  exports.Set("cudaInfo", Napi::Function::New(env, CudaInfo));
  exports.Set("synchronize", Napi::Function::New(env, Synchronize));
  exports.Set("version", Napi::Function::New(env, Version));
  registerOps(env, exports);
  registerStc(env, exports);
  registerAlloc(env, exports);
  registerDist(env, exports);
  return exports;
}

NODE_API_MODULE(stcsnn_libtorch, Init)
