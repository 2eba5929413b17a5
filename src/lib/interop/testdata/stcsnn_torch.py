"""PyTorch modules with the structure of stcsnn's networks (VGG11/16, pre-activation ResNet18).

A state dict written by stcsnn (a ``.safetensors`` model file or checkpoint) loads into them with
``load_state_dict(strict=True)``. This file is the code shown in docs/pytorch.md; the stcsnn test
suite runs it (``python3 stcsnn_torch.py --check MODEL INPUTS OUT``) and compares its logits with
stcsnn's.

Inputs are NCHW float32, normalised as in training. Requires torch (any 1.x/2.x); reading a file
uses ``safetensors`` when installed, else the small reader below.
"""
import json
import math
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


# --- STC: thresholds, STEB + CAB with the equivalent gradient ------------------------------------

def thresholds(stc):
    """theta(t), t = 0..T-1: exp: theta0 * exp(-t / tau); geometric: theta0 * tau**-t."""
    T, theta0, tau = stc["T"], stc["theta0"], stc["tau"]
    if stc["schedule"] == "exp":
        return [theta0 * math.exp(-t / tau) for t in range(T)]
    return [theta0 * tau ** (-t) for t in range(T)]


def steb(x, th, strict=False):
    """STEB: the binary spike train s, shape [T, *x.shape]. The recurrence runs in float64
    (as stcsnn's reference kernels do): V(0) = x; s(t) = [V(t) >= theta(t)]; V(t+1) = V(t) - s(t) theta(t)."""
    v = x.double()
    frames = []
    for theta in th:
        s = v > theta if strict else v >= theta
        frames.append(s.to(x.dtype))
        v = torch.where(s, v - theta, v)
    return torch.stack(frames)


class StcQuantize(torch.autograd.Function):
    """q(x) = sum_t theta(t) s(t) (STEB followed by CAB, fused); backward is the equivalent gradient:
    dL/dx = dL/dq * [0 < x < upper] (upper = inf: the paper's ReLU mask; sum(theta): the clipped one).

    The recurrence runs in float64 on one buffer updated in place, and q = x - V(T) (the residual
    membrane): one comparison and one in-place subtraction per time step."""

    @staticmethod
    def forward(ctx, x, th, strict, upper):
        ctx.save_for_backward(x)
        ctx.upper = upper
        v = x.detach().to(torch.float64, copy=True)
        for theta in th:
            s = v.gt(theta) if strict else v.ge(theta)
            v.sub_(s.double(), alpha=theta)
        return (x.double() - v).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ((x > 0) & (x < ctx.upper)).to(grad.dtype), None, None, None


class STCB(nn.Module):
    """STEB -> Conv (no bias) -> CAB, replacing ReLU -> Conv. Parameter: ``weight`` [Cout, Cin, k, k],
    and ``log_theta`` ([] or [Cin]) when the thresholds are learned (stc "learnTheta" "layer"/"channel").

    forward: y = W * q(x) (fused; its gradient is that of ReLU -> Conv: the equivalent gradient).
    forward_spike_train: I(t) = W * s(t) on the T binary frames, y = sum_t theta(t) I(t) (same value).
    Learned thresholds: theta0 = exp(log_theta), y = (W theta0) * q_1(x / theta0) with unit thresholds
    (scale equivariance; theta0 on W's input-channel axis); autograd then gives log_theta the LSQ/PACT
    gradient (stcsnn also scales it by 1 / sqrt(n Q_p), which this module leaves out).
    stc "shift" "half": the membrane starts half the last threshold up, V(0) = u + theta(T-1)/2.
    mode 'ann': ReLU -> Conv with the same parameter.
    """

    def __init__(self, cin, cout, kernel, stride, pad, stc, mode="stc"):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(cout, cin, kernel, kernel))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.stride, self.pad, self.mode = stride, pad, mode
        learn = stc.get("learnTheta", "off") if mode == "stc" else "off"
        if learn != "off":
            self.log_theta = nn.Parameter(torch.full([] if learn == "layer" else [cin], math.log(stc["theta0"])))
            stc = {**stc, "theta0": 1.0}
        else:
            self.log_theta = None
        self.th = thresholds(stc)
        self.strict = stc.get("fire", ">=") == ">"
        self.upper = sum(self.th) if stc.get("gradient", "relu") == "clipped" else math.inf
        self.shift = self.th[-1] / 2 if stc.get("shift", "none") == "half" else 0.0

    def _scaled(self, x):
        """(the membrane's start: x / theta0 + shift, W theta0) with learned thresholds, else (x + shift, W)."""
        if self.log_theta is None:
            return x + self.shift, self.weight
        theta0 = torch.exp(self.log_theta.double()).float()  # correctly rounded, as stcsnn computes it
        return x / theta0.reshape(1, -1, 1, 1) + self.shift, self.weight * theta0.reshape(1, -1, 1, 1)

    def forward(self, x):
        if self.mode == "ann":
            return F.conv2d(F.relu(x), self.weight, stride=self.stride, padding=self.pad)
        u, w = self._scaled(x)
        return F.conv2d(StcQuantize.apply(u, self.th, self.strict, self.upper), w, stride=self.stride, padding=self.pad)

    def forward_spike_train(self, x):
        if self.mode == "ann":
            return self.forward(x)
        u, w = self._scaled(x)
        s = steb(u, self.th, self.strict)  # [T, N, C, H, W]
        T, N = s.shape[:2]
        cur = F.conv2d(s.flatten(0, 1), w, stride=self.stride, padding=self.pad)
        cur = cur.view(T, N, *cur.shape[1:])
        th = torch.tensor(self.th, dtype=x.dtype).view(T, 1, 1, 1, 1)
        return (cur * th).sum(0)


def scaled(c, width):
    """Channels of a layer: max(1, round(c * width)), rounding halves up (as JavaScript's Math.round)."""
    return max(1, int(math.floor(c * width + 0.5)))


# --- VGG11 / VGG16 -------------------------------------------------------------------------------

VGG_CFG = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
}


class VggBlock(nn.Module):
    """[maxpool 2x2] -> STCB conv3x3 -> BN.  Names: blocks.i.conv.weight, blocks.i.bn.*"""

    def __init__(self, pool, cin, cout, stc, mode):
        super().__init__()
        self.pool = pool
        self.conv = STCB(cin, cout, 3, 1, 1, stc, mode)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        if self.pool:
            x = F.max_pool2d(x, 2)
        return self.bn(self.conv(x))


class Vgg(nn.Module):
    """stem: conv3x3 (no bias) -> stem_bn; blocks; [final pool] -> relu -> flatten (NHWC order) -> classifier."""

    def __init__(self, cfg):
        super().__init__()
        layers = VGG_CFG[cfg["arch"]]
        h, w, c = cfg["inputShape"]
        width, stc, mode = cfg["width"], cfg["stc"], cfg["mode"]
        c0 = scaled(layers[0], width)
        self.stem = nn.Conv2d(c, c0, 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(c0)
        blocks, cin, pending = [], c0, False
        for v in layers[1:]:
            if v == "M":
                pending = True
                continue
            pool = pending and h >= 2 and w >= 2
            if pool:
                h, w = h // 2, w // 2
            pending = False
            cout = scaled(v, width)
            blocks.append(VggBlock(pool, cin, cout, stc, mode))
            cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.final_pool = pending and h >= 2 and w >= 2
        if self.final_pool:
            h, w = h // 2, w // 2
        self.classifier = nn.Linear(h * w * cin, cfg["classes"])

    def forward(self, x):
        x = self.stem_bn(self.stem(x))
        for b in self.blocks:
            x = b(x)
        if self.final_pool:
            x = F.max_pool2d(x, 2)
        x = F.relu(x)
        # stcsnn computes in NHWC: flatten in (h, w, c) order.
        return self.classifier(x.permute(0, 2, 3, 1).flatten(1))


# --- pre-activation ResNet18 ---------------------------------------------------------------------

class PreActBlock(nn.Module):
    """o = bn1(x); out = conv2(bn2(conv1(o))) + (shortcut(o) if projecting else x).

    conv1, conv2 and shortcut are STCBs; the shortcut (1x1, stride s) sees the spikes of bn1's output.
    """

    def __init__(self, cin, cout, stride, stc, mode):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = STCB(cin, cout, 3, stride, 1, stc, mode)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = STCB(cout, cout, 3, 1, 1, stc, mode)
        if stride != 1 or cin != cout:
            self.shortcut = STCB(cin, cout, 1, stride, 0, stc, mode)
        else:
            self.shortcut = None

    def forward(self, x):
        o = self.bn1(x)
        c = self.conv2(self.bn2(self.conv1(o)))
        return c + (self.shortcut(o) if self.shortcut is not None else x)


class ResNet18(nn.Module):
    """conv1 (3x3, no bias) -> layer1..layer4 (2 blocks each) -> bn -> relu -> global mean -> linear."""

    def __init__(self, cfg):
        super().__init__()
        width, stc, mode = cfg["width"], cfg["stc"], cfg["mode"]
        c = cfg["inputShape"][2]
        cin = scaled(64, width)
        self.conv1 = nn.Conv2d(c, cin, 3, 1, 1, bias=False)
        for i, (ch, stride) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)]):
            cout = scaled(ch, width)
            blocks = []
            for b in range(2):
                blocks.append(PreActBlock(cin, cout, stride if b == 0 else 1, stc, mode))
                cin = cout
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.bn = nn.BatchNorm2d(cin)
        self.linear = nn.Linear(cin, cfg["classes"])

    def forward(self, x):
        x = self.conv1(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = F.relu(self.bn(x))
        return self.linear(x.mean((2, 3)))


def build(cfg):
    """The module for an stcsnn config (the JSON of the ``stcsnn.config`` metadata)."""
    return ResNet18(cfg) if cfg["arch"] == "resnet18" else Vgg(cfg)


# --- reading model files -------------------------------------------------------------------------

_DTYPES = {"F32": torch.float32, "F64": torch.float64, "I32": torch.int32, "I64": torch.int64, "U8": torch.uint8}


def read_safetensors(path):
    """(tensors, metadata) of a safetensors file; uses the safetensors package when installed."""
    try:
        from safetensors import safe_open
        from safetensors.torch import load_file

        with safe_open(path, "pt") as f:
            meta = f.metadata() or {}
        return load_file(path), meta
    except ImportError:
        pass
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    meta = header.pop("__metadata__", {}) or {}
    base = 8 + n
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        buf = bytearray(data[base + begin : base + end])
        t = torch.frombuffer(buf, dtype=_DTYPES[e["dtype"]]) if buf else torch.empty(0, dtype=_DTYPES[e["dtype"]])
        tensors[name] = t.reshape(e["shape"]).clone()
    return tensors, meta


def load_model(path):
    """Builds the module described by a model file and loads its weights (strict)."""
    tensors, meta = read_safetensors(path)
    cfg = json.loads(meta["stcsnn.config"])
    model = build(cfg)
    state = {k: v for k, v in tensors.items() if not k.startswith("optimizer.")}
    model.load_state_dict(state, strict=True)
    return model.eval(), cfg, meta


def _check(model_path, inputs_path, out_path):
    """Test entry: logits of the NCHW float32 inputs in ``inputs_path`` (shape from the config)."""
    model, cfg, _ = load_model(model_path)
    h, w, c = cfg["inputShape"]
    x = torch.frombuffer(bytearray(open(inputs_path, "rb").read()), dtype=torch.float32).reshape(-1, c, h, w)
    with torch.no_grad():
        y = model(x)
        if cfg["mode"] == "stc":
            # The spike-train path gives the same logits (to float rounding).
            for m in model.modules():
                if isinstance(m, STCB):
                    m.forward = m.forward_spike_train
            y2 = model(x)
            print(json.dumps({"spike_train_max_diff": float((y - y2).abs().max())}))
    open(out_path, "wb").write(y.contiguous().numpy().astype("<f4").tobytes())


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--check":
        _check(*sys.argv[2:])
    else:
        print("usage: python3 stcsnn_torch.py --check MODEL.safetensors INPUTS.f32 OUT.f32", file=sys.stderr)
        sys.exit(2)
