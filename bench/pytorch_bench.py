#!/usr/bin/env python3
"""The PyTorch reference of `npm run bench` (not a product dependency).

One measurement per process (so that peak RSS is this configuration's):

    python3 bench/pytorch_bench.py --arch resnet18|vgg16|vgg11 --mode ann|stc --phase train|infer
        [--batch 32] [--steps 10] [--warmup 3] [--threads 2] [--width 1] [--layout nchw|channels_last]
        [--precision fp32|bf16] [--profile]

The networks are stcsnn's (docs/semantics.md §2): VGG = stem conv+BN, then per layer
[maxpool] -> (ReLU | STC quantiser) -> conv (no bias) -> BN, final maxpool, ReLU, linear;
pre-activation ResNet18 = stem conv, blocks BN -> act -> conv -> BN -> act -> conv + shortcut
(1x1 stride-2 act -> conv on the block's first BN output where the shape changes), head
BN -> ReLU -> global average pool -> linear. In `stc` mode the activation is the STC quantiser
q(x) = sum_t theta(t) s(t) (T = 8, theta0 = 0.8, tau = 2, exp schedule, V >= theta) computed with
T elementwise passes, with the equivalent (ReLU) gradient: the best plain-PyTorch STC.
train = forward + cross entropy + backward + SGD(momentum 0.9, weight decay 5e-4);
infer = eval-mode forward + argmax, under torch.inference_mode.
`--width` multiplies every layer's channels (max(1, round(c * width)), as stcsnn's `width`).
`--precision bf16` runs the forward pass (and so its backward) under
`torch.autocast(device, dtype=torch.bfloat16)`: PyTorch's own mixed precision, where
convolutions and matrix products take bfloat16 and the parameters stay float32.
`--profile` adds `profile`: the self time per step of each ATen op over the timed steps
(torch.profiler), largest first, `other_ms`, the rest of the step (Python, autograd), and
`mean_ms_per_step`, the mean step they add up to (`ms_per_step` is the median).
`--profile-shapes` adds `profile_by_shape`: the same per op and its inputs' shapes.
Prints one JSON line like bench/run-stcsnn.js.
"""
import argparse
import json
import math
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def thresholds(T=8, theta0=0.8, tau=2.0):
    return [theta0 * math.exp(-t / tau) for t in range(T)]


class StcQuantize(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, th):
        ctx.save_for_backward(x)
        v = x.clone()
        q = torch.zeros_like(x)
        for h in th:
            s = (v >= h).to(x.dtype) * h
            v.sub_(s)
            q.add_(s)
        return q

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x > 0).to(g.dtype), None


class Act(nn.Module):
    def __init__(self, mode):
        super().__init__()
        self.mode = mode
        self.th = thresholds()

    def forward(self, x):
        return F.relu(x) if self.mode == 'ann' else StcQuantize.apply(x, self.th)


def scaled(c, width):
    """Channels at a width multiplier, rounded as stcsnn rounds them (half away from zero)."""
    return max(1, int(math.floor(c * width + 0.5)))


VGG_CFG = {
    'vgg11': [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
    'vgg16': [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
}


class Vgg(nn.Module):
    def __init__(self, arch, mode, classes=10, size=32, width=1.0):
        super().__init__()
        cfg = [v if v == 'M' else scaled(v, width) for v in VGG_CFG[arch]]
        self.stem = nn.Conv2d(3, cfg[0], 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(cfg[0])
        layers, c, hw, pending = [], cfg[0], size, False
        for v in cfg[1:]:
            if v == 'M':
                pending = True
                continue
            if pending and hw >= 2:
                layers.append(nn.MaxPool2d(2))
                hw //= 2
            pending = False
            layers += [Act(mode), nn.Conv2d(c, v, 3, 1, 1, bias=False), nn.BatchNorm2d(v)]
            c = v
        if pending and hw >= 2:
            layers.append(nn.MaxPool2d(2))
            hw //= 2
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c * hw * hw, classes)

    def forward(self, x):
        h = self.features(self.stem_bn(self.stem(x)))
        return self.classifier(torch.flatten(F.relu(h), 1))


class PreActBlock(nn.Module):
    def __init__(self, cin, cout, stride, mode):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.act1 = Act(mode)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.act2 = Act(mode)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.act_s = Act(mode)
            self.shortcut = nn.Conv2d(cin, cout, 1, stride, 0, bias=False)

    def forward(self, x):
        o = self.bn1(x)
        c = self.conv2(self.act2(self.bn2(self.conv1(self.act1(o)))))
        return c + (self.shortcut(self.act_s(o)) if self.shortcut is not None else x)


class ResNet18(nn.Module):
    def __init__(self, mode, classes=10, width=1.0):
        super().__init__()
        c0 = scaled(64, width)
        self.stem = nn.Conv2d(3, c0, 3, 1, 1, bias=False)
        blocks, cin = [], c0
        for c, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            cout = scaled(c, width)
            blocks += [PreActBlock(cin, cout, stride, mode), PreActBlock(cout, cout, 1, mode)]
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(cin)
        self.linear = nn.Linear(cin, classes)

    def forward(self, x):
        h = F.relu(self.bn(self.blocks(self.stem(x))))
        return self.linear(torch.mean(h, dim=(2, 3)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--arch', default='resnet18')
    p.add_argument('--mode', default='ann')
    p.add_argument('--phase', default='train')
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--steps', type=int, default=10)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--size', type=int, default=32)
    p.add_argument('--width', type=float, default=1.0, help='channel multiplier (as stcsnn\'s width)')
    p.add_argument('--layout', default='channels_last', choices=['channels_last', 'nchw'])
    p.add_argument('--stat', default='median', choices=['median', 'min'])
    p.add_argument('--device', default='cpu', help='cpu or cuda (cuda[:N])')
    p.add_argument('--precision', default='fp32', choices=['fp32', 'bf16'])
    p.add_argument('--profile', action='store_true')
    p.add_argument('--profile-shapes', action='store_true', help='also by input shapes (profile_by_shape)')
    a = p.parse_args()
    if a.device.startswith('cuda') and not torch.cuda.is_available():
        print('pytorch_bench.py: --device cuda but torch.cuda.is_available() is False '
              f'(torch {torch.__version__}, CUDA build: {torch.version.cuda})', file=sys.stderr)
        sys.exit(2)
    dev = torch.device(a.device)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if not (a.width > 0):
        print(f'pytorch_bench.py: --width must be > 0, got {a.width}', file=sys.stderr)
        sys.exit(2)
    net = (ResNet18(a.mode, width=a.width) if a.arch == 'resnet18'
           else Vgg(a.arch, a.mode, size=a.size, width=a.width))
    fmt = torch.channels_last if a.layout == 'channels_last' else torch.contiguous_format
    net = net.to(device=dev, memory_format=fmt)
    x = torch.randn(a.batch, 3, a.size, a.size).contiguous(memory_format=fmt).to(dev)
    y = (torch.arange(a.batch) % 10).to(dev)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

    bf16 = a.precision == 'bf16'

    def autocast():
        return torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16)

    def train_step():
        net.train()
        opt.zero_grad(set_to_none=True)
        with autocast():
            loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    def infer_step():
        net.eval()
        with torch.inference_mode(), autocast():
            int(net(x).argmax(1)[0])
        return None

    step = train_step if a.phase == 'train' else infer_step
    loss = None
    for _ in range(a.warmup):
        loss = step()
    times = []
    prof = (torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=a.profile_shapes)
            if a.profile or a.profile_shapes else None)
    if prof:
        prof.__enter__()
    for _ in range(a.steps):
        t0 = time.perf_counter()
        loss = step()
        times.append((time.perf_counter() - t0) * 1000)
    extra = {}
    if prof:
        prof.__exit__(None, None, None)
        def per_step(e):
            return {'op': e.key, 'ms': round(e.self_cpu_time_total / 1000 / a.steps, 2), 'calls': e.count / a.steps}
        rows = sorted((per_step(e) for e in prof.key_averages() if e.self_cpu_time_total > 0), key=lambda r: -r['ms'])
        in_ops = sum(r['ms'] for r in rows)
        if a.profile_shapes:
            by_shape = [{**per_step(e), 'inputs': [list(s) for s in e.input_shapes]}
                        for e in prof.key_averages(group_by_input_shape=True) if e.self_cpu_time_total > 0]
            extra['profile_by_shape'] = sorted(by_shape, key=lambda r: -r['ms'])
        mean = sum(times) / len(times)
        extra.update({'profile': rows, 'mean_ms_per_step': round(mean, 2), 'kernel_ms': round(in_ops, 2),
                      'other_ms': round(mean - in_ops, 2)})
    times.sort()
    ms = times[0] if a.stat == 'min' else times[len(times) // 2]
    print(json.dumps({
        'engine': 'pytorch',
        'arch': a.arch,
        'mode': a.mode,
        'phase': a.phase,
        'batch': a.batch,
        'width': a.width,
        'ms_per_step': round(ms, 2),
        'images_per_second': round(a.batch * 1000 / ms, 1),
        'peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        'loss': loss,
        'steps': a.steps,
        'threads': torch.get_num_threads(),
        'layout': a.layout,
        'torch': torch.__version__,
        'device': a.device,
        'precision': a.precision,
        **extra,
    }))


if __name__ == '__main__':
    main()
