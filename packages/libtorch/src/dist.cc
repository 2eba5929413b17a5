// Data-parallel collectives over libtorch's c10d: a TCPStore rendezvous (as torchrun's
// MASTER_ADDR/MASTER_PORT) and a process group, ProcessGroupGloo on CPU and ProcessGroupNCCL
// where the libtorch build has it. JS holds integer handles to process groups; every blocking
// call (rendezvous, all-reduce, barrier, store exchange) runs on libuv's thread pool and
// returns a Promise, so the JS thread keeps running (e.g. the next bucket's concatenation)
// while Gloo's threads move the bytes.
//
// Compiled with STCSNN_HAS_GLOO=1 only where gloo's headers are found (Debian: libgloo-dev;
// libtorch_cpu itself links libgloo): ProcessGroupGloo.hpp includes <gloo/...>. Without them
// the addon exports `distInfo()` saying why, and nothing else of this file.
#include "common.h"

#if STCSNN_HAS_GLOO
#define USE_C10D_GLOO 1
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if STCSNN_HAS_NCCL
#define USE_C10D_NCCL 1
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <chrono>
#include <cstdlib>
#include <memory>
#endif

namespace stc {

#if STCSNN_HAS_GLOO

namespace {

struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  int rank = 0;
  int size = 1;
  std::string backend;
  std::chrono::milliseconds timeout{0};
};

std::vector<std::unique_ptr<Group>> g_groups;

Group &groupOf(int64_t h) {
  if (h < 0 || h >= static_cast<int64_t>(g_groups.size()) || !g_groups[h]) {
    throw std::runtime_error("process group " + std::to_string(h) + " is not open (destroyed?)");
  }
  return *g_groups[h];
}

// The first line of a c10/gloo error, without c10's backtrace.
std::string oneLine(const std::exception &e) {
  const c10::Error *ce = dynamic_cast<const c10::Error *>(&e);
  std::string m = ce ? ce->what_without_backtrace() : e.what();
  auto nl = m.find('\n');
  if (nl != std::string::npos) m = m.substr(0, nl);
  return m;
}

// A blocking job on the thread pool that settles a promise: Run() does the work off the JS
// thread, Done() builds the resolution value on it.
class Job : public Napi::AsyncWorker {
public:
  Job(Napi::Env env, std::string what)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), what_(std::move(what)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

protected:
  virtual void Run() = 0;
  virtual Napi::Value Done(Napi::Env env) { return env.Undefined(); }

private:
  void Execute() override {
    try {
      Run();
    } catch (const std::exception &e) {
      SetError(what_ + ": " + oneLine(e));
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(Done(env));
    } catch (const std::exception &e) {
      deferred_.Reject(Napi::Error::New(env, what_ + ": " + oneLine(e)).Value());
    }
  }
  void OnError(const Napi::Error &e) override { deferred_.Reject(e.Value()); }

  Napi::Promise::Deferred deferred_;
  std::string what_;
};

// Rendezvous: rank 0 serves the TCPStore at addr:port (and waits for the others), every rank
// connects to it; then the process group connects every pair of ranks through the store.
class InitJob : public Job {
public:
  InitJob(Napi::Env env, std::string backend, std::string addr, int port, int rank, int size,
          int64_t timeoutMs, std::string iface)
      : Job(env, "init process group"), backend_(std::move(backend)), addr_(std::move(addr)), port_(port),
        rank_(rank), size_(size), timeout_(timeoutMs), iface_(std::move(iface)) {}

protected:
  void Run() override {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(port_);
    so.isServer = rank_ == 0;
    so.numWorkers = static_cast<std::size_t>(size_);
    so.waitWorkers = true;
    so.timeout = timeout_;
    c10::intrusive_ptr<c10d::Store> tcp = c10::make_intrusive<c10d::TCPStore>(addr_, so);
    // One prefix per group, as torch.distributed does, so that keys of a later group (or of the
    // exchange below) never meet the process group's own rendezvous keys.
    auto store = c10::make_intrusive<c10d::PrefixStore>("stcsnn/", tcp);
    auto g = std::make_unique<Group>();
    g->store = store;
    g->rank = rank_;
    g->size = size_;
    g->backend = backend_;
    g->timeout = timeout_;
    if (backend_ == "gloo") {
      auto opts = c10d::ProcessGroupGloo::Options::create(timeout_);
      if (!iface_.empty()) {
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(iface_));
      } else if (addr_ == "127.0.0.1" || addr_ == "localhost" || addr_ == "::1") {
        // all ranks on this machine: loopback, whatever this host's name resolves to
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(addr_));
      } else {
        opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      opts->threads = 2;
      g->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(
          c10::make_intrusive<c10d::PrefixStore>("gloo/", store), rank_, size_, opts);
    } else if (backend_ == "nccl") {
#if STCSNN_HAS_NCCL
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = timeout_;
      g->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(
          c10::make_intrusive<c10d::PrefixStore>("nccl/", store), rank_, size_, opts);
#else
      throw std::runtime_error("this libtorch has no NCCL (a CUDA build of libtorch has it); use backend gloo");
#endif
    } else {
      throw std::runtime_error("unknown backend " + backend_ + " (gloo or nccl)");
    }
    group_ = std::move(g);
  }
  Napi::Value Done(Napi::Env env) override {
    g_groups.push_back(std::move(group_));
    return Napi::Number::New(env, static_cast<double>(g_groups.size() - 1));
  }

private:
  std::string backend_, addr_;
  int port_, rank_, size_;
  std::chrono::milliseconds timeout_;
  std::string iface_;
  std::unique_ptr<Group> group_;
};

// Waits for collectives (in issue order); `scale` (if not 1) multiplies the result in place (Gloo has no
// AVG: the average is the sum times 1/size).
class WaitJob : public Job {
public:
  WaitJob(Napi::Env env, std::string what, std::vector<c10::intrusive_ptr<c10d::Work>> works,
          std::vector<at::Tensor> keep, double scale)
      : Job(env, std::move(what)), works_(std::move(works)), keep_(std::move(keep)), scale_(scale) {}

protected:
  void Run() override {
    for (auto &w : works_) w->wait();
    if (scale_ != 1.0) {
      for (auto &t : keep_) t.mul_(scale_);
    }
  }

private:
  std::vector<c10::intrusive_ptr<c10d::Work>> works_;
  std::vector<at::Tensor> keep_;
  double scale_;
};

// Every rank publishes `value` under key/<rank> and reads everyone's (the store waits, up to
// the group's timeout, for keys not yet set).
class ExchangeJob : public Job {
public:
  ExchangeJob(Napi::Env env, Group &g, std::string key, std::string value)
      : Job(env, "exchange " + key), store_(g.store), rank_(g.rank), size_(g.size), key_(std::move(key)),
        value_(std::move(value)) {}

protected:
  void Run() override {
    store_->set(key_ + "/" + std::to_string(rank_), std::vector<uint8_t>(value_.begin(), value_.end()));
    for (int r = 0; r < size_; ++r) {
      auto v = store_->get(key_ + "/" + std::to_string(r));
      out_.emplace_back(v.begin(), v.end());
    }
  }
  Napi::Value Done(Napi::Env env) override {
    auto a = Napi::Array::New(env, out_.size());
    for (uint32_t i = 0; i < out_.size(); ++i) a.Set(i, Napi::String::New(env, out_[i]));
    return a;
  }

private:
  c10::intrusive_ptr<c10d::Store> store_;
  int rank_, size_;
  std::string key_, value_;
  std::vector<std::string> out_;
};

// distInit(backend, addr, port, rank, size, timeoutMs, iface) -> Promise<handle>
Napi::Value DistInit(const Napi::CallbackInfo &info) {
  return guard(info, "distInit", [&]() -> Napi::Value {
    const std::string backend = info[0].As<Napi::String>().Utf8Value();
    const std::string addr = info[1].As<Napi::String>().Utf8Value();
    const int64_t port = I(info, 2), rank = I(info, 3), size = I(info, 4), timeout = I(info, 5);
    const std::string iface = info[6].As<Napi::String>().Utf8Value();
    if (size < 1) throw std::runtime_error("world size must be >= 1");
    if (rank < 0 || rank >= size) {
      throw std::runtime_error("rank " + std::to_string(rank) + " is not in [0, " + std::to_string(size) + ")");
    }
    if (port < 1 || port > 65535) throw std::runtime_error("port must be in 1..65535");
    auto *job = new InitJob(info.Env(), backend, addr, static_cast<int>(port), static_cast<int>(rank),
                            static_cast<int>(size), timeout, iface);
    auto p = job->promise();
    job->Queue();
    return p;
  });
}

// distAllReduce(handle, tensorIds, avg) -> Promise<void>: sums (or averages) each float32
// tensor over the ranks, in place. The tensors must be contiguous, on the group's device, and
// held by nobody else until the promise settles (the caller passes fresh buckets).
Napi::Value DistAllReduce(const Napi::CallbackInfo &info) {
  return guard(info, "distAllReduce", [&]() -> Napi::Value {
    Group &g = groupOf(I(info, 0));
    auto ids = V(info, 1);
    const bool avg = B(info, 2);
    std::vector<at::Tensor> ts;
    for (auto id : ids) {
      at::Tensor &t = get(id);
      if (t.scalar_type() != at::kFloat) throw std::runtime_error("all-reduce takes float32 tensors");
      if (!t.is_contiguous()) throw std::runtime_error("all-reduce takes contiguous tensors");
      ts.push_back(t);
    }
    // One collective per tensor: Gloo's allreduce over a list means one tensor per device.
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    for (auto &t : ts) {
      std::vector<at::Tensor> one{t};
      works.push_back(g.pg->allreduce(one, o));
    }
    auto *job = new WaitJob(info.Env(), "all-reduce", std::move(works), std::move(ts), avg ? 1.0 / g.size : 1.0);
    auto p = job->promise();
    job->Queue();
    return p;
  });
}

// distAllReduceSync(handle, tensorIds, avg) -> undefined: as distAllReduce, but waits on the
// calling (JS) thread. For the few small tensors a synchronous TensorFlow.js kernel must reduce
// in the middle of a forward or backward pass (synchronised batch norm: per-channel sums); the
// JS thread is blocked until every rank has contributed, or the group's timeout.
Napi::Value DistAllReduceSync(const Napi::CallbackInfo &info) {
  return guard(info, "distAllReduceSync", [&]() -> Napi::Value {
    Group &g = groupOf(I(info, 0));
    auto ids = V(info, 1);
    const bool avg = B(info, 2);
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    std::vector<at::Tensor> ts;
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (auto id : ids) {
      at::Tensor &t = get(id);
      if (t.scalar_type() != at::kFloat) throw std::runtime_error("all-reduce takes float32 tensors");
      if (!t.is_contiguous()) throw std::runtime_error("all-reduce takes contiguous tensors");
      ts.push_back(t);
      std::vector<at::Tensor> one{t};
      works.push_back(g.pg->allreduce(one, o));
    }
    try {
      for (auto &w : works) w->wait();
    } catch (const std::exception &e) {
      throw std::runtime_error("all-reduce: " + oneLine(e));
    }
    if (avg) {
      for (auto &t : ts) t.mul_(1.0 / g.size);
    }
    return info.Env().Undefined();
  });
}

// distBarrier(handle) -> Promise<void>
Napi::Value DistBarrier(const Napi::CallbackInfo &info) {
  return guard(info, "distBarrier", [&]() -> Napi::Value {
    Group &g = groupOf(I(info, 0));
    auto *job = new WaitJob(info.Env(), "barrier", {g.pg->barrier()}, {}, 1.0);
    auto p = job->promise();
    job->Queue();
    return p;
  });
}

// distExchange(handle, key, value) -> Promise<string[]>: every rank's value, by rank.
Napi::Value DistExchange(const Napi::CallbackInfo &info) {
  return guard(info, "distExchange", [&]() -> Napi::Value {
    Group &g = groupOf(I(info, 0));
    auto *job = new ExchangeJob(info.Env(), g, info[1].As<Napi::String>().Utf8Value(),
                                info[2].As<Napi::String>().Utf8Value());
    auto p = job->promise();
    job->Queue();
    return p;
  });
}

// distDestroy(handle): drops the group and its store connection.
Napi::Value DistDestroy(const Napi::CallbackInfo &info) {
  const int64_t h = I(info, 0);
  if (h >= 0 && h < static_cast<int64_t>(g_groups.size())) g_groups[h].reset();
  return info.Env().Undefined();
}

} // namespace

#endif

static Napi::Value DistInfo(const Napi::CallbackInfo &info) {
  auto o = Napi::Object::New(info.Env());
#if STCSNN_HAS_GLOO
  o.Set("available", true);
  auto b = Napi::Array::New(info.Env());
  b.Set(0u, "gloo");
#if STCSNN_HAS_NCCL
  b.Set(1u, "nccl");
#endif
  o.Set("backends", b);
#else
  o.Set("available", false);
  o.Set("reason", "the addon was built without gloo's headers (Debian: apt-get install libgloo-dev, then "
                  "npm run build -w stcsnn-libtorch)");
  o.Set("backends", Napi::Array::New(info.Env()));
#endif
  return o;
}

void registerDist(Napi::Env env, Napi::Object exports) {
  exports.Set("distInfo", Napi::Function::New(env, DistInfo));
#if STCSNN_HAS_GLOO
  exports.Set("distInit", Napi::Function::New(env, DistInit));
  exports.Set("distAllReduce", Napi::Function::New(env, DistAllReduce));
  exports.Set("distAllReduceSync", Napi::Function::New(env, DistAllReduceSync));
  exports.Set("distBarrier", Napi::Function::New(env, DistBarrier));
  exports.Set("distExchange", Napi::Function::New(env, DistExchange));
  exports.Set("distDestroy", Napi::Function::New(env, DistDestroy));
#endif
}

} // namespace stc
