#!/usr/bin/env bash
# Prepare what a GPU machine without network needs, in two ignored folders of this checkout:
#   .whl/       fastai and its small pure-Python dependencies as wheels (the machine has torch, no fastai);
#   .gpu-data/  a 128 px copy of Imagenette packed into one file (~50 MB).
# Then `bench/gpu/job.sh` runs there, with `.whl` and `.gpu-data` carried along.
#   DATA=../shared/data/imagenette2-224 bash bench/gpu/prepare.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${DATA:-${IMAGENETTE_SOTA_DATA:-../shared/data/imagenette2-224}}
SIZE=${SIZE:-128}
PY=${PY:-.venv/bin/python}
mkdir -p .whl .gpu-data
# the GPU machine's python is 3.12 with torch, pandas, matplotlib, scikit-learn, pillow, accelerate already there
$PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp -d .whl \
  fastai==2.8.7 fastcore==1.14.5 fasttransform==0.0.2 fastdownload==0.0.8 fastprogress==1.0.3 plum-dispatch==2.9.0 beartype
name=$(basename "$DATA")-${SIZE}
if [ ! -f .gpu-data/$name.tgz ]; then
  # every image squished to SIZE x SIZE (the packed copy must stay under the 64 MiB a call carries); same layout and names
  $PY - "$DATA" ".gpu-data/$name" "$SIZE" <<'PY'
import sys
from pathlib import Path
from fastai.vision.all import get_image_files, parallel, Image
src, dest, size = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
def squish(f):
    out = dest/f.relative_to(src); out.parent.mkdir(parents=True, exist_ok=True)
    im = Image.open(f).convert('RGB').resize((size, size), Image.BICUBIC)
    im.save(out, format='PNG' if out.suffix.lower() == '.png' else 'JPEG', quality=75)
parallel(squish, get_image_files(src), progress=False)
PY
  tar -C .gpu-data -cf - "$name" | gzip -1 > .gpu-data/$name.tgz
  rm -rf ".gpu-data/$name"
fi
ls -la .whl .gpu-data
du -sh .whl .gpu-data
