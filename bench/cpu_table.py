#!/usr/bin/env python
"""The results table at the `cpu` scale: every named recipe, 3 seeds each, on the fast path (the scale's loader),
plus the chapter's baseline and the leaderboard recipe on fastai's stock loader, 3 seeds each, for the comparison.

Runs the jobs as a queue on `--parallel` processes of one thread each (on 2 cores, two runs at once with one
thread each beat one run with two threads: 2 x 220 against 411 img/s for the xresnet18 step at 32 px), longest
first. Each job is one `imagenette-sota train` command; its record is appended to `--out`, its output goes to
a log file. Jobs whose record is already in `--out` are skipped, so an interrupted table continues where it
stopped. Writes the wall time of the whole table, each job's, and the machine to `--json`.

    python bench/cpu_table.py --data ../shared/data/imagenette2-224     # about 75 minutes on 2 cores
    python bench/cpu_table.py --smoke                                    # seconds, on a tiny synthetic dataset
"""
import argparse, json, os, platform, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import torch
from imagenette_sota.train import RECIPES, get_recipe, load_records


def jobs(seeds):
    "(recipe, loader, seed) for the whole table, longest first"
    def cost(name, loader):  # epochs at the final size, stock loader ~1.5x slower per epoch
        r = get_recipe(name, scale='cpu')
        return (r.epochs + (r.ft_epochs + 1 if r.ft_epochs else 0)) * (1.5 if loader == 'fastai' else 1)
    js = [(n, 'cache', s) for n in RECIPES for s in seeds] + [(n, 'fastai', s) for n in ('chapter-baseline', 'leaderboard') for s in seeds]
    return sorted(js, key=lambda j: -cost(j[0], j[1]))


def done(out):
    "The (recipe, loader, seed) of the complete cpu-scale records already in `out`"
    if not Path(out).exists(): return set()
    return {(r['recipe']['name'], r['recipe']['loader'], r['recipe']['seed']) for r in load_records(out)
            if r['status'] == 'complete' and r['recipe'].get('scale') == 'cpu' and not r.get('note')}


def run(job, a, logs):
    name, loader, seed = job
    cmd = [sys.executable, '-m', 'imagenette_sota.cli', 'train', '--recipe', name, '--scale', 'cpu', '--loader', loader,
           '--seed', str(seed), '--out', a.out, '--checkpoints', a.checkpoints, '--workers', '0']
    if a.data: cmd += ['--data', a.data]
    if a.smoke: cmd += ['--bs', '8'] + ([] if RECIPES[name].progressive else ['--epochs', '1'])
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
    log = logs/f"{name}-{loader}-{seed}.log"
    t0 = time.perf_counter()
    with open(log, 'w') as f: rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env).returncode
    s = round(time.perf_counter() - t0, 1)
    print(f"{datetime.now():%H:%M:%S} {name} {loader} seed {seed}: exit {rc}, {s} s ({log})", flush=True)
    return dict(recipe=name, loader=loader, seed=seed, exit=rc, seconds=s, log=str(log))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', default=os.environ.get('IMAGENETTE_SOTA_DATA'), help='dataset folder (default: $IMAGENETTE_SOTA_DATA)')
    p.add_argument('--out', default='results/cpu.jsonl', help='results file the records are appended to')
    p.add_argument('--json', default='bench/cpu_table.json', help='where the timing summary goes')
    p.add_argument('--logs', default='tmp/cpu-logs', help='folder for one log per job')
    p.add_argument('--checkpoints', default='tmp/cpu-checkpoints', help='checkpoint folder (removed per run when it ends)')
    p.add_argument('--parallel', type=int, default=2, help='processes at once, one thread each')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--only', nargs='+', help='run only these recipes (e.g. after a fix), with --loaders')
    p.add_argument('--loaders', nargs='+', default=['cache', 'fastai'], help='with --only: the loaders to run them on')
    p.add_argument('--smoke', action='store_true', help='tiny synthetic data, 1 epoch each: checks the script, measures nothing')
    a = p.parse_args()
    if a.smoke:
        from imagenette_sota.data import make_tiny_imagenette
        tmp = Path(tempfile.mkdtemp())
        a.data, a.out, a.json, a.logs, a.checkpoints = str(make_tiny_imagenette(tmp/'tiny', n_train=8, n_valid=2)), str(tmp/'r.jsonl'), str(tmp/'t.json'), str(tmp/'logs'), str(tmp/'ck')
        a.seeds = [0]
    logs = Path(a.logs); logs.mkdir(parents=True, exist_ok=True)
    todo = [j for j in jobs(a.seeds) if j not in done(a.out) and (not a.only or (j[0] in a.only and j[1] in a.loaders))]
    print(f"{len(todo)} job(s) to run, {a.parallel} at a time, one thread each", flush=True)
    start, t0 = datetime.now(timezone.utc), time.perf_counter()
    with ThreadPoolExecutor(a.parallel) as ex: res = list(ex.map(lambda j: run(j, a, logs), todo))
    wall = round(time.perf_counter() - t0, 1)
    summary = dict(started=start.isoformat(timespec='seconds'), wall_seconds=wall, parallel=a.parallel, threads_per_run=1,
                   jobs=res, failed=sum(r['exit'] != 0 for r in res), data=a.data, out=a.out, smoke=a.smoke,
                   cpu=platform.processor() or platform.machine(), cpus=os.cpu_count(), torch=torch.__version__,
                   python=platform.python_version())
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(summary, indent=1) + '\n')
    print(f"wall time {wall/60:.1f} min for {len(res)} job(s), {summary['failed']} failed; summary in {a.json}")
    return 1 if summary['failed'] else 0


if __name__ == '__main__': sys.exit(main())
