// The general kernels of the libtorch backend, over ATen.
//
// Layout: TensorFlow.js tensors are NHWC (channels last) and stay so. A 4-D NHWC tensor viewed
// as NCHW by `permute(0, 3, 1, 2)` is ATen's channels_last memory format without a copy, so
// convolutions and pooling run on oneDNN's channels-last paths; their NCHW channels_last
// results permuted back by `permute(0, 2, 3, 1)` are contiguous NHWC again.
// Filters are TensorFlow.js's `[kh, kw, Cin, Cout]`, ATen's `[Cout, Cin, kh, kw]` is
// `permute(3, 2, 0, 1)`.
//
// A kernel that cannot serve a case (e.g. an asymmetric average-pool padding) throws an error
// starting with "unsupported:"; the JS side then runs TensorFlow.js's cpu kernel instead.
#include "common.h"
#include <cmath>
#include <algorithm>
#include <array>
#include <limits>
#include <vector>

namespace stc {

namespace {

struct Unsupported : std::runtime_error {
  explicit Unsupported(const std::string &m) : std::runtime_error("unsupported: " + m) {}
};

at::Tensor nchw(const at::Tensor &nhwc) {
  at::Tensor v = nhwc.permute({0, 3, 1, 2});
  if (!v.is_contiguous(at::MemoryFormat::ChannelsLast)) v = v.contiguous(at::MemoryFormat::ChannelsLast);
  return v;
}

at::Tensor nhwc(const at::Tensor &nchwT) { return nchwT.permute({0, 2, 3, 1}).contiguous(); }

at::Tensor oihw(const at::Tensor &hwio) { return hwio.permute({3, 2, 0, 1}); }

// Conv filters arrive as TensorFlow.js's [kh, kw, Cin, Cout] (HWIO). oneDNN's fast path wants
// OIHW in channels-last memory, i.e. OHWI; a permuted HWIO view makes it reorder the weight on
// every call (10-70 % slower convolutions here). So a filter is re-laid out once, in its slot,
// to OHWI memory behind the same logical HWIO shape (ATen strides): every alias of the tensor
// sees the same values, and the filter gradient, the momentum and the SGD update (which keep
// the strides of their inputs) stay in that layout from then on.
// The new tensor is a fresh one with those strides, not a permuted view of a copy: ATen's view
// tracking would keep the copy alive as the view's base, a second owner of the memory, which
// the in-place SGD step (stc.cc) rightly refuses to write into.
const at::Tensor &convFilter(at::Tensor &hwio) {
  if (hwio.dim() == 4 && !hwio.permute({3, 2, 0, 1}).is_contiguous(at::MemoryFormat::ChannelsLast)) {
    const int64_t kw = hwio.size(1), ci = hwio.size(2);
    at::Tensor ohwi = at::empty_strided(hwio.sizes(), {kw * ci, ci, 1, hwio.size(0) * kw * ci}, hwio.options());
    ohwi.copy_(hwio);
    hwio = ohwi;
  }
  return hwio;
}

at::TensorOptions opts(at::ScalarType st) { return at::TensorOptions().dtype(st).device(g_device); }

// ---- elementwise ---------------------------------------------------------------------------

enum Unary {
  U_NEG, U_ABS, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_SQUARE, U_RELU, U_RELU6, U_SIGN, U_STEP, U_ISNAN,
  U_ISINF, U_ISFINITE, U_SIGMOID, U_TANH, U_FLOOR, U_CEIL, U_ROUND, U_RECIPROCAL, U_LOG1P, U_EXPM1,
  U_SIN, U_COS, U_SOFTPLUS, U_ELU, U_LEAKYRELU, U_LOGICALNOT, U_ERF, U_SELU, U_TAN, U_ASIN, U_ACOS,
  U_ATAN, U_SINH, U_COSH, U_ASINH, U_ACOSH, U_ATANH, U_EXP2, U_COUNT
};
const char *kUnaryNames[] = {"Neg", "Abs", "Exp", "Log", "Sqrt", "Rsqrt", "Square", "Relu", "Relu6",
                             "Sign", "Step", "IsNan", "IsInf", "IsFinite", "Sigmoid", "Tanh", "Floor",
                             "Ceil", "Round", "Reciprocal", "Log1p", "Expm1", "Sin", "Cos", "Softplus",
                             "Elu", "LeakyRelu", "LogicalNot", "Erf", "Selu", "Tan", "Asin", "Acos",
                             "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "__Exp2"};

at::Tensor floatOf(const at::Tensor &x) { return x.is_floating_point() ? x : x.to(at::kFloat); }

at::Tensor unary(int code, const at::Tensor &x, double alpha) {
  switch (code) {
  case U_NEG: return at::neg(x);
  case U_ABS: return at::abs(x);
  // in float64, rounded once: the correctly rounded exp of TensorFlow.js's cpu and wasm backends
  // (ATen's vectorised float32 exp is off by an ulp now and then: a learned threshold,
  // theta0 = exp(log_theta), must be the same number on every backend and in PyTorch's module)
  case U_EXP: return at::exp(floatOf(x).to(at::kDouble)).to(at::kFloat);
  case U_LOG: return at::log(floatOf(x));
  case U_SQRT: return at::sqrt(floatOf(x));
  case U_RSQRT: return at::rsqrt(floatOf(x));
  case U_SQUARE: return at::mul(x, x);
  case U_RELU: return at::relu(x);
  case U_RELU6: return at::clamp(x, 0, 6);
  case U_SIGN: return at::sign(x);
  case U_STEP: {
    // tfjs: x > 0 ? 1 : alpha, NaN stays NaN
    at::Tensor xf = floatOf(x);
    at::Tensor r = at::where(at::gt(xf, 0), at::ones({}, xf.options()), at::full({}, alpha, xf.options()));
    return at::where(at::isnan(xf), xf, r);
  }
  case U_ISNAN: return at::isnan(x);
  case U_ISINF: return at::isinf(x);
  case U_ISFINITE: return at::isfinite(x);
  case U_SIGMOID: return at::sigmoid(floatOf(x));
  case U_TANH: return at::tanh(floatOf(x));
  case U_FLOOR: return at::floor(x);
  case U_CEIL: return at::ceil(x);
  case U_ROUND: return at::round(x);
  case U_RECIPROCAL: return at::reciprocal(floatOf(x));
  case U_LOG1P: return at::log1p(floatOf(x));
  case U_EXPM1: return at::expm1(floatOf(x));
  case U_SIN: return at::sin(floatOf(x));
  case U_COS: return at::cos(floatOf(x));
  case U_SOFTPLUS: return at::softplus(floatOf(x));
  case U_ELU: return at::elu(floatOf(x));
  case U_LEAKYRELU: return at::leaky_relu(floatOf(x), alpha);
  case U_LOGICALNOT: return at::logical_not(x);
  case U_ERF: return at::erf(floatOf(x));
  case U_SELU: return at::selu(floatOf(x));
  case U_TAN: return at::tan(floatOf(x));
  case U_ASIN: return at::asin(floatOf(x));
  case U_ACOS: return at::acos(floatOf(x));
  case U_ATAN: return at::atan(floatOf(x));
  case U_SINH: return at::sinh(floatOf(x));
  case U_COSH: return at::cosh(floatOf(x));
  case U_ASINH: return at::asinh(floatOf(x));
  case U_ACOSH: return at::acosh(floatOf(x));
  case U_ATANH: return at::atanh(floatOf(x));
  case U_EXP2: return at::exp2(floatOf(x));
  default: throw std::runtime_error("unknown unary op " + std::to_string(code));
  }
}

enum Binary {
  B_ADD, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN, B_POW, B_GT, B_GE, B_LT, B_LE, B_EQ, B_NE, B_AND, B_OR,
  B_SQDIFF, B_FLOORDIV, B_MOD, B_ATAN2, B_PRELU, B_COUNT
};
const char *kBinaryNames[] = {"Add", "Sub", "Multiply", "RealDiv", "Maximum", "Minimum", "Pow",
                              "Greater", "GreaterEqual", "Less", "LessEqual", "Equal", "NotEqual",
                              "LogicalAnd", "LogicalOr", "SquaredDifference", "FloorDiv", "Mod",
                              "Atan2", "Prelu"};

at::Tensor binary(int code, const at::Tensor &a, const at::Tensor &b) {
  switch (code) {
  case B_ADD: return at::add(a, b);
  case B_SUB: return at::sub(a, b);
  case B_MUL: return at::mul(a, b);
  case B_DIV: return at::div(a, b);
  case B_MAX: return at::maximum(a, b);
  case B_MIN: return at::minimum(a, b);
  case B_POW: return at::pow(a, b);
  case B_GT: return at::gt(a, b);
  case B_GE: return at::ge(a, b);
  case B_LT: return at::lt(a, b);
  case B_LE: return at::le(a, b);
  case B_EQ: return at::eq(a, b);
  case B_NE: return at::ne(a, b);
  case B_AND: return at::logical_and(a, b);
  case B_OR: return at::logical_or(a, b);
  case B_SQDIFF: {
    at::Tensor d = at::sub(a, b);
    return at::mul(d, d);
  }
  case B_FLOORDIV: return at::div(a, b, "floor");
  case B_MOD: return at::remainder(a, b);
  case B_ATAN2: return at::atan2(a, b);
  case B_PRELU: return at::where(at::lt(a, 0), at::mul(a, b), a);
  default: throw std::runtime_error("unknown binary op " + std::to_string(code));
  }
}

enum Reduce { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_ANY, R_ALL, R_COUNT };
const char *kReduceNames[] = {"Sum", "Mean", "Max", "Min", "Prod", "Any", "All"};

at::Tensor reduce(int code, const at::Tensor &x, const std::vector<int64_t> &axes, bool keep) {
  if (axes.empty()) {
    if (code == R_MEAN) return floatOf(x).clone();
    if (code == R_ANY || code == R_ALL) return x.to(at::kBool);
    return x.clone();
  }
  at::IntArrayRef dims(axes);
  switch (code) {
  case R_SUM: return at::sum(x, dims, keep);
  case R_MEAN: return at::mean(floatOf(x), dims, keep);
  case R_MAX: return at::amax(x, dims, keep);
  case R_MIN: return at::amin(x, dims, keep);
  case R_PROD: {
    at::Tensor r = x;
    std::vector<int64_t> s(axes);
    std::sort(s.rbegin(), s.rend());
    for (int64_t d : s) r = at::prod(r, d, true);
    if (!keep)
      for (int64_t d : s) r = r.squeeze(d);
    return r;
  }
  case R_ANY:
  case R_ALL: {
    at::Tensor r = x.to(at::kBool);
    std::vector<int64_t> s(axes);
    std::sort(s.rbegin(), s.rend());
    for (int64_t d : s) r = code == R_ANY ? at::any(r, d, true) : at::all(r, d, true);
    if (!keep)
      for (int64_t d : s) r = r.squeeze(d);
    return r.contiguous();
  }
  default: throw std::runtime_error("unknown reduction " + std::to_string(code));
  }
}

// activation codes of the fused kernels: 0 linear, 1 relu, 2 relu6, 3 prelu, 4 leakyrelu,
// 5 sigmoid, 6 elu
at::Tensor activate(at::Tensor y, int act, const c10::optional<at::Tensor> &preluW, double alpha) {
  switch (act) {
  case 0: return y;
  case 1: return at::relu(y);
  case 2: return at::clamp(y, 0, 6);
  case 3: return at::where(at::lt(y, 0), at::mul(y, *preluW), y);
  case 4: return at::leaky_relu(y, alpha);
  case 5: return at::sigmoid(y);
  case 6: return at::elu(y);
  default: throw std::runtime_error("unknown activation " + std::to_string(act));
  }
}

// ---- convolution and pooling -----------------------------------------------------------------

struct Geo {
  int64_t sh, sw, pt, pb, pl, pr, dh, dw;
  bool symmetric() const { return pt == pb && pl == pr; }
};

Geo geo(const Napi::CallbackInfo &info, size_t k) {
  return Geo{I(info, k), I(info, k + 1), I(info, k + 2), I(info, k + 3),
             I(info, k + 4), I(info, k + 5), I(info, k + 6), I(info, k + 7)};
}

// ---- prepacked filters for inference ---------------------------------------------------------
//
// oneDNN's convolutions read filters in a blocked layout of their own; given a plain filter, a
// convolution reorders it on every call. For wide layers at small spatial sizes that reorder
// is a large part of the call (VGG16 inference at 32x32: its 512-channel layers at 4x4 and 2x2
// took 1.6-2.2x as long as with a blocked filter, and the whole forward pass 20 % longer).
// Outside gradient recording (inference), a filter of such a layer is reordered once and the
// blocked copy kept until the filter changes: the cache holds a weak reference to the filter's
// storage (an entry whose storage is gone, or now someone else's, is dropped) and its version
// counter (sgdStepInPlace bumps it). Measured on an AVX-512 machine, the blocked path lost for
// narrower layers (1.2-3.4x slower for 64-256 output channels), hence kPrepackMinCout/Cin.
// Training and the bf16 autocast always take the plain path, so a model's training arithmetic
// does not depend on it; STCSNN_LIBTORCH_PREPACK=0 turns it off. The cached copies cost one
// filter's memory each.
constexpr int64_t kPrepackMinCout = 512, kPrepackMinCin = 256;

struct PackedFilter {
  c10::weak_intrusive_ptr<c10::StorageImpl> storage;
  int64_t offset;
  uint32_t version;
  std::vector<int64_t> key;  // sizes, strides, geometry
  at::Tensor packed;
};
std::vector<PackedFilter> g_packed;

bool prepackEnabled() {
  static const bool on = [] {
    const char *e = std::getenv("STCSNN_LIBTORCH_PREPACK");
    return !(e && std::string(e) == "0");
  }();
  return on;
}

// The blocked copy of filter w (OIHW view) for a convolution with geometry g, made or reused.
const at::Tensor &packedFilter(const at::Tensor &w, const Geo &g) {
  std::vector<int64_t> key(w.sizes().begin(), w.sizes().end());
  key.insert(key.end(), w.strides().begin(), w.strides().end());
  key.insert(key.end(), {g.sh, g.sw, g.pt, g.pl, g.dh, g.dw});
  const c10::StorageImpl *impl = w.storage().unsafeGetStorageImpl();
  const uint32_t version = w.unsafeGetTensorImpl()->version_counter().current_version();
  g_packed.erase(std::remove_if(g_packed.begin(), g_packed.end(),
                                [](const PackedFilter &e) { return e.storage.expired(); }),
                 g_packed.end());
  auto pack = [&] {
    return at::mkldnn_reorder_conv2d_weight(w.contiguous().to_mkldnn(), {g.pt, g.pl}, {g.sh, g.sw},
                                            {g.dh, g.dw}, 1);
  };
  for (PackedFilter &e : g_packed) {
    if (e.storage.lock().get() == impl && e.offset == w.storage_offset() && e.key == key) {
      if (e.version != version) {
        e.packed = pack();
        e.version = version;
      }
      return e.packed;
    }
  }
  g_packed.push_back({w.storage().getWeakStorageImpl(), w.storage_offset(), version, std::move(key), pack()});
  return g_packed.back().packed;
}

// ---- bfloat16 copies of filters ----------------------------------------------------------------
//
// Under the bf16 autocast a filter is read in bfloat16 by its forward convolution and again by
// its input gradient, and does not change in between: the copy is made once and kept until the
// filter changes, as the prepacked filters above (weak reference to the storage, its version
// counter, which the in-place SGD step bumps). One half-size copy per filter.
struct Bf16Filter {
  c10::weak_intrusive_ptr<c10::StorageImpl> storage;
  int64_t offset;
  uint32_t version;
  std::vector<int64_t> key;  // sizes, strides
  at::Tensor copy;
};
std::vector<Bf16Filter> g_bf16Filters;

// lowp(w) for a filter (OIHW view), made or reused.
at::Tensor lowpFilter(const at::Tensor &w) {
  if (!g_bf16 || w.scalar_type() != at::kFloat) return w;
  std::vector<int64_t> key(w.sizes().begin(), w.sizes().end());
  key.insert(key.end(), w.strides().begin(), w.strides().end());
  const c10::StorageImpl *impl = w.storage().unsafeGetStorageImpl();
  const uint32_t version = w.unsafeGetTensorImpl()->version_counter().current_version();
  g_bf16Filters.erase(std::remove_if(g_bf16Filters.begin(), g_bf16Filters.end(),
                                     [](const Bf16Filter &e) { return e.storage.expired(); }),
                      g_bf16Filters.end());
  for (Bf16Filter &e : g_bf16Filters) {
    if (e.storage.lock().get() == impl && e.offset == w.storage_offset() && e.key == key) {
      if (e.version != version) {
        e.copy = lowp(w);
        e.version = version;
      }
      return e.copy;
    }
  }
  g_bf16Filters.push_back({w.storage().getWeakStorageImpl(), w.storage_offset(), version, std::move(key), lowp(w)});
  return g_bf16Filters.back().copy;
}

// The convolution of NCHW (channels-last) `x` and HWIO filter `w`, symmetric padding, NHWC result;
// `infer` (no gradient being recorded) allows the prepacked filter above.
at::Tensor conv2dNhwc(const at::Tensor &x, const at::Tensor &w, const Geo &g, bool infer) {
  const at::Tensor wo = oihw(w);
  const bool prepack = infer && !g_bf16 && prepackEnabled() && x.is_cpu() && x.scalar_type() == at::kFloat &&
                       wo.size(0) >= kPrepackMinCout && wo.size(1) >= kPrepackMinCin;
  at::Tensor y = prepack ? at::mkldnn_convolution(x, packedFilter(wo, g), c10::nullopt, {g.pt, g.pl}, {g.sh, g.sw},
                                                  {g.dh, g.dw}, 1)
                         : highp(at::convolution(lowp(x), lowpFilter(wo), c10::nullopt, {g.sh, g.sw}, {g.pt, g.pl},
                                                 {g.dh, g.dw}, false, {0, 0}, 1));
  return nhwc(y);
}

// conv2d(x, w, sh, sw, pt, pb, pl, pr, dh, dw, bias, act, preluW, alpha, infer): NHWC conv;
// `infer` (no gradient being recorded) allows the prepacked filter above.
Napi::Value Conv2d(const Napi::CallbackInfo &info) {
  return guard(info, "Conv2D", [&]() -> Napi::Value {
    at::Tensor x = nchw(T(info, 0));
    const at::Tensor &w = convFilter(T(info, 1));
    Geo g = geo(info, 2);
    auto bias = OT(info, 10);
    int act = info.Length() > 11 ? static_cast<int>(I(info, 11)) : 0;
    auto preluW = OT(info, 12);
    double alpha = info.Length() > 13 ? D(info, 13) : 0.2;
    if (!g.symmetric()) {
      x = at::constant_pad_nd(x, {g.pl, g.pr, g.pt, g.pb}, 0).contiguous(at::MemoryFormat::ChannelsLast);
      g.pt = g.pb = g.pl = g.pr = 0;
    }
    at::Tensor out = conv2dNhwc(x, w, g, info.Length() > 14 && B(info, 14));
    if (bias) out = at::add(out, *bias);
    return emit1(info.Env(), activate(out, act, preluW, alpha));
  });
}

// The two gradients of a convolution with symmetric padding, channels-last NCHW tensors and the
// OIHW filter `wo`; `dyl` and `xl` already lowp (bfloat16 under the bf16 autocast). Shared by
// Conv2DBackpropInput, Conv2DBackpropFilter and StcConv2DBackward, one convolution_backward call
// each (ATen's slow path, which small layers take, wants a contiguous weight for the filter
// gradient, so the two are not asked of one call).
struct ConvGeo {
  std::array<int64_t, 2> stride, pad, dil;
};

// dx (lowp, NCHW channels-last) for an input shaped like `xl` (only its sizes are read).
at::Tensor convInputGrad(const at::Tensor &dyl, const at::Tensor &xl, const at::Tensor &wo, const ConvGeo &g) {
  return std::get<0>(at::convolution_backward(dyl, xl, lowpFilter(wo), c10::nullopt, g.stride, g.pad, g.dil, false,
                                              {0, 0}, 1, {true, false, false}));
}

// dw, float32, in TensorFlow.js's HWIO order: a view of ATen's OIHW result, asked for in the
// filters' own memory (OHWI, channels-last; see convFilter), so that the SGD step reads it in
// place (no copy into the parameter's layout) and oneDNN writes it without a reorder (measured
// 17 against 22 ms per call at 512 channels, 4x4, fp32). ATen's slow path, which tiny layers
// take, wants a contiguous filter gradient and refuses the channels-last one: it gets that.
at::Tensor convFilterGrad(const at::Tensor &dyl, const at::Tensor &xl, at::IntArrayRef oihwSizes, const ConvGeo &g) {
  auto grad = [&](at::MemoryFormat mf) {
    const at::Tensor shapeOnly = at::empty(oihwSizes, opts(xl.scalar_type()).memory_format(mf));
    return std::get<1>(at::convolution_backward(dyl, xl, shapeOnly, c10::nullopt, g.stride, g.pad, g.dil, false,
                                                {0, 0}, 1, {false, true, false}));
  };
  at::Tensor dwo;
  try {
    dwo = grad(at::MemoryFormat::ChannelsLast);
  } catch (const c10::Error &) {
    dwo = grad(at::MemoryFormat::Contiguous);
  }
  at::Tensor dw = highp(dwo).permute({2, 3, 1, 0});
  return dw.is_non_overlapping_and_dense() ? dw : dw.contiguous();
}

// conv2dInputGrad(dy, w, n, h, wd, c, sh, sw, pt, pb, pl, pr, dh, dw) -> dx [n, h, wd, c]
Napi::Value Conv2dInputGrad(const Napi::CallbackInfo &info) {
  return guard(info, "Conv2DBackpropInput", [&]() -> Napi::Value {
    at::Tensor dy = nchw(T(info, 0));
    const at::Tensor &w = convFilter(T(info, 1));
    int64_t n = I(info, 2), h = I(info, 3), wd = I(info, 4), c = I(info, 5);
    Geo g = geo(info, 6);
    const bool sym = g.symmetric();
    int64_t hp = sym ? h : h + g.pt + g.pb, wp = sym ? wd : wd + g.pl + g.pr;
    const at::Tensor dyl = lowp(dy);
    at::Tensor shapeOnly =
        at::empty({n, c, hp, wp}, opts(dyl.scalar_type()).memory_format(at::MemoryFormat::ChannelsLast));
    const ConvGeo cg{{g.sh, g.sw}, {sym ? g.pt : 0, sym ? g.pl : 0}, {g.dh, g.dw}};
    at::Tensor dx = highp(convInputGrad(dyl, shapeOnly, oihw(w), cg));
    if (!sym) dx = dx.slice(2, g.pt, g.pt + h).slice(3, g.pl, g.pl + wd);
    return emit1(info.Env(), nhwc(dx));
  });
}

// conv2dFilterGrad(x, dy, kh, kw, ci, co, sh, sw, pt, pb, pl, pr, dh, dw) -> dw [kh, kw, ci, co]
Napi::Value Conv2dFilterGrad(const Napi::CallbackInfo &info) {
  return guard(info, "Conv2DBackpropFilter", [&]() -> Napi::Value {
    at::Tensor x = nchw(T(info, 0));
    at::Tensor dy = nchw(T(info, 1));
    int64_t kh = I(info, 2), kw = I(info, 3), ci = I(info, 4), co = I(info, 5);
    Geo g = geo(info, 6);
    if (!g.symmetric()) {
      x = at::constant_pad_nd(x, {g.pl, g.pr, g.pt, g.pb}, 0).contiguous(at::MemoryFormat::ChannelsLast);
      g.pt = g.pb = g.pl = g.pr = 0;
    }
    const ConvGeo cg{{g.sh, g.sw}, {g.pt, g.pl}, {g.dh, g.dw}};
    return emit1(info.Env(), convFilterGrad(lowp(dy), lowp(x), {co, ci, kh, kw}, cg));
  });
}

// stcConv2d(x, w, thresholds, strict, stride, pad, infer) -> y = conv(q(x), w), NHWC: StcConv2D,
// an STCB's forward value on the fused path in one call; q goes straight to bfloat16 under the
// bf16 autocast (quantizeLowp). The values of StcQuantize then Conv2D.
Napi::Value StcConv2d(const Napi::CallbackInfo &info) {
  return guard(info, "StcConv2D", [&]() -> Napi::Value {
    const std::vector<double> th = thresholdsOf(info, 2);
    const int64_t s = I(info, 4), p = I(info, 5);
    const at::Tensor &w = convFilter(T(info, 1));
    const at::Tensor q = nchw(quantizeLowp(T(info, 0), th, B(info, 3)));
    return emit1(info.Env(), conv2dNhwc(q, w, Geo{s, s, p, p, p, p, 1, 1}, B(info, 6)));
  });
}

// stcConv2dBackward(dy, x, w, thresholds, strict, upper, relu, stride, pad) -> [dx, dw]: the
// backward pass of an STCB with a 2-D convolution (StcConv2DBackward; with relu, of ReLU -> Conv)
// in one call: a = q(x) (or relu(x)) recomputed; both gradients of the convolution (dy read, and
// under the bf16 autocast cast, once); dx = da 1[0 < x < upper].
// The same operations as StcQuantize, Conv2DBackpropInput, Conv2DBackpropFilter and
// StcQuantizeGrad one after the other, so the same values.
Napi::Value StcConv2dBackward(const Napi::CallbackInfo &info) {
  return guard(info, "StcConv2DBackward", [&]() -> Napi::Value {
    const at::Tensor &dyIn = T(info, 0), &x = T(info, 1);
    const at::Tensor &w = convFilter(T(info, 2));
    const bool strict = B(info, 4), relu = B(info, 6);
    const std::vector<double> th = relu ? VD(info, 3) : thresholdsOf(info, 3);
    const double upper = D(info, 5);
    const int64_t s = I(info, 7), p = I(info, 8);
    const at::Tensor a = relu ? at::relu(x) : quantizeLowp(x, th, strict);
    const at::Tensor wo = oihw(w);
    const at::Tensor dyl = lowp(nchw(dyIn)), al = lowp(nchw(a));
    const ConvGeo cg{{s, s}, {p, p}, {1, 1}};
    at::Tensor dx = maskGrad(nhwc(convInputGrad(dyl, al, wo, cg)), x, upper);
    return emit(info.Env(), {dx, convFilterGrad(dyl, al, wo.sizes(), cg)});
  });
}

// maxPool(x, kh, kw, sh, sw, pt, pb, pl, pr)
Napi::Value MaxPool(const Napi::CallbackInfo &info) {
  return guard(info, "MaxPool", [&]() -> Napi::Value {
    at::Tensor x = nchw(T(info, 0));
    int64_t kh = I(info, 1), kw = I(info, 2), sh = I(info, 3), sw = I(info, 4);
    int64_t pt = I(info, 5), pb = I(info, 6), pl = I(info, 7), pr = I(info, 8);
    if (pt || pb || pl || pr) {
      x = at::constant_pad_nd(x, {pl, pr, pt, pb}, -std::numeric_limits<double>::infinity())
              .contiguous(at::MemoryFormat::ChannelsLast);
    }
    return emit1(info.Env(), nhwc(at::max_pool2d(x, {kh, kw}, {sh, sw}, {0, 0}, {1, 1}, false)));
  });
}

// maxPoolGrad(dy, x, kh, kw, sh, sw, pt, pb, pl, pr) -> dx
Napi::Value MaxPoolGrad(const Napi::CallbackInfo &info) {
  return guard(info, "MaxPoolGrad", [&]() -> Napi::Value {
    at::Tensor dy = nchw(T(info, 0));
    at::Tensor x = nchw(T(info, 1));
    int64_t kh = I(info, 2), kw = I(info, 3), sh = I(info, 4), sw = I(info, 5);
    int64_t pt = I(info, 6), pb = I(info, 7), pl = I(info, 8), pr = I(info, 9);
    const int64_t h = x.size(2), wd = x.size(3);
    const bool padded = pt || pb || pl || pr;
    if (padded) {
      x = at::constant_pad_nd(x, {pl, pr, pt, pb}, -std::numeric_limits<double>::infinity())
              .contiguous(at::MemoryFormat::ChannelsLast);
    }
    auto r = at::max_pool2d_with_indices(x, {kh, kw}, {sh, sw}, {0, 0}, {1, 1}, false);
    at::Tensor dx = at::max_pool2d_with_indices_backward(dy, x, {kh, kw}, {sh, sw}, {0, 0}, {1, 1}, false,
                                                         std::get<1>(r));
    if (padded) dx = dx.slice(2, pt, pt + h).slice(3, pl, pl + wd);
    return emit1(info.Env(), nhwc(dx));
  });
}

// avgPool(x, kh, kw, sh, sw, pt, pb, pl, pr): padding cells are not counted (as TensorFlow.js)
Napi::Value AvgPool(const Napi::CallbackInfo &info) {
  return guard(info, "AvgPool", [&]() -> Napi::Value {
    at::Tensor x = nchw(T(info, 0));
    int64_t kh = I(info, 1), kw = I(info, 2), sh = I(info, 3), sw = I(info, 4);
    int64_t pt = I(info, 5), pb = I(info, 6), pl = I(info, 7), pr = I(info, 8);
    if (pt != pb || pl != pr || 2 * pt > kh || 2 * pl > kw) throw Unsupported("asymmetric avgPool padding");
    return emit1(info.Env(), nhwc(at::avg_pool2d(x, {kh, kw}, {sh, sw}, {pt, pl}, false, false)));
  });
}

// avgPoolGrad(dy, x, kh, kw, sh, sw, pt, pb, pl, pr)
Napi::Value AvgPoolGrad(const Napi::CallbackInfo &info) {
  return guard(info, "AvgPoolGrad", [&]() -> Napi::Value {
    at::Tensor dy = nchw(T(info, 0));
    at::Tensor x = nchw(T(info, 1));
    int64_t kh = I(info, 2), kw = I(info, 3), sh = I(info, 4), sw = I(info, 5);
    int64_t pt = I(info, 6), pb = I(info, 7), pl = I(info, 8), pr = I(info, 9);
    if (pt != pb || pl != pr || 2 * pt > kh || 2 * pl > kw) throw Unsupported("asymmetric avgPool padding");
    return emit1(info.Env(),
                 nhwc(at::avg_pool2d_backward(dy, x, {kh, kw}, {sh, sw}, {pt, pl}, false, false, c10::nullopt)));
  });
}

// matmul(a, b, transposeA, transposeB, bias, act, preluW, alpha)
Napi::Value MatMul(const Napi::CallbackInfo &info) {
  return guard(info, "BatchMatMul", [&]() -> Napi::Value {
    at::Tensor a = T(info, 0), b = T(info, 1);
    if (B(info, 2)) a = a.transpose(-2, -1);
    if (B(info, 3)) b = b.transpose(-2, -1);
    auto bias = OT(info, 4);
    int act = info.Length() > 5 ? static_cast<int>(I(info, 5)) : 0;
    auto preluW = OT(info, 6);
    double alpha = info.Length() > 7 ? D(info, 7) : 0.2;
    at::Tensor y = at::matmul(a, b);
    if (bias) y = at::add(y, *bias);
    return emit1(info.Env(), activate(y, act, preluW, alpha).contiguous());
  });
}

// ---- elementwise entry points -----------------------------------------------------------------

Napi::Value UnaryOp(const Napi::CallbackInfo &info) {
  int code = static_cast<int>(I(info, 0));
  return guard(info, code >= 0 && code < U_COUNT ? kUnaryNames[code] : "unary", [&]() -> Napi::Value {
    double alpha = info.Length() > 2 ? D(info, 2) : 0;
    return emit1(info.Env(), unary(code, T(info, 1), alpha));
  });
}

Napi::Value BinaryOp(const Napi::CallbackInfo &info) {
  int code = static_cast<int>(I(info, 0));
  return guard(info, code >= 0 && code < B_COUNT ? kBinaryNames[code] : "binary", [&]() -> Napi::Value {
    return emit1(info.Env(), binary(code, T(info, 1), T(info, 2)));
  });
}

// reduce(code, x, axes, keepDims)
Napi::Value ReduceOp(const Napi::CallbackInfo &info) {
  int code = static_cast<int>(I(info, 0));
  return guard(info, code >= 0 && code < R_COUNT ? kReduceNames[code] : "reduce", [&]() -> Napi::Value {
    return emit1(info.Env(), reduce(code, T(info, 1), V(info, 2), B(info, 3)));
  });
}

// argMinMax(x, axis, isMax)
Napi::Value ArgMinMax(const Napi::CallbackInfo &info) {
  return guard(info, "ArgMax", [&]() -> Napi::Value {
    const at::Tensor &x = T(info, 0);
    int64_t axis = I(info, 1);
    return emit1(info.Env(), B(info, 2) ? at::argmax(x, axis) : at::argmin(x, axis));
  });
}

// addN(ids[])
Napi::Value AddN(const Napi::CallbackInfo &info) {
  return guard(info, "AddN", [&]() -> Napi::Value {
    auto ids = V(info, 0);
    at::Tensor acc = get(ids[0]).clone();
    for (size_t i = 1; i < ids.size(); ++i) acc.add_(get(ids[i]));
    return emit1(info.Env(), acc);
  });
}

Napi::Value Cast(const Napi::CallbackInfo &info) {
  return guard(info, "Cast", [&]() -> Napi::Value {
    const at::Tensor &x = T(info, 0);
    auto st = scalarOf(static_cast<int>(I(info, 1)));
    // TensorFlow.js (Int32Array conversion) maps NaN and +-Infinity to 0
    if (st == at::kInt && x.is_floating_point()) return emit1(info.Env(), at::nan_to_num(x, 0, 0, 0).to(st));
    return emit1(info.Env(), x.to(st));
  });
}

Napi::Value Reshape(const Napi::CallbackInfo &info) {
  return guard(info, "Reshape", [&]() -> Napi::Value {
    return emit1(info.Env(), T(info, 0).reshape(V(info, 1)));
  });
}

Napi::Value Transpose(const Napi::CallbackInfo &info) {
  return guard(info, "Transpose", [&]() -> Napi::Value {
    return emit1(info.Env(), T(info, 0).permute(V(info, 1)).contiguous());
  });
}

Napi::Value Reverse(const Napi::CallbackInfo &info) {
  return guard(info, "Reverse", [&]() -> Napi::Value { return emit1(info.Env(), at::flip(T(info, 0), V(info, 1))); });
}

// pad(x, flatPaddings (dim 0 first: before, after, ...), value)
Napi::Value Pad(const Napi::CallbackInfo &info) {
  return guard(info, "PadV2", [&]() -> Napi::Value {
    auto p = V(info, 1);
    std::vector<int64_t> q;
    for (size_t d = p.size() / 2; d-- > 0;) {
      q.push_back(p[2 * d]);
      q.push_back(p[2 * d + 1]);
    }
    return emit1(info.Env(), at::constant_pad_nd(T(info, 0), q, D(info, 2)));
  });
}

// slice(x, begin[], size[])
Napi::Value Slice(const Napi::CallbackInfo &info) {
  return guard(info, "Slice", [&]() -> Napi::Value {
    at::Tensor x = T(info, 0);
    auto b = V(info, 1), s = V(info, 2);
    for (size_t d = 0; d < b.size(); ++d) {
      if (b[d] != 0 || s[d] != x.size(d)) x = x.narrow(d, b[d], s[d]);
    }
    return emit1(info.Env(), x.contiguous());
  });
}

// stridedSlice(x, begin[], end[], strides[], finalShape[])
Napi::Value StridedSlice(const Napi::CallbackInfo &info) {
  return guard(info, "StridedSlice", [&]() -> Napi::Value {
    at::Tensor x = T(info, 0);
    auto b = V(info, 1), e = V(info, 2), s = V(info, 3), shape = V(info, 4);
    for (size_t d = 0; d < b.size() && d < static_cast<size_t>(x.dim()); ++d) {
      if (s[d] <= 0) throw Unsupported("strided slice with a non-positive stride");
      int64_t end = std::max(b[d], e[d]);
      x = x.slice(d, b[d], end, s[d]);
    }
    return emit1(info.Env(), x.contiguous().reshape(shape));
  });
}

std::vector<at::Tensor> tensorsOf(const std::vector<int64_t> &ids) {
  std::vector<at::Tensor> v;
  v.reserve(ids.size());
  for (auto id : ids) v.push_back(get(id));
  return v;
}

Napi::Value Concat(const Napi::CallbackInfo &info) {
  return guard(info, "Concat", [&]() -> Napi::Value {
    return emit1(info.Env(), at::cat(tensorsOf(V(info, 0)), I(info, 1)));
  });
}

Napi::Value Pack(const Napi::CallbackInfo &info) {
  return guard(info, "Pack", [&]() -> Napi::Value {
    return emit1(info.Env(), at::stack(tensorsOf(V(info, 0)), I(info, 1)));
  });
}

Napi::Value Unpack(const Napi::CallbackInfo &info) {
  return guard(info, "Unpack", [&]() -> Napi::Value {
    std::vector<at::Tensor> outs;
    for (auto &t : at::unbind(T(info, 0), I(info, 1))) outs.push_back(t.contiguous());
    return emit(info.Env(), std::move(outs));
  });
}

// split(x, sizes[], axis)
Napi::Value Split(const Napi::CallbackInfo &info) {
  return guard(info, "SplitV", [&]() -> Napi::Value {
    std::vector<at::Tensor> outs;
    for (auto &t : at::split_with_sizes(T(info, 0), V(info, 1), I(info, 2))) outs.push_back(t.contiguous());
    return emit(info.Env(), std::move(outs));
  });
}

Napi::Value Tile(const Napi::CallbackInfo &info) {
  return guard(info, "Tile", [&]() -> Napi::Value { return emit1(info.Env(), T(info, 0).repeat(V(info, 1))); });
}

// fill(shape[], value, dtype)
Napi::Value Fill(const Napi::CallbackInfo &info) {
  return guard(info, "Fill", [&]() -> Napi::Value {
    return emit1(info.Env(), at::full(V(info, 0), D(info, 1), opts(scalarOf(static_cast<int>(I(info, 2))))));
  });
}

// range(start, stop, step, dtype)
Napi::Value Range(const Napi::CallbackInfo &info) {
  return guard(info, "Range", [&]() -> Napi::Value {
    double start = D(info, 0), stop = D(info, 1), step = D(info, 2);
    auto st = scalarOf(static_cast<int>(I(info, 3)));
    int64_t n = static_cast<int64_t>(std::ceil((stop - start) / step));
    if (n <= 0) return emit1(info.Env(), at::empty({0}, opts(st)));
    at::Tensor r = at::arange(n, opts(at::kDouble)).mul_(step).add_(start);
    return emit1(info.Env(), r.to(st));
  });
}

// likeOf(x, value): zerosLike / onesLike
Napi::Value FullLike(const Napi::CallbackInfo &info) {
  return guard(info, "ZerosLike", [&]() -> Napi::Value {
    return emit1(info.Env(), at::full_like(T(info, 0), D(info, 1), at::MemoryFormat::Contiguous));
  });
}

// select(cond, t, e)
Napi::Value Select(const Napi::CallbackInfo &info) {
  return guard(info, "Select", [&]() -> Napi::Value {
    at::Tensor c = T(info, 0).to(at::kBool);
    const at::Tensor &t = T(info, 1);
    if (c.dim() == 1 && t.dim() > 1) {
      std::vector<int64_t> s(t.dim(), 1);
      s[0] = c.size(0);
      c = c.reshape(s);
    }
    return emit1(info.Env(), at::where(c, t, T(info, 2)));
  });
}

Napi::Value Clip(const Napi::CallbackInfo &info) {
  return guard(info, "ClipByValue", [&]() -> Napi::Value {
    return emit1(info.Env(), at::clamp(T(info, 0), D(info, 1), D(info, 2)));
  });
}

// oneHot(indices, depth, on, off, dtype)
Napi::Value OneHot(const Napi::CallbackInfo &info) {
  return guard(info, "OneHot", [&]() -> Napi::Value {
    at::Tensor idx = T(info, 0).to(at::kLong);
    int64_t depth = I(info, 1);
    auto st = scalarOf(static_cast<int>(I(info, 4)));
    at::Tensor eq = at::eq(idx.unsqueeze(-1), at::arange(depth, opts(at::kLong)));
    return emit1(info.Env(), at::where(eq, at::full({}, D(info, 2), opts(st)), at::full({}, D(info, 3), opts(st))));
  });
}

// gather(x, indices, axis)
Napi::Value Gather(const Napi::CallbackInfo &info) {
  return guard(info, "GatherV2", [&]() -> Napi::Value {
    const at::Tensor &x = T(info, 0);
    const at::Tensor &idx = T(info, 1);
    int64_t axis = I(info, 2);
    at::Tensor flat = at::index_select(x, axis, idx.reshape({-1}).to(at::kLong));
    std::vector<int64_t> shape(x.sizes().begin(), x.sizes().begin() + axis);
    for (auto d : idx.sizes()) shape.push_back(d);
    for (int64_t d = axis + 1; d < x.dim(); ++d) shape.push_back(x.size(d));
    return emit1(info.Env(), flat.reshape(shape));
  });
}

Napi::Value Softmax(const Napi::CallbackInfo &info) {
  return guard(info, "Softmax", [&]() -> Napi::Value {
    return emit1(info.Env(), at::softmax(T(info, 0), I(info, 1)));
  });
}

Napi::Value LogSoftmax(const Napi::CallbackInfo &info) {
  return guard(info, "LogSoftmax", [&]() -> Napi::Value {
    return emit1(info.Env(), at::log_softmax(T(info, 0), I(info, 1)));
  });
}

// batchNormInfer(x, mean, variance, offset | -1, scale | -1, eps): y = (x - mean) rsqrt(var + eps) scale + offset
Napi::Value BatchNormInfer(const Napi::CallbackInfo &info) {
  return guard(info, "FusedBatchNorm", [&]() -> Napi::Value {
    const at::Tensor &x = T(info, 0);
    const at::Tensor &mean = T(info, 1);
    const at::Tensor &var = T(info, 2);
    auto offset = OT(info, 3);
    auto scale = OT(info, 4);
    double eps = D(info, 5);
    at::Tensor a = at::rsqrt(at::add(var, eps));
    if (scale) a = at::mul(a, *scale);
    at::Tensor b = at::neg(at::mul(mean, a));
    if (offset) b = at::add(b, *offset);
    return emit1(info.Env(), at::addcmul(b, x, a));
  });
}

} // namespace

void registerOps(Napi::Env env, Napi::Object exports) {
  auto codes = [&](const char *const *names, int n) {
    auto o = Napi::Object::New(env);
    for (int i = 0; i < n; ++i) o.Set(names[i], i);
    return o;
  };
  exports.Set("unaryCodes", codes(kUnaryNames, U_COUNT));
  exports.Set("binaryCodes", codes(kBinaryNames, B_COUNT));
  exports.Set("reduceCodes", codes(kReduceNames, R_COUNT));
#define FN(name, f) exports.Set(name, Napi::Function::New(env, f))
  FN("unary", UnaryOp);
  FN("binary", BinaryOp);
  FN("reduce", ReduceOp);
  FN("argMinMax", ArgMinMax);
  FN("addN", AddN);
  FN("cast", Cast);
  FN("reshape", Reshape);
  FN("transpose", Transpose);
  FN("reverse", Reverse);
  FN("pad", Pad);
  FN("slice", Slice);
  FN("stridedSlice", StridedSlice);
  FN("concat", Concat);
  FN("pack", Pack);
  FN("unpack", Unpack);
  FN("split", Split);
  FN("tile", Tile);
  FN("fill", Fill);
  FN("range", Range);
  FN("fullLike", FullLike);
  FN("select", Select);
  FN("clip", Clip);
  FN("oneHot", OneHot);
  FN("gather", Gather);
  FN("softmax", Softmax);
  FN("logSoftmax", LogSoftmax);
  FN("batchNormInfer", BatchNormInfer);
  FN("conv2d", Conv2d);
  FN("conv2dInputGrad", Conv2dInputGrad);
  FN("conv2dFilterGrad", Conv2dFilterGrad);
  FN("stcConv2d", StcConv2d);
  FN("stcConv2dBackward", StcConv2dBackward);
  FN("maxPool", MaxPool);
  FN("maxPoolGrad", MaxPoolGrad);
  FN("avgPool", AvgPool);
  FN("avgPoolGrad", AvgPoolGrad);
  FN("matmul", MatMul);
#undef FN
}

} // namespace stc
