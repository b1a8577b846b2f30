#!/usr/bin/env bash
# Issue 10: the lab works when installed as a wheel, with no checkout around it. Builds the wheel from the tracked
# files, installs it into a fresh virtual environment (the CPU build of torch first: a bare `torch` would pull the
# multi-GB CUDA build; the other dependencies come from the package registry), then, from a temporary folder outside
# the repository, runs `digitlab params`, `digitlab predict` on an MNIST test digit and a one-epoch training of the
# `fast` preset on a subset read from --data-dir. Any failing step fails the script. Called by .ci/run after
# `make test`; takes a minute or two, mostly pip.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PY:-python3}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
t0=$SECONDS
step() { echo "wheel_check [$((SECONDS - t0)) s]: $*"; }
fail() { echo "wheel_check: FAILED: $*" >&2; exit 1; }

step "building the wheel from a copy of the source files (a stale build/ folder cannot leak into it)"
mkdir "$tmp/src" "$tmp/dist" "$tmp/work"
cd "$repo"
{ git ls-files -z -- pyproject.toml README.md src && git ls-files -z --others --exclude-standard -- src; } | xargs -0 cp --parents -t "$tmp/src"
isolation=--no-build-isolation  # the lab's .venv has setuptools: no download of build requirements
.venv/bin/python -c "import setuptools" 2>/dev/null || isolation=
.venv/bin/pip wheel --quiet --no-deps $isolation -w "$tmp/dist" "$tmp/src"
wheel=("$tmp"/dist/digitlab-*.whl)
[ -f "${wheel[0]}" ] || fail "no wheel was built"
.venv/bin/python -m zipfile -l "${wheel[0]}" >"$tmp/files.txt"  # to a file: grep -q would close a pipe early (pipefail)
for f in presets/fast.yaml presets/zoo/cnn.yaml presets/search/cnn.yaml assets/default.pt; do
  grep -q "digitlab/$f" "$tmp/files.txt" || fail "the wheel lacks digitlab/$f"
done

step "installing it into a fresh virtual environment"
"$PY" -m venv "$tmp/venv"
bin="$tmp/venv/bin"
"$bin/pip" install --quiet torch==2.13.0
"$bin/pip" install --quiet "${wheel[0]}"

cd "$tmp/work"  # outside the repository: nothing may be found through it
export DIGITLAB_CACHE="$tmp/cache" DIGITLAB_MIRRORS="http://127.0.0.1:9/" MPLBACKEND=Agg  # a download attempt fails at once
unset DIGITLAB_DATA DIGITLAB_DB DIGITLAB_RUNS DIGITLAB_MODELS PYTHONPATH
where="$("$bin/python" -c 'import digitlab; print(digitlab.__file__)')"
[[ "$where" == "$tmp/venv/"* ]] || fail "digitlab was imported from $where, not from the installed wheel"

step "digitlab params"
"$bin/digitlab" params >params.txt
grep -q "Peak learning rate" params.txt || fail "digitlab params did not list the parameters"

step "digitlab predict on an MNIST test digit (a 7, dark on light, 4x enlarged)"
"$bin/python" - "$repo/data/mnist/t10k-images-idx3-ubyte.gz" digit.png <<'EOF'
import sys

from PIL import Image

from digitlab.data import read_idx

images = read_idx(sys.argv[1])  # (10000, 28, 28) uint8, white digit on black; test image 0 is a 7
Image.fromarray(255 - images[0]).resize((112, 112), Image.LANCZOS).save(sys.argv[2])
EOF
"$bin/digitlab" predict digit.png --json | tee predict.json
"$bin/python" -c 'import json; d = json.load(open("predict.json")); assert d["text"] == "7", d' || fail "predict did not read the 7"

step "digitlab train --config fast, one epoch on 1,000 images from --data-dir"
"$bin/digitlab" --data-dir "$repo/data/mnist" --runs-dir runs train --config fast name=wheel epochs=1 train_subset=1000 val_size=500 \
  threads=1 --no-plots
[ -f runs/wheel/weights/best.pt ] || fail "the training run left no best.pt"
[ ! -e "$tmp/cache/data" ] || fail "training tried to download the data instead of reading --data-dir"

step "passed in $((SECONDS - t0)) s"
