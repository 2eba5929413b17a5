#!/usr/bin/env python3
"""Times the PyTorch modules of docs/pytorch.md (src/lib/interop/testdata/stcsnn_torch.py): the STC
quantiser as the docs had it before (q accumulated with torch.where in float64, six temporaries
a step) against the in-place residual form (q = x - V(T)), alone on one activation and inside a
ResNet18 (width 0.25, 28x28x1) evaluation. Prints a table and the ratio; --json for one object.
Not a test (speed never goes in tests) and not a product dependency: it needs /usr/bin/python3
with torch."""
import argparse, json, math, os, statistics, sys, time

try:
    import torch
except ImportError:
    sys.exit("pytorch_module_bench: this script needs torch (python3 -c 'import torch' fails)")

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src", "lib", "interop", "testdata"))
import stcsnn_torch as st  # noqa: E402


class OldStcQuantize(torch.autograd.Function):
    """The docs' previous quantiser, kept here as the reference run."""

    @staticmethod
    def forward(ctx, x, th, strict):
        v = x.double()
        q = torch.zeros_like(v)
        for theta in th:
            s = v > theta if strict else v >= theta
            q = q + torch.where(s, torch.full_like(v, theta), torch.zeros_like(v))
            v = torch.where(s, v - theta, v)
        return q.to(x.dtype)


def timed(fn, reps):
    fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=5, help="timed repetitions (median)")
    ap.add_argument("--batch", type=int, default=100, help="images per evaluation batch")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    try:
        a = ap.parse_args()
    except SystemExit as e:
        raise SystemExit(e.code)
    if a.reps < 1 or a.batch < 1 or a.threads < 1:
        sys.exit("pytorch_module_bench: --reps, --batch and --threads must be >= 1")
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    stc = {"T": 8, "theta0": 0.8, "tau": 2, "schedule": "exp"}
    th = st.thresholds(stc)
    x = torch.randn(a.batch, 16, 28, 28)
    new = st.StcQuantize.apply
    old = OldStcQuantize.apply
    assert torch.equal(new(x, th, False), old(x, th, False)), "the two quantisers disagree"
    rows = {}
    with torch.no_grad():
        rows["quantise [%d,16,28,28]" % a.batch] = (timed(lambda: old(x, th, False), a.reps), timed(lambda: new(x, th, False), a.reps))
        net = st.ResNet18({"width": 0.25, "stc": stc, "mode": "stc", "inputShape": [28, 28, 1], "classes": 10}).eval()
        img = torch.randn(a.batch, 1, 28, 28)
        run_new = lambda: net(img)
        orig = st.StcQuantize.apply
        st.StcQuantize.apply = old
        t_old = timed(lambda: net(img), a.reps)
        st.StcQuantize.apply = orig
        rows["resnet18 w0.25 eval batch %d" % a.batch] = (t_old, timed(run_new, a.reps))
    result = {"torch": torch.__version__, "threads": a.threads, "results": [
        {"what": k, "old_ms": o * 1e3, "new_ms": n * 1e3, "speedup": o / n} for k, (o, n) in rows.items()]}
    if a.json:
        print(json.dumps(result))
        return
    print("%-34s %10s %10s %8s" % ("", "old ms", "new ms", "speedup"))
    for r in result["results"]:
        print("%-34s %10.1f %10.1f %7.1fx" % (r["what"], r["old_ms"], r["new_ms"], r["speedup"]))


if __name__ == "__main__":
    main()
