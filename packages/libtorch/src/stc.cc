// The named kernels of the stcsnn core, fused: one pass over memory each.
//
// Per element (docs/semantics.md §1), with thresholds theta(0..T-1) and the firing test V >= theta
// (V > theta when strict):
//
//   V(0) = x;  s(t) = 1[V(t) >= theta(t)];  V(t+1) = V(t) - s(t) theta(t)
//   StcQuantize:     q(x) = sum_t theta(t) s(t)           (shape of x)
//   StcEncode:       s                                     ([T, ...x.shape], 0/1)
//   StcSpikeCount:   sum_t s(t)                            (shape of x)
//   StcQuantizeGrad: dy * 1[0 < x < upper] (upper = +inf: the paper's ReLU gradient)
//
// Learned thresholds (theta0 of shape [] or [C], C the last axis of x; thresholds those of
// theta0 = 1), float32 at each step as the JavaScript reference (stc-kernels.ts):
//   StcQuantizeScaled:     u = x / theta0;  q = theta0 q_1(u)
//   StcQuantizeScaledGrad: m = 1[0 < u < upper];  dx = dy m;  dtheta0 = sum dy (q_1(u) - u m)
//                          (each term in float32, summed in float64 over fixed chunks of rows, in
//                          order: the same result for any thread count);  q (for the weight gradient)
//
// The recurrence runs in float64, as the JavaScript reference does, so that both agree bit for
// bit (a float32 recurrence would move some membranes across a threshold). Elements are
// processed in blocks so that the inner loop over a block vectorises (with -fno-trapping-math,
// which lets the compiler turn the comparisons into masks); thresholds are positive,
// so x <= 0 (and NaN) never fires.
//
// Batch norm, channel axis last, M elements per channel (see src/lib/core/kernels/batch-norm.ts of stcsnn):
//   StcBatchNormTrain:     [y, mean, invstd], biased variance
//   StcBatchNormTrainGrad: [dx, dgamma, dbeta]
//   StcBatchNormRunning:   [runningMean', runningVar', numBatchesTracked'] (see bnRunning below)
//   StcSgdStep:            [p', b'], SGD with momentum in one pass (see sgdStep below)
//   StcSquaredNorm:        sum(x * x), a scalar
// run ATen's native batch norm on the `[M, C]` view, whose channels-last CPU kernels make one
// pass for the statistics and one for the output.
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include "common.h"
#include <ATen/Parallel.h>

namespace stc {

std::vector<double> thresholdsOf(const Napi::CallbackInfo &info, size_t k) {
  auto th = VD(info, k);
  if (th.empty()) throw std::runtime_error("thresholds must not be empty");
  for (double h : th)
    if (!(h > 0)) throw std::runtime_error("thresholds must be positive");
  return th;
}

namespace {

constexpr int64_t kBlock = 256;
constexpr int64_t kGrain = 32768;

enum class Mode { Quantize, Count, Encode };

// One block of the recurrence: `m` elements from `x`, thresholds `th[0..T-1]`.
template <Mode M, bool Strict>
__attribute__((target_clones("avx512f", "avx2", "default"))) void recurrenceBlock(const float *__restrict x,
                                                                         float *__restrict out, int64_t n,
                                                                         int64_t b0, int64_t m,
                                                                         const double *__restrict th, int T) {
  alignas(64) double v[kBlock];
  alignas(64) double acc[kBlock];
  for (int64_t i = 0; i < m; ++i) {
    v[i] = static_cast<double>(x[b0 + i]);
    acc[i] = 0.0;
  }
  for (int t = 0; t < T; ++t) {
    const double h = th[t];
    if (M == Mode::Encode) {
      float *__restrict row = out + static_cast<int64_t>(t) * n + b0;
      for (int64_t i = 0; i < m; ++i) {
        const bool fire = Strict ? v[i] > h : v[i] >= h;
        v[i] -= fire ? h : 0.0;
        row[i] = fire ? 1.0f : 0.0f;
      }
    } else {
      const double w = M == Mode::Quantize ? h : 1.0;
      for (int64_t i = 0; i < m; ++i) {
        const bool fire = Strict ? v[i] > h : v[i] >= h;
        v[i] -= fire ? h : 0.0;
        acc[i] += fire ? w : 0.0;
      }
    }
  }
  if (M != Mode::Encode) {
    for (int64_t i = 0; i < m; ++i) out[b0 + i] = static_cast<float>(acc[i]);
  }
}

// StcQuantize written in bfloat16: each value as recurrenceBlock rounds it to float32, then to
// the nearest bfloat16 (ties to even, as ATen's float32 -> bfloat16 conversion; q is finite), so
// that the result is exactly lowp(StcQuantize(x)) without the float32 tensor in between.
template <bool Strict>
__attribute__((target_clones("avx512f", "avx2", "default"))) void quantizeBf16Block(const float *__restrict x,
                                                                           uint16_t *__restrict out,
                                                                           int64_t b0, int64_t m,
                                                                           const double *__restrict th, int T) {
  alignas(64) float q[kBlock];
  recurrenceBlock<Mode::Quantize, Strict>(x + b0, q, m, 0, m, th, T);
  for (int64_t i = 0; i < m; ++i) {
    uint32_t u;
    std::memcpy(&u, &q[i], sizeof u);
    out[b0 + i] = static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
  }
}

template <Mode M, bool Strict>
void recurrenceT(const float *x, float *out, int64_t n, const std::vector<double> &thv) {
  const int T = static_cast<int>(thv.size());
  const double *th = thv.data();
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t b0 = begin; b0 < end; b0 += kBlock) {
      recurrenceBlock<M, Strict>(x, out, n, b0, std::min(kBlock, end - b0), th, T);
    }
  });
}

template <bool Strict>
void recurrence(Mode mode, const float *x, float *out, int64_t n, const std::vector<double> &th) {
  switch (mode) {
  case Mode::Quantize: return recurrenceT<Mode::Quantize, Strict>(x, out, n, th);
  case Mode::Count: return recurrenceT<Mode::Count, Strict>(x, out, n, th);
  case Mode::Encode: return recurrenceT<Mode::Encode, Strict>(x, out, n, th);
  }
}

// The same recurrence with ATen ops on the tensor's device (CUDA): no host round trip and no
// synchronisation; four in-place kernels per time step (compare, select, two updates) on float64
// buffers, so that the result agrees with the CPU recurrence bit for bit.
at::Tensor recurrenceOps(Mode mode, const at::Tensor &x, const std::vector<double> &th, bool strict) {
  at::Tensor v = x.to(at::kDouble);
  at::Tensor zero = at::zeros({}, v.options());
  at::Tensor acc = mode == Mode::Encode ? at::Tensor() : at::zeros_like(v);
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.insert(shape.begin(), static_cast<int64_t>(th.size()));
  at::Tensor frames = mode == Mode::Encode ? at::empty(shape, x.options()) : at::Tensor();
  for (size_t t = 0; t < th.size(); ++t) {
    const double h = th[t];
    at::Tensor fire = strict ? at::gt(v, h) : at::ge(v, h);
    at::Tensor f = at::where(fire, at::scalar_tensor(h, v.options()), zero);
    v.sub_(f);
    if (mode == Mode::Encode) frames.select(0, static_cast<int64_t>(t)).copy_(fire);
    else if (mode == Mode::Quantize) acc.add_(f);
    else acc.add_(fire);
  }
  return mode == Mode::Encode ? frames : acc.to(at::kFloat);
}

at::Tensor runRecurrence(Mode mode, const at::Tensor &xIn, const std::vector<double> &th, bool strict) {
  if (xIn.scalar_type() != at::kFloat) throw std::runtime_error("x must be float32");
  if (!xIn.device().is_cpu()) return recurrenceOps(mode, xIn, th, strict);
  at::Tensor x = xIn.contiguous();
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  if (mode == Mode::Encode) shape.insert(shape.begin(), static_cast<int64_t>(th.size()));
  at::Tensor out = at::empty(shape, x.options());
  if (strict) recurrence<true>(mode, x.data_ptr<float>(), out.data_ptr<float>(), x.numel(), th);
  else recurrence<false>(mode, x.data_ptr<float>(), out.data_ptr<float>(), x.numel(), th);
  return out;
}

// stcQuantize(x, thresholds[], strict)
Napi::Value Quantize(const Napi::CallbackInfo &info) {
  return guard(info, "StcQuantize", [&]() -> Napi::Value {
    return emit1(info.Env(), runRecurrence(Mode::Quantize, T(info, 0), thresholdsOf(info, 1), B(info, 2)));
  });
}

Napi::Value Encode(const Napi::CallbackInfo &info) {
  return guard(info, "StcEncode", [&]() -> Napi::Value {
    return emit1(info.Env(), runRecurrence(Mode::Encode, T(info, 0), thresholdsOf(info, 1), B(info, 2)));
  });
}

Napi::Value SpikeCount(const Napi::CallbackInfo &info) {
  return guard(info, "StcSpikeCount", [&]() -> Napi::Value {
    return emit1(info.Env(), runRecurrence(Mode::Count, T(info, 0), thresholdsOf(info, 1), B(info, 2)));
  });
}

// ---- learned thresholds -------------------------------------------------------------------------

// One block of `m` elements starting at flat index b0 (channel c0 = b0 % C): u = x / theta0[c],
// q1 = q_1(u) by the recurrence in float64 (as recurrenceBlock), then per element either q only
// (Grad = false) or q, dx and the threshold term dy (q1 - u m) (Grad = true), the terms added in
// float64 to acc[c] in element order.
template <bool Strict, bool Grad>
__attribute__((target_clones("avx512f", "avx2", "default"))) void scaledBlock(
    const float *__restrict x, const float *__restrict dy, const float *__restrict theta, int64_t C, int64_t b0,
    int64_t m, const double *__restrict th, int T, float upper, float *__restrict q, float *__restrict dx,
    double *__restrict acc) {
  alignas(64) float u[kBlock];
  alignas(64) float t0[kBlock];
  alignas(64) double v[kBlock];
  alignas(64) double a[kBlock];
  int64_t c = C == 1 ? 0 : b0 % C;
  for (int64_t i = 0; i < m; ++i) {
    t0[i] = theta[c];
    if (C != 1 && ++c == C) c = 0;
  }
  for (int64_t i = 0; i < m; ++i) {
    u[i] = x[b0 + i] / t0[i];
    v[i] = static_cast<double>(u[i]);
    a[i] = 0.0;
  }
  for (int t = 0; t < T; ++t) {
    const double h = th[t];
    for (int64_t i = 0; i < m; ++i) {
      const bool fire = Strict ? v[i] > h : v[i] >= h;
      v[i] -= fire ? h : 0.0;
      a[i] += fire ? h : 0.0;
    }
  }
  if (!Grad) {
    for (int64_t i = 0; i < m; ++i) q[b0 + i] = t0[i] * static_cast<float>(a[i]);
    return;
  }
  alignas(64) float term[kBlock];
  for (int64_t i = 0; i < m; ++i) {
    const float q1 = static_cast<float>(a[i]);
    const float ui = u[i];
    const bool inside = (ui > 0.0f) & (ui < upper);
    const float g = dy[b0 + i];
    dx[b0 + i] = inside ? g : 0.0f;
    term[i] = g * (q1 - (inside ? ui : 0.0f));
    q[b0 + i] = t0[i] * q1;
  }
  c = C == 1 ? 0 : b0 % C;
  for (int64_t i = 0; i < m; ++i) {
    acc[c] += static_cast<double>(term[i]);
    if (C != 1 && ++c == C) c = 0;
  }
}

// The channel count of theta0 against x: 1 for [] (one threshold), C for [C] = x's last axis.
int64_t thetaChannels(const at::Tensor &x, const at::Tensor &theta) {
  if (theta.dim() == 0) return 1;
  if (theta.dim() == 1 && x.dim() >= 1 && theta.size(0) == x.size(-1)) return theta.size(0);
  throw std::runtime_error("theta0 must be [] or [C] with C the last axis of x");
}

// The ops version (CUDA, or dtypes other than float32): the same formulas with ATen ops (float32
// steps, the recurrence in float64 as recurrenceOps; the sum in float64).
std::vector<at::Tensor> scaledOps(const at::Tensor *dy, const at::Tensor &x, const at::Tensor &theta,
                                  const std::vector<double> &th, bool strict, float upper) {
  at::Tensor u = at::div(x, theta);
  at::Tensor q1 = recurrenceOps(Mode::Quantize, u, th, strict);
  at::Tensor q = at::mul(theta, q1);
  if (dy == nullptr) return {q};
  at::Tensor m = at::logical_and(at::gt(u, 0), at::lt(u, upper));
  at::Tensor zero = at::zeros({}, x.options());
  at::Tensor dx = at::where(m, *dy, zero);
  at::Tensor term = at::mul(*dy, at::sub(q1, at::where(m, u, zero))).to(at::kDouble);
  at::Tensor dth = theta.dim() == 0 ? term.sum() : term.reshape({-1, theta.size(0)}).sum(0);
  return {dx, dth.to(theta.scalar_type()), q};
}

// StcQuantizeScaled / StcQuantizeScaledGrad on the CPU (dy null: the forward value only).
std::vector<at::Tensor> runScaled(const at::Tensor *dyIn, const at::Tensor &xIn, const at::Tensor &thetaIn,
                                  const std::vector<double> &th, bool strict, float upper) {
  const int64_t C = thetaChannels(xIn, thetaIn);
  if (dyIn && dyIn->sizes() != xIn.sizes()) throw std::runtime_error("dy and x must have the same shape");
  const bool cpuF32 = xIn.device().is_cpu() && thetaIn.device().is_cpu() && xIn.scalar_type() == at::kFloat &&
                      thetaIn.scalar_type() == at::kFloat &&
                      (dyIn == nullptr || (dyIn->device().is_cpu() && dyIn->scalar_type() == at::kFloat));
  if (!cpuF32) return scaledOps(dyIn, xIn, thetaIn, th, strict, upper);
  at::Tensor x = xIn.contiguous(), theta = thetaIn.contiguous();
  at::Tensor dy = dyIn ? dyIn->contiguous() : at::Tensor();
  const int64_t n = x.numel();
  at::Tensor q = at::empty(x.sizes(), x.options());
  at::Tensor dx = dyIn ? at::empty(x.sizes(), x.options()) : at::Tensor();
  const float *px = x.data_ptr<float>(), *pt = theta.data_ptr<float>();
  const float *pdy = dyIn ? dy.data_ptr<float>() : nullptr;
  float *pq = q.data_ptr<float>(), *pdx = dyIn ? dx.data_ptr<float>() : nullptr;
  const int T = static_cast<int>(th.size());
  // chunks of whole rows (C elements), about kGrain elements each: fixed by the shape alone, so
  // that the threshold gradient's sum is the same for any number of threads
  const int64_t rows = C == 0 ? 0 : n / C;
  const int64_t rowsPerChunk = std::max<int64_t>(1, kGrain / std::max<int64_t>(C, 1));
  const int64_t chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
  std::vector<double> partial(dyIn ? static_cast<size_t>(chunks * C) : 0, 0.0);
  auto run = [&](auto strictTag, auto gradTag) {
    constexpr bool S = decltype(strictTag)::value, G = decltype(gradTag)::value;
    at::parallel_for(0, chunks, 1, [&](int64_t cb, int64_t ce) {
      for (int64_t k = cb; k < ce; ++k) {
        const int64_t begin = k * rowsPerChunk * C, end = std::min(n, (k + 1) * rowsPerChunk * C);
        double *acc = G ? partial.data() + k * C : nullptr;
        for (int64_t b0 = begin; b0 < end; b0 += kBlock)
          scaledBlock<S, G>(px, pdy, pt, C, b0, std::min(kBlock, end - b0), th.data(), T, upper, pq, pdx, acc);
      }
    });
  };
  if (strict) {
    if (dyIn) run(std::true_type{}, std::true_type{});
    else run(std::true_type{}, std::false_type{});
  } else {
    if (dyIn) run(std::false_type{}, std::true_type{});
    else run(std::false_type{}, std::false_type{});
  }
  if (!dyIn) return {q};
  at::Tensor dth = at::empty(theta.sizes(), theta.options());
  float *pdth = dth.data_ptr<float>();
  for (int64_t c = 0; c < C; ++c) {
    double s = 0.0;
    for (int64_t k = 0; k < chunks; ++k) s += partial[static_cast<size_t>(k * C + c)];
    pdth[c] = static_cast<float>(s);
  }
  return {dx, dth, q};
}

float upperOf(const Napi::CallbackInfo &info, size_t k) {
  return info.Length() > k && info[k].IsNumber() ? static_cast<float>(D(info, k))
                                                 : std::numeric_limits<float>::infinity();
}

// stcQuantizeScaled(x, theta0, thresholds[], strict) -> q
Napi::Value QuantizeScaled(const Napi::CallbackInfo &info) {
  return guard(info, "StcQuantizeScaled", [&]() -> Napi::Value {
    auto outs = runScaled(nullptr, T(info, 0), T(info, 1), thresholdsOf(info, 2), B(info, 3),
                          std::numeric_limits<float>::infinity());
    return emit1(info.Env(), outs[0]);
  });
}

// stcQuantizeScaledGrad(dy, x, theta0, thresholds[], strict, upper = +inf) -> [dx, dtheta0, q]
Napi::Value QuantizeScaledGrad(const Napi::CallbackInfo &info) {
  return guard(info, "StcQuantizeScaledGrad", [&]() -> Napi::Value {
    const at::Tensor &dy = T(info, 0);
    return emit(info.Env(), runScaled(&dy, T(info, 1), T(info, 2), thresholdsOf(info, 3), B(info, 4), upperOf(info, 5)));
  });
}

// out[i] = dy[i] * 1[0 < x[i] < upper] for i in [begin, end), branch-free so that it vectorises.
__attribute__((target_clones("avx512f", "avx2", "default"))) void maskLoop(const float *__restrict dy,
                                                                   const float *__restrict x,
                                                                   float *__restrict out, int64_t begin,
                                                                   int64_t end, float upper) {
  for (int64_t i = begin; i < end; ++i) {
    const float xi = x[i];
    out[i] = ((xi > 0.0f) & (xi < upper)) ? dy[i] : 0.0f;
  }
}

// maskLoop with dy in bfloat16, widened exactly to float32: the same values as maskLoop over
// dy.to(float32), without that tensor.
__attribute__((target_clones("avx512f", "avx2", "default"))) void maskLoopBf16(const uint16_t *__restrict dy,
                                                                       const float *__restrict x,
                                                                       float *__restrict out, int64_t begin,
                                                                       int64_t end, float upper) {
  for (int64_t i = begin; i < end; ++i) {
    const uint32_t bits = static_cast<uint32_t>(dy[i]) << 16;
    float d;
    std::memcpy(&d, &bits, sizeof d);
    const float xi = x[i];
    out[i] = ((xi > 0.0f) & (xi < upper)) ? d : 0.0f;
  }
}

// stcQuantizeGrad(dy, x, upper = +inf) = dy * 1[0 < x < upper]
Napi::Value QuantizeGrad(const Napi::CallbackInfo &info) {
  return guard(info, "StcQuantizeGrad", [&]() -> Napi::Value {
    const bool clipped = info.Length() > 2 && info[2].IsNumber();
    const double upper = clipped ? D(info, 2) : std::numeric_limits<double>::infinity();
    return emit1(info.Env(), maskGrad(T(info, 0), T(info, 1), upper));
  });
}

// bnTrain(x, gamma, beta, eps) -> [y, mean, invstd]
Napi::Value BnTrain(const Napi::CallbackInfo &info) {
  return guard(info, "StcBatchNormTrain", [&]() -> Napi::Value {
    const at::Tensor &x = T(info, 0);
    const int64_t c = x.size(-1);
    at::Tensor x2 = x.contiguous().view({-1, c});
    auto r = at::native_batch_norm(x2, T(info, 1), T(info, 2), c10::nullopt, c10::nullopt, true, 0.0, D(info, 3));
    std::vector<at::Tensor> outs{std::get<0>(r).view(x.sizes()), std::get<1>(r), std::get<2>(r)};
    return emit(info.Env(), std::move(outs));
  });
}

// bnRunning(runningMean, runningVar, numBatchesTracked, mean, invstd, oneMinusK, k, eps, ratio)
//   -> [runningMean', runningVar', numBatchesTracked']: StcBatchNormRunning, the same float32
// operations in the same order as its TensorFlow.js reference (batchNormRunningOps), each on a
// float32 scalar as TensorFlow.js makes one of a number (ratio = count / max(1, count - 1)):
//   var = 1 / (invstd invstd) - eps;  rm' = rm (1 - k) + mean k;  rv' = rv (1 - k) + (var ratio) k
// one call instead of a dozen ops on the gradient tape.
Napi::Value BnRunning(const Napi::CallbackInfo &info) {
  return guard(info, "StcBatchNormRunning", [&]() -> Napi::Value {
    const at::Tensor &mean = T(info, 3), &invstd = T(info, 4);
    auto scalar = [&](double v) { return at::full({}, static_cast<float>(v), mean.options()); };
    const at::Tensor oneMinusK = scalar(D(info, 5)), k = scalar(D(info, 6));
    at::Tensor biasedVar = at::sub(at::reciprocal(at::mul(invstd, invstd)), scalar(D(info, 7)));
    at::Tensor unbiasedVar = at::mul(biasedVar, scalar(D(info, 8)));
    std::vector<at::Tensor> outs{at::add(at::mul(T(info, 0), oneMinusK), at::mul(mean, k)),
                                 at::add(at::mul(T(info, 1), oneMinusK), at::mul(unbiasedVar, k)),
                                 at::add(T(info, 2), 1)};
    return emit(info.Env(), std::move(outs));
  });
}

// squaredNorm(x) -> sum(x * x), a float32 scalar (StcSquaredNorm: the square and the sum that
// TensorFlow.js's ops would run, in one call).
Napi::Value SquaredNorm(const Napi::CallbackInfo &info) {
  return guard(info, "StcSquaredNorm", [&]() -> Napi::Value {
    const at::Tensor &x = T(info, 0);
    return emit1(info.Env(), at::sum(at::mul(x, x)));
  });
}

// bnTrainGrad(dy, x, gamma, mean, invstd) -> [dx, dgamma, dbeta]
Napi::Value BnTrainGrad(const Napi::CallbackInfo &info) {
  return guard(info, "StcBatchNormTrainGrad", [&]() -> Napi::Value {
    const at::Tensor &dy = T(info, 0);
    const at::Tensor &x = T(info, 1);
    const int64_t c = x.size(-1);
    at::Tensor x2 = x.contiguous().view({-1, c});
    at::Tensor dy2 = dy.contiguous().view({-1, c});
    auto r = at::native_batch_norm_backward(dy2, x2, T(info, 2), c10::nullopt, c10::nullopt, T(info, 3), T(info, 4),
                                            true, 0.0, {true, true, true});
    std::vector<at::Tensor> outs{std::get<0>(r).view(x.sizes()), std::get<1>(r), std::get<2>(r)};
    return emit(info.Env(), std::move(outs));
  });
}

// sgdStep(p, b, grad, lr, momentum, weightDecay, nesterov) -> [p', b'], one pass, float32 with
// the rounding of the unfused ops (no FMA contraction):
//   g = grad + wd p;  b' = m b + g;  d = nesterov ? g + m b' : b';  p' = p - lr d
template <bool Nesterov, bool Decay>
inline void sgdUpdate(float p, float b, float g, float lr, float m, float wd, float &po, float &bo) {
  if (Decay) g = g + p * wd;
  const float nb = b * m + g;
  const float d = Nesterov ? g + nb * m : nb;
  bo = nb;
  po = p - d * lr;
}

// Into new buffers po, bo.
template <bool Nesterov, bool Decay>
__attribute__((target_clones("avx512f", "avx2", "default"))) void sgdLoop(
    const float *__restrict p, const float *__restrict b, const float *__restrict gr, float *__restrict po,
    float *__restrict bo, int64_t begin, int64_t end, float lr, float m, float wd) {
  for (int64_t i = begin; i < end; ++i) sgdUpdate<Nesterov, Decay>(p[i], b[i], gr[i], lr, m, wd, po[i], bo[i]);
}

// Into p and b themselves (each element read before it is written).
template <bool Nesterov, bool Decay>
__attribute__((target_clones("avx512f", "avx2", "default"))) void sgdLoopInPlace(
    float *__restrict p, float *__restrict b, const float *__restrict gr, int64_t begin, int64_t end, float lr,
    float m, float wd) {
  for (int64_t i = begin; i < end; ++i) sgdUpdate<Nesterov, Decay>(p[i], b[i], gr[i], lr, m, wd, p[i], b[i]);
}

// Calls f(std::bool_constant<nesterov>, std::bool_constant<decay>) for run-time flags.
template <class F>
void withSgdFlags(bool nesterov, bool decay, F &&f) {
  if (nesterov) {
    if (decay) f(std::true_type{}, std::true_type{});
    else f(std::true_type{}, std::false_type{});
  } else {
    if (decay) f(std::false_type{}, std::true_type{});
    else f(std::false_type{}, std::false_type{});
  }
}

// The hyper-parameters of sgdStep / sgdStepInPlace (arguments 3-6), after checking that p, b
// and grad (arguments 0-2) have one shape.
struct SgdArgs {
  float lr, m, wd;
  bool nesterov;
};
SgdArgs sgdArgs(const Napi::CallbackInfo &info) {
  const at::Tensor &p = T(info, 0), &b = T(info, 1), &g = T(info, 2);
  if (p.sizes() != b.sizes() || p.sizes() != g.sizes()) throw std::runtime_error("p, b and grad must have one shape");
  return {static_cast<float>(D(info, 3)), static_cast<float>(D(info, 4)), static_cast<float>(D(info, 5)),
          B(info, 6)};
}

// t with like's strides (a copy when they differ), for one pass over both in like's layout.
at::Tensor inStridesOf(const at::Tensor &t, const at::Tensor &like) {
  if (t.strides() == like.strides()) return t;
  at::Tensor o = at::empty_strided(like.sizes(), like.strides(), t.options());
  o.copy_(t);
  return o;
}

Napi::Value SgdStep(const Napi::CallbackInfo &info) {
  return guard(info, "StcSgdStep", [&]() -> Napi::Value {
    const at::Tensor &p = T(info, 0), &b = T(info, 1), &g = T(info, 2);
    const SgdArgs a = sgdArgs(info);
    const float lr = a.lr, m = a.m, wd = a.wd;
    const bool nesterov = a.nesterov;
    if (!p.device().is_cpu() || p.scalar_type() != at::kFloat || b.scalar_type() != at::kFloat ||
        g.scalar_type() != at::kFloat) {
      at::Tensor gg = wd != 0 ? at::add(g, at::mul(p, wd)) : g;
      at::Tensor nb = at::add(at::mul(b, m), gg);
      at::Tensor d = nesterov ? at::add(gg, at::mul(nb, m)) : nb;
      return emit(info.Env(), {at::sub(p, at::mul(d, lr)), nb});
    }
    // One pass over memory in p's layout when p is dense (conv filters are kept in OHWI memory
    // behind their HWIO shape, see ops.cc); b and grad are brought to p's strides if they differ,
    // and both outputs keep them.
    const bool dense = p.is_non_overlapping_and_dense();
    auto inLayout = [&](const at::Tensor &t) { return dense ? inStridesOf(t, p) : t.contiguous(); };
    at::Tensor pc = dense ? p : p.contiguous(), bc = inLayout(b), gc = inLayout(g);
    at::Tensor po = at::empty_strided(pc.sizes(), pc.strides(), pc.options());
    at::Tensor bo = at::empty_strided(pc.sizes(), pc.strides(), pc.options());
    const float *pp = pc.data_ptr<float>(), *pb = bc.data_ptr<float>(), *pg = gc.data_ptr<float>();
    float *ppo = po.data_ptr<float>(), *pbo = bo.data_ptr<float>();
    at::parallel_for(0, pc.numel(), kGrain, [&](int64_t s, int64_t e) {
      withSgdFlags(nesterov, wd != 0, [&](auto n, auto dc) {
        sgdLoop<decltype(n)::value, decltype(dc)::value>(pp, pb, pg, ppo, pbo, s, e, lr, m, wd);
      });
    });
    return emit(info.Env(), {po, bo});
  });
}

// sgdStepInPlace(p, b, grad, lr, momentum, weightDecay, nesterov) -> bool: the update of
// sgdStep written into p's and b's own memory (the caller guarantees that nothing else holds
// them). Parameters and momenta then keep their buffers for the whole run, instead of two new
// buffers per parameter per step that the heap can only place between short-lived ones. b is
// re-laid out once, in its slot, to p's strides (conv filters keep OHWI memory, see ops.cc).
// Returns false, changing nothing, where p is not a dense float32 tensor, or p's or b's
// memory is shared with another tensor (a view); the caller then uses sgdStep. On CUDA the
// update runs as in-place ATen kernels on the device.
Napi::Value SgdStepInPlace(const Napi::CallbackInfo &info) {
  return guard(info, "StcSgdStep", [&]() -> Napi::Value {
    at::Tensor &p = T(info, 0), &b = T(info, 1);
    const at::Tensor &g = T(info, 2);
    const SgdArgs a = sgdArgs(info);
    const float lr = a.lr, m = a.m, wd = a.wd;
    const bool nesterov = a.nesterov;
    const bool owned = p.scalar_type() == at::kFloat && b.scalar_type() == at::kFloat &&
                       g.scalar_type() == at::kFloat && p.is_non_overlapping_and_dense() &&
                       p.storage().use_count() == 1 && b.storage().use_count() == 1 &&
                       p.storage().data() != b.storage().data() && p.device() == b.device() &&
                       p.device() == g.device();
    if (owned && !p.device().is_cpu()) {
      // On the GPU: the same update as in-place ATen kernels on the device (no host round trip).
      const at::Tensor gg = wd != 0 ? at::add(g, p, wd) : g;
      b.mul_(m).add_(gg);
      if (nesterov) p.sub_(at::add(gg, b, m), lr);
      else p.sub_(b, lr);
      return Napi::Boolean::New(info.Env(), true);
    }
    const bool ok = owned && p.device().is_cpu();
    if (!ok) return Napi::Boolean::New(info.Env(), false);
    b = inStridesOf(b, p);  // in its slot: from then on in p's layout
    const at::Tensor gc = inStridesOf(g, p);
    float *pp = p.data_ptr<float>(), *pb = b.data_ptr<float>();
    const float *pg = gc.data_ptr<float>();
    at::parallel_for(0, p.numel(), kGrain, [&](int64_t s, int64_t e) {
      withSgdFlags(nesterov, wd != 0, [&](auto n, auto dc) {
        sgdLoopInPlace<decltype(n)::value, decltype(dc)::value>(pp, pb, pg, s, e, lr, m, wd);
      });
    });
    // written through raw pointers: tell caches keyed by version (prepacked filters, ops.cc)
    p.unsafeGetTensorImpl()->bump_version();
    b.unsafeGetTensorImpl()->bump_version();
    return Napi::Boolean::New(info.Env(), true);
  });
}

} // namespace

at::Tensor maskGrad(const at::Tensor &dyIn, const at::Tensor &xIn, double upperIn) {
  const bool clipped = std::isfinite(upperIn);
  const float upper = clipped ? static_cast<float>(upperIn) : std::numeric_limits<float>::infinity();
  if (dyIn.sizes() != xIn.sizes()) throw std::runtime_error("dy and x must have the same shape");
  if (xIn.device().is_cpu() && dyIn.scalar_type() == at::kBFloat16 && xIn.scalar_type() == at::kFloat) {
    at::Tensor dy = dyIn.contiguous(), x = xIn.contiguous();
    at::Tensor out = at::empty(x.sizes(), x.options());
    const auto *pdy = reinterpret_cast<const uint16_t *>(dy.data_ptr<at::BFloat16>());
    const float *px = x.data_ptr<float>();
    float *po = out.data_ptr<float>();
    at::parallel_for(0, x.numel(), kGrain, [&](int64_t b, int64_t e) { maskLoopBf16(pdy, px, po, b, e, upper); });
    return out;
  }
  if (!xIn.device().is_cpu() || dyIn.scalar_type() != at::kFloat || xIn.scalar_type() != at::kFloat) {
    at::Tensor mask = at::gt(xIn, 0);
    if (clipped) mask = at::logical_and(mask, at::lt(xIn, upper));
    return at::where(mask, highp(dyIn), at::zeros({}, xIn.options()));
  }
  at::Tensor dy = dyIn.contiguous(), x = xIn.contiguous();
  at::Tensor out = at::empty_like(dy, at::MemoryFormat::Contiguous);
  const float *pdy = dy.data_ptr<float>(), *px = x.data_ptr<float>();
  float *po = out.data_ptr<float>();
  at::parallel_for(0, x.numel(), kGrain, [&](int64_t b, int64_t e) { maskLoop(pdy, px, po, b, e, upper); });
  return out;
}

at::Tensor quantize(const at::Tensor &x, const std::vector<double> &thresholds, bool strict) {
  return runRecurrence(Mode::Quantize, x, thresholds, strict);
}

at::Tensor quantizeLowp(const at::Tensor &xIn, const std::vector<double> &th, bool strict) {
  if (!g_bf16 || !xIn.device().is_cpu() || xIn.scalar_type() != at::kFloat) return lowp(quantize(xIn, th, strict));
  at::Tensor x = xIn.contiguous();
  at::Tensor out = at::empty(x.sizes(), x.options().dtype(at::kBFloat16));
  const float *px = x.data_ptr<float>();
  auto *po = reinterpret_cast<uint16_t *>(out.data_ptr<at::BFloat16>());
  const int T = static_cast<int>(th.size());
  at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t b0 = begin; b0 < end; b0 += kBlock) {
      const int64_t m = std::min(kBlock, end - b0);
      if (strict) quantizeBf16Block<true>(px, po, b0, m, th.data(), T);
      else quantizeBf16Block<false>(px, po, b0, m, th.data(), T);
    }
  });
  return out;
}

void registerStc(Napi::Env env, Napi::Object exports) {
  exports.Set("stcQuantize", Napi::Function::New(env, Quantize));
  exports.Set("stcQuantizeGrad", Napi::Function::New(env, QuantizeGrad));
  exports.Set("stcQuantizeScaled", Napi::Function::New(env, QuantizeScaled));
  exports.Set("stcQuantizeScaledGrad", Napi::Function::New(env, QuantizeScaledGrad));
  exports.Set("stcEncode", Napi::Function::New(env, Encode));
  exports.Set("stcSpikeCount", Napi::Function::New(env, SpikeCount));
  exports.Set("bnTrain", Napi::Function::New(env, BnTrain));
  exports.Set("bnTrainGrad", Napi::Function::New(env, BnTrainGrad));
  exports.Set("bnRunning", Napi::Function::New(env, BnRunning));
  exports.Set("squaredNorm", Napi::Function::New(env, SquaredNorm));
  exports.Set("sgdStep", Napi::Function::New(env, SgdStep));
  exports.Set("sgdStepInPlace", Napi::Function::New(env, SgdStepInPlace));
}

} // namespace stc
