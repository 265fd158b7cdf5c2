#!/usr/bin/env python
"""Benchmark: wall time of running one notebook top to bottom, as a reader would (`jupyter nbconvert --execute`).

Flagged cells run too (nbconvert knows nothing of nbdev's test flags): this is the notebook with its full
experiment, at the scale of the machine it runs on. Set IMAGENETTE_SOTA_DATA to a real copy of Imagenette.
Prints the figure and writes it as JSON, with the machine, versions and commit.

    IMAGENETTE_SOTA_DATA=PATH/TO/imagenette2-224 python bench/time_notebook.py nbs/40_tta.ipynb --out bench/tta-notebook-cpu.json
"""
import argparse, json, os, platform, subprocess, sys, tempfile, time
from datetime import datetime, timezone
from pathlib import Path

import torch, fastai

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('notebook')
    p.add_argument('--out', help='write the result as JSON here')
    p.add_argument('--timeout', type=int, default=3600, help='seconds before a cell is stopped')
    a = p.parse_args(argv)
    data = os.environ.get('IMAGENETTE_SOTA_DATA')
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, '-m', 'jupyter', 'nbconvert', '--to', 'notebook', '--execute', a.notebook,
                            '--output', str(Path(d)/'executed.ipynb'), f'--ExecutePreprocessor.timeout={a.timeout}'],
                           capture_output=True, text=True)
        seconds = time.perf_counter() - t0
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()
    res = dict(notebook=a.notebook, ok=r.returncode == 0, seconds=round(seconds, 1), data=Path(data).name if data else None,
               gpu=torch.cuda.is_available(), cpus=os.cpu_count(), device_name=torch.cuda.get_device_name() if torch.cuda.is_available() else platform.machine(),
               torch=torch.__version__, fastai=fastai.__version__, python=platform.python_version(), commit=commit,
               omp_num_threads=os.environ.get('OMP_NUM_THREADS'), finished=datetime.now(timezone.utc).isoformat(timespec='seconds'))
    print(f"{a.notebook}: {'ran' if res['ok'] else 'FAILED'} in {seconds/60:.1f} min ({seconds:.0f} s) | data {res['data']} | "
          f"{'GPU' if res['gpu'] else 'no GPU'}, {res['cpus']} CPUs | torch {res['torch']}, fastai {res['fastai']} | commit {commit}")
    if not res['ok']: print(r.stderr[-3000:], file=sys.stderr)
    if a.out: Path(a.out).write_text(json.dumps(res, indent=1) + '\n'); print(f"wrote {a.out}")
    return 0 if res['ok'] else 1

if __name__ == '__main__': sys.exit(main())
