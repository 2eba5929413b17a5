// A pool allocator for ATen's large CPU buffers: best fit with splitting and coalescing, in
// address space of its own. Its statistics: allocatorStats().
//
// Why: a training step allocates and frees the same large buffers (activations, their
// gradients, parameter gradients) every step, while glibc's heap also holds every small
// allocation of the process (tensor headers, N-API handles, JavaScript's buffers). Small
// long-lived blocks between large free ones keep those from coalescing, and the heap grew to
// 1.6x the peak of live tensors (ResNet18 training: 466 MB of heap for a 283 MB peak). Here
// blocks of at least kMinPooled bytes come from regions that hold nothing else: a freed block
// merges with its free neighbours, a request takes the smallest free block that fits (the
// lowest such address among equals), and the untouched rest of a region costs no memory
// (pages are resident once touched). Memory is not returned to the system unless asked
// (releaseFreeMemory, `releaseLibtorchMemory()` in JavaScript): on this kind of
// machine a page fault costs more than the arithmetic of an elementwise kernel (see tuneMalloc
// in addon.cc). Measured: ResNet18 training, 291 MB touched for a 283 MB peak of pooled blocks;
// resident memory 583 MB against 705 MB with glibc's heap alone, at the same speed.
//
// Smaller blocks go to malloc. STCSNN_LIBTORCH_ALLOCATOR=malloc keeps ATen's default
// allocator; where address space cannot be reserved, requests fall back to malloc too.
#include "common.h"
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <sys/mman.h>
#include <unistd.h>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>

namespace stc {

namespace {

constexpr size_t kMinPooled = size_t{256} << 10;  // 256 KiB
constexpr size_t kAlign = size_t{4} << 10;        // block sizes and addresses: whole pages
constexpr size_t kRegion = size_t{64} << 30;      // address space reserved per region (64 GiB)

struct Block {
  char *base;  // the region's start
  char *ptr;
  size_t size;
  bool free;
  Block *prev;  // address neighbours in the same region
  Block *next;
};

struct Pool {
  std::mutex mu;
  std::set<std::pair<size_t, char *>> freeBySize;  // best fit: smallest size, then lowest address
  std::unordered_map<char *, Block *> byPtr;       // every block, free or not
  size_t inUse = 0, peakInUse = 0, touched = 0;
  bool failed = false;

  void markFree(Block *b) {
    b->free = true;
    freeBySize.emplace(b->size, b->ptr);
  }
  void unmarkFree(Block *b) {
    freeBySize.erase({b->size, b->ptr});
    b->free = false;
  }

  bool addRegion(size_t atLeast) {
    const size_t size = std::max(kRegion, atLeast);
    void *p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return false;
    auto *b = new Block{static_cast<char *>(p), static_cast<char *>(p), size, false, nullptr, nullptr};
    byPtr.emplace(b->ptr, b);
    markFree(b);
    return true;
  }

  void *allocate(size_t n) {
    const size_t size = (n + kAlign - 1) / kAlign * kAlign;
    auto it = freeBySize.lower_bound({size, nullptr});
    if (it == freeBySize.end()) {
      if (failed || !addRegion(size)) {
        failed = true;
        return nullptr;
      }
      it = freeBySize.lower_bound({size, nullptr});
    }
    Block *b = byPtr.at(it->second);
    unmarkFree(b);
    if (b->size > size) {  // split: the rest stays free
      auto *rest = new Block{b->base, b->ptr + size, b->size - size, false, b, b->next};
      if (b->next) b->next->prev = rest;
      b->next = rest;
      b->size = size;
      byPtr.emplace(rest->ptr, rest);
      markFree(rest);
    }
    inUse += size;
    peakInUse = std::max(peakInUse, inUse);
    touched = std::max(touched, static_cast<size_t>(b->ptr + size - b->base));
    return b->ptr;
  }

  // Merges left->next into left (neither is in freeBySize).
  void absorbNext(Block *left) {
    Block *right = left->next;
    left->size += right->size;
    left->next = right->next;
    if (right->next) right->next->prev = left;
    byPtr.erase(right->ptr);
    delete right;
  }

  // Returns false when p is not a pooled block (a block freed twice is left as it is).
  bool release(void *p) {
    auto it = byPtr.find(static_cast<char *>(p));
    if (it == byPtr.end()) return false;
    if (it->second->free) return true;
    Block *b = it->second;
    inUse -= b->size;
    if (b->next && b->next->free) {
      unmarkFree(b->next);
      absorbNext(b);
    }
    if (b->prev && b->prev->free) {
      b = b->prev;
      unmarkFree(b);
      absorbNext(b);
    }
    markFree(b);
    return true;
  }
};

Pool &pool() {
  static Pool *p = new Pool();  // never destroyed: tensors may be freed at process exit
  return *p;
}

void deletePooled(void *p) {
  if (p == nullptr) return;
  Pool &pl = pool();
  std::lock_guard<std::mutex> lock(pl.mu);
  if (!pl.release(p)) c10::free_cpu(p);
}

struct PoolCpuAllocator final : public at::Allocator {
  at::DataPtr allocate(size_t n) const override {
    const at::Device cpu(at::DeviceType::CPU);
    if (n >= kMinPooled) {
      Pool &pl = pool();
      std::lock_guard<std::mutex> lock(pl.mu);
      if (void *p = pl.allocate(n)) return {p, p, &deletePooled, cpu};
    }
    void *p = c10::alloc_cpu(n);
    return {p, p, &c10::free_cpu, cpu};
  }
  at::DeleterFnPtr raw_deleter() const override { return &deletePooled; }
};

PoolCpuAllocator g_allocator;
bool g_installed = false;

// allocatorStats() -> { installed, inUse, peakInUse, touched } in bytes (pooled blocks only;
// `touched`: the largest extent handed out in one region, an upper bound of its resident part)
Napi::Value AllocatorStats(const Napi::CallbackInfo &info) {
  Pool &pl = pool();
  std::lock_guard<std::mutex> lock(pl.mu);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("installed", g_installed);
  o.Set("inUse", static_cast<double>(pl.inUse));
  o.Set("peakInUse", static_cast<double>(pl.peakInUse));
  o.Set("touched", static_cast<double>(pl.touched));
  return o;
}

// releaseFreeMemory() -> bytes: gives the pages of every free pooled block back to the system
// (madvise MADV_DONTNEED; the address space stays the pool's, and a later block there is
// faulted in again). For a process that is done with its peak, e.g. after training.
Napi::Value ReleaseFreeMemory(const Napi::CallbackInfo &info) {
  Pool &pl = pool();
  std::lock_guard<std::mutex> lock(pl.mu);
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  double released = 0;
  for (const auto &entry : pl.freeBySize) {
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(entry.second) + page - 1) / page * page;
    const uintptr_t end = (reinterpret_cast<uintptr_t>(entry.second) + entry.first) / page * page;
    if (end > begin && madvise(reinterpret_cast<void *>(begin), end - begin, MADV_DONTNEED) == 0)
      released += static_cast<double>(end - begin);
  }
  return Napi::Number::New(info.Env(), released);
}

} // namespace

bool installAllocator() {
  const char *e = std::getenv("STCSNN_LIBTORCH_ALLOCATOR");
  if (e && std::string(e) == "malloc") return false;
  c10::SetCPUAllocator(&g_allocator, /*priority=*/100);
  g_installed = true;
  return true;
}

void registerAlloc(Napi::Env env, Napi::Object exports) {
  exports.Set("allocatorStats", Napi::Function::New(env, AllocatorStats));
  exports.Set("releaseFreeMemory", Napi::Function::New(env, ReleaseFreeMemory));
}

} // namespace stc
