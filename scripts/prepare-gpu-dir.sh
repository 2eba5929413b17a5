#!/usr/bin/env bash
# Makes the directory scripts/gpu-check.sh takes (under 64 MiB): node.xz (this machine's Node,
# xz-compressed; gpu-check unpacks it with Python's lzma), bundle/ (npm run bundle), libtorch/
# (the addon's sources, node-addon-api's and Node's N-API headers), bench/pytorch_bench.py,
# fashion-mnist/ (the IDX files from /usr/share/datasets/fashion-mnist), gpu-check.sh.
#   scripts/prepare-gpu-dir.sh DIR
set -eu
DIR=${1:?usage: prepare-gpu-dir.sh DIR}; ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$DIR"/libtorch/napi "$DIR"/libtorch/node-include "$DIR"/bench "$DIR"/fashion-mnist
[ -f "$ROOT/bundle/stcsnn.mjs" ] || (cd "$ROOT" && npm run bundle >/dev/null)
rm -rf "$DIR/bundle" && cp -r "$ROOT/bundle" "$DIR/"
cp -r "$ROOT/packages/libtorch/src" "$DIR/libtorch/"
NAPI=$(cd "$ROOT" && node -p "require('node-addon-api').include_dir")
cp "$NAPI"/napi*.h "$DIR/libtorch/napi/"
NODEINC=/usr/include/node; [ -f $NODEINC/node_api.h ] || NODEINC=$(dirname "$(command -v node)")/../include/node
cp "$NODEINC"/{node_api.h,node_api_types.h,js_native_api.h,js_native_api_types.h} "$DIR/libtorch/node-include/"
cp "$ROOT/bench/pytorch_bench.py" "$DIR/bench/"
if cp /usr/share/datasets/fashion-mnist/* "$DIR/fashion-mnist/" 2>/dev/null; then
  rm -rf "$DIR/bundle/assets"  # the embedded subset: the full set is there (2 MB back)
else
  echo "prepare: no /usr/share/datasets/fashion-mnist; the check will train on the embedded subset" >&2
fi
cp "$ROOT/scripts/gpu-check.sh" "$DIR/"
if [ ! -s "$DIR/node.xz" ]; then
  xz -T2 -6 -c "$(readlink -f "$(command -v node)")" > "$DIR/node.xz.tmp" && mv "$DIR/node.xz.tmp" "$DIR/node.xz"
fi
KIB=$(du -sk "$DIR" | cut -f1)
echo "prepare: $DIR holds $((KIB / 1024)) MiB"
[ "$KIB" -lt $((64 * 1024)) ] || { echo "prepare: over 64 MiB" >&2; exit 1; }
