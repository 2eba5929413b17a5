#!/usr/bin/env bash
# The GPU check of issue 16, for a Linux machine with an NVIDIA GPU, Python torch with CUDA, g++
# and possibly no Node and no network. DIR is made by scripts/prepare-gpu-dir.sh on a machine
# with the repository: node.xz (a Node binary), bundle/ (npm run bundle), libtorch/ (the addon's
# sources, node-addon-api's and Node's headers), bench/pytorch_bench.py, fashion-mnist/ (IDX).
#
#   scripts/gpu-check.sh DIR            # on the GPU machine; everything goes under $OUT (or DIR/out)
#   scripts/gpu-check.sh DIR --dry-run  # here: device cpu, tiny sizes, the whole sequence
#
# Steps, each with its own time check against a 570 s total: build the addon against python3's
# torch; doctor; the native tests with STCSNN_TEST_DEVICE=cuda; ResNet18/VGG16 training steps (batch 32, 128; 32x32) of stcsnn and PyTorch's
# ANN; ResNet18 on Fashion-MNIST with the paper's protocol (T 8, theta0 0.8, SGD, batch 32) for
# the time left (--time-budget). Status: 0 when every step ran; 2 on bad input.
set -u
DIR=$(cd "${1:?usage: gpu-check.sh DIR [--dry-run]}" && pwd)
DRY=0; [ "${2:-}" = "--dry-run" ] && DRY=1
OUT=${OUT:-$DIR/out}; mkdir -p "$OUT"
T0=$(date +%s); TOTAL=${GPU_CHECK_SECONDS:-570}
left() { echo $((TOTAL - ($(date +%s) - T0))); }
log() { echo "[gpu-check $(( $(date +%s) - T0 ))s] $*" | tee -a "$OUT/check.log"; }
PY=${PYTHON:-python3}
if [ $DRY = 1 ]; then DEV=cpu; NODE=${NODE:-$(command -v node)}; else DEV=cuda; NODE=$DIR/node; fi
if [ ! -x "$NODE" ]; then
  [ -f "$DIR/node.xz" ] || { echo "gpu-check: no node.xz in $DIR (run scripts/prepare-gpu-dir.sh)" >&2; exit 2; }
  "$PY" -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'))" "$DIR/node.xz" "$NODE"
  chmod +x "$NODE"
fi
log "node $("$NODE" --version)"
# ---- build the addon against this machine's torch (pip layout) ---------------------------------
read -r TORCH_DIR ABI TV CUDA_V < <("$PY" -c 'import os,torch; print(os.path.dirname(torch.__file__), int(torch._C._GLIBCXX_USE_CXX11_ABI), torch.__version__, torch.version.cuda)') \
  || { echo "gpu-check: $PY cannot import torch" >&2; exit 2; }
log "torch $TV (CUDA $CUDA_V, cxx11 ABI $ABI) at $TORCH_DIR"
B=$DIR/build; mkdir -p "$B"
HAS_CUDA=0; CUDA_LIBS=""
if ls "$TORCH_DIR/lib"/libtorch_cuda.so >/dev/null 2>&1; then HAS_CUDA=1; CUDA_LIBS="-Wl,--no-as-needed -ltorch_cuda -lc10_cuda -Wl,--as-needed"; fi
if [ $DRY = 0 ] && [ $HAS_CUDA = 0 ]; then echo "gpu-check: torch $TV at $TORCH_DIR has no CUDA (no libtorch_cuda.so)" >&2; exit 2; fi
L=$DIR/libtorch
FLAGS="-std=c++17 -O3 -fPIC -fopenmp -fno-trapping-math -ffp-contract=off -Wno-unused-parameter -Wno-deprecated-declarations
 -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -D_GLIBCXX_USE_CXX11_ABI=$ABI -DSTCSNN_HAS_CUDA=$HAS_CUDA
 -I$L/napi -I$L/node-include -I$TORCH_DIR/include -I$TORCH_DIR/include/torch/csrc/api/include"
if [ $DRY = 1 ] && [ -n "${ADDON:-}" ]; then
  cp "$ADDON" "$B/stcsnn_libtorch.node"; log "dry run: using the addon built here ($ADDON)"
else
  pids=()
  for f in addon ops stc alloc; do g++ $FLAGS -c "$L/src/$f.cc" -o "$B/$f.o" > "$OUT/build-$f.log" 2>&1 & pids+=($!); done
  ok=1; for p in "${pids[@]}"; do wait "$p" || ok=0; done
  [ $ok = 1 ] && g++ -shared -fopenmp "$B"/*.o -L"$TORCH_DIR/lib" -Wl,-rpath,"$TORCH_DIR/lib" -ltorch -ltorch_cpu -lc10 $CUDA_LIBS -o "$B/stcsnn_libtorch.node" > "$OUT/build-link.log" 2>&1 || ok=0
  if [ $ok = 0 ]; then log "addon build FAILED (see $OUT/build-*.log)"; tail -5 "$OUT"/build-*.log; exit 1; fi
  log "addon built"
fi
# what the addon was built against, as scripts/install.js records it (lib/native.js compares)
TVH=$(grep -A1 'define TORCH_VERSION ' "$TORCH_DIR/include/torch/csrc/api/include/torch/version.h" | grep -o '"[^"]*"' | head -1 | tr -d '"')
printf '{"source":"gpu-check","version":"%s","libdir":"%s","include":["%s/include"],"abi":%s,"cuda":%s}\n' \
  "${TVH:-${TV%%+*}}" "$TORCH_DIR/lib" "$TORCH_DIR" "$ABI" "$HAS_CUDA" > "$B/libtorch.json"
export STCSNN_LIBTORCH_ADDON=$B/stcsnn_libtorch.node
S="$NODE $DIR/bundle/stcsnn.mjs"
$S doctor --device $DEV --json > "$OUT/doctor.json" 2> "$OUT/doctor.err"; log "doctor: $(head -c 600 "$OUT/doctor.json")"
# ---- the native tests on the device (every kernel and gradient against the CPU) ------------------
if [ $DRY = 1 ]; then TESTS="stc cuda fallback"; else TESTS="stc cuda fallback kernels alloc prepack"; fi
files=(); for t in $TESTS; do files+=("$DIR/bundle/libtorch-test/$t.test.mjs"); done
STCSNN_TEST_DEVICE=$DEV timeout 150 "$NODE" --test --test-reporter=spec "${files[@]}" > "$OUT/native-tests.txt" 2>&1
log "native tests on $DEV (exit $?): $(grep -E '^. (tests|pass|fail|skipped)' "$OUT/native-tests.txt" | tr '\n' ' ')"
# ---- training steps vs PyTorch -----------------------------------------------------------------
if [ $DRY = 1 ]; then BATCHES="4"; ARCHS="resnet18"; STEPS="--steps 2 --warmup 1 --size 16"; else BATCHES="32 128"; ARCHS="resnet18 vgg16"; STEPS="--steps 10 --warmup 3"; fi
for arch in $ARCHS; do for b in $BATCHES; do
  [ "$(left)" -lt 240 ] && { log "bench: skipping $arch batch $b (time)"; continue; }
  s=$(timeout 120 $NODE "$DIR/bundle/run-stcsnn.mjs" --backend libtorch --device $DEV --arch $arch --mode stc --batch $b $STEPS 2>>"$OUT/bench.err" | tail -1)
  p=$(timeout 120 "$PY" "$DIR/bench/pytorch_bench.py" --device $DEV --arch $arch --mode ann --batch $b $STEPS 2>>"$OUT/bench.err" | tail -1)
  echo "{\"stcsnn\":${s:-null},\"pytorch\":${p:-null}}" >> "$OUT/bench.jsonl"
  r=$("$PY" -c 'import json,sys; a,b=(json.loads(x) for x in sys.argv[1:]); print(round(a["ms_per_step"]/b["ms_per_step"],3))' "${s:-null}" "${p:-null}" 2>/dev/null || echo "n/a")
  log "bench $arch batch $b: stcsnn stc $(echo "$s" | grep -o '"ms_per_step": *[0-9.]*') pytorch ann $(echo "$p" | grep -o '"ms_per_step": *[0-9.]*') ratio $r (target <= 1.1)"
done; done
# ---- the paper's Fashion-MNIST protocol for the time left --------------------------------------
BUDGET=$(( $(left) - 100 ))  # the report, and slack
if [ $DRY = 1 ]; then DATA="--dataset fashion-mnist-mini --width 0.125 --limit-train 64 --limit-test 32 --epochs 1"; else DATA="--dataset fashion-mnist --data-dir $DIR/fashion-mnist --epochs 100"
  ls "$DIR"/fashion-mnist/train-images* >/dev/null 2>&1 || DATA="--epochs 100"; fi  # the embedded subset
if [ $BUDGET -gt 30 ]; then
  $S train --backend libtorch --device $DEV --arch resnet18 $DATA --T 8 --theta0 0.8 --batch-size 32 \
    --time-budget $BUDGET --out "$OUT/fmnist-resnet18" --json > "$OUT/train.json" 2> "$OUT/train.err"
  log "train (exit $?): $(head -c 400 "$OUT/train.json")"
  # the curves and figures (SVG; PNG too where @resvg/resvg-js is installed)
  timeout 90 $S report "$OUT/fmnist-resnet18" > "$OUT/report.txt" 2>&1; log "report (exit $?): $OUT/fmnist-resnet18/report.md"
else log "train: no time left"; fi
log "done in $(( $(date +%s) - T0 )) s; output in $OUT"
