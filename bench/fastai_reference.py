#!/usr/bin/env python
"""fastai's own code for the chapter's baseline at the `cpu` scale, with nothing from this package: the reference
that `chapter-baseline` on fastai's stock loader (`--scale cpu --loader fastai`) should match within the spread.

It is the book's code with the `cpu` scale's settings: item-level `Resize(49)` (the chapter's 460/224 ratio),
`aug_transforms(size=24, min_scale=0.75)`, no normalization, `xresnet18`, fastai's default Adam,
`fit_one_cycle(5, 3e-3)`, batch 128, on the official split (`GrandparentSplitter(valid_name='val')`).
Prints each epoch and writes the accuracies and times as JSON.

    python bench/fastai_reference.py --data ../shared/data/imagenette2-224 --seeds 0 1 2 --parallel 2 --out bench/fastai-reference-cpu.json

With `--parallel N`, N seeds run at once, each in its own process with `--threads` threads (as `bench/cpu_table.py`
runs the project's table: two runs at once, one thread each, on two cores).
"""
import argparse, json, os, platform, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch, fastai
from fastai.vision.all import *


def run(path, seed, workers):
    set_seed(seed, reproducible=True)
    dblock = DataBlock(blocks=(ImageBlock, CategoryBlock), get_items=get_image_files, get_y=parent_label,
                       splitter=GrandparentSplitter(valid_name='val'),
                       item_tfms=Resize(49), batch_tfms=aug_transforms(size=24, min_scale=0.75))
    dls = dblock.dataloaders(path, bs=128, num_workers=workers)
    learn = Learner(dls, xresnet18(n_out=dls.c), loss_func=CrossEntropyLossFlat(), metrics=accuracy)
    t0 = time.perf_counter()
    with learn.no_bar(): learn.fit_one_cycle(5, 3e-3)
    fit_s = time.perf_counter() - t0
    accs = [float(v[-1]) for v in learn.recorder.values]
    print(f"seed {seed}: top-1 per epoch {[round(a, 4) for a in accs]}, {fit_s:.0f} s", flush=True)
    return dict(seed=seed, accuracy=accs[-1], accuracy_per_epoch=accs, fit_seconds=round(fit_s, 1),
                n_train=len(dls.train_ds), n_valid=len(dls.valid_ds))


def in_processes(a):
    "Each seed in its own process of this script, `a.parallel` at a time; their runs, in the order of `a.seeds`"
    with tempfile.TemporaryDirectory() as d:
        def one(seed):
            out = Path(d)/f'seed{seed}.json'
            subprocess.run([sys.executable, __file__, '--data', a.data, '--seeds', str(seed), '--threads', str(a.threads),
                            '--workers', str(a.workers), '--out', str(out)], check=True, env={**os.environ, 'OMP_NUM_THREADS': str(a.threads)})
            return json.loads(out.read_text())['runs'][0]
        with ThreadPoolExecutor(a.parallel) as ex: return list(ex.map(one, a.seeds))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', default=os.environ.get('IMAGENETTE_SOTA_DATA'), help='dataset folder (default: $IMAGENETTE_SOTA_DATA)')
    p.add_argument('--seeds', type=int, nargs='+', default=[0])
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--workers', type=int, default=0, help='loader processes')
    p.add_argument('--parallel', type=int, default=1, help='seeds run at once, each in its own process')
    p.add_argument('--out', default='bench/fastai-reference-cpu.json')
    a = p.parse_args()
    if not a.data: p.error('give --data or set IMAGENETTE_SOTA_DATA')
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    if a.parallel > 1 and len(a.seeds) > 1: runs = in_processes(a)
    else: runs = [run(Path(a.data), s, a.workers) for s in a.seeds]
    wall = round(time.perf_counter() - t0, 1)
    res = dict(code="fastai's own DataBlock, Learner and fit_one_cycle; see bench/fastai_reference.py",
               settings=dict(arch='xresnet18', item_resize=49, size=24, min_scale=0.75, normalize=None, bs=128,
                             epochs=5, lr=3e-3, schedule='one_cycle', split='official'),
               dataset=Path(a.data).name, runs=runs, threads=torch.get_num_threads(), workers=a.workers, parallel=min(a.parallel, len(a.seeds)),
               wall_seconds=wall,
               device_name=platform.processor() or platform.machine(), torch=torch.__version__, fastai=fastai.__version__,
               python=platform.python_version())
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
    print(f"wrote {a.out}")


if __name__ == '__main__': main()
