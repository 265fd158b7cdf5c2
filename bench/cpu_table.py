#!/usr/bin/env python
"""The results table at the `cpu` scale: every named recipe, 3 seeds each, on the fast path (the scale's loader),
plus the chapter's baseline and the leaderboard recipe on fastai's stock loader, 3 seeds each, for the comparison.

Runs the jobs as a queue on `--parallel` processes of one thread each (on 2 cores, two runs at once with one
thread each beat one run with two threads: 2 x 220 against 411 img/s for the xresnet18 step at 32 px), longest
first. Each job is one `imagenette-sota train` command; its record is appended to `--out`, its output goes to
a log file. A job whose recipe (every setting, seed included) already has a complete record in `--out` is skipped,
so an interrupted table continues where it stopped. Writes the wall time of the whole table, each job's, and the
machine to `--json` (a resumed table keeps its earlier sessions' timings there, under `earlier`). The models of the recipes measured with TTA are exported to `--models`, for the TTA variants
of `bench/cpu_experiments.py`.

    python bench/cpu_table.py --data ../shared/data/imagenette2-224     # about 40 minutes on 2 cores
    python bench/cpu_table.py --smoke                                    # seconds, on a tiny synthetic dataset
"""
import argparse, json, os, platform, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import torch
from imagenette_sota.train import RECIPES, get_recipe, load_records, cpu_isa


def job(name, loader, seed, **settings):
    "One run: a named recipe at the cpu scale on `loader` with `seed`, and other recipe settings"
    return dict(recipe=name, loader=loader, seed=seed, settings=settings)


def recipe_of(j):
    "The recipe a job runs, as its record stores it (without the dataset's name)"
    return {k: v for k, v in asdict(get_recipe(j['recipe'], scale='cpu', loader=j['loader'], seed=j['seed'], **j['settings'])).items() if k != 'dataset'}


def cost(j):
    "Epochs at the final size, the stock loader ~1.5x slower per epoch: the queue runs the longest first"
    r = get_recipe(j['recipe'], scale='cpu', **j['settings'])
    return (r.epochs + (r.ft_epochs + 1 if r.ft_epochs else 0)) * (1.5 if j['loader'] == 'fastai' else 1)


def table_jobs(seeds):
    "The whole table"
    return ([job(n, 'cache', s) for n in RECIPES for s in seeds]
            + [job(n, 'fastai', s) for n in ('chapter-baseline', 'leaderboard') for s in seeds])


def done(out):
    "The recipes (every setting) of the complete records in `out` that are results (no note)"
    if not Path(out).exists(): return []
    return [{k: v for k, v in r['recipe'].items() if k != 'dataset'} for r in load_records(out) if r['status'] == 'complete' and not r.get('note')]


def run(j, a, logs):
    name, loader, seed, settings = j['recipe'], j['loader'], j['seed'], j['settings']
    cmd = [sys.executable, '-m', 'imagenette_sota.cli', 'train', '--recipe', name, '--scale', 'cpu', '--loader', loader,
           '--seed', str(seed), '--out', a.out, '--checkpoints', a.checkpoints, '--workers', '0']
    if a.smoke: settings = {'bs': 8, 'ft_bs': 8, **({} if RECIPES[name].progressive else {'epochs': 1}), **settings}
    if settings: cmd += ['--settings', *(f'{k}={v}' for k, v in settings.items())]
    if a.data: cmd += ['--data', a.data]
    tag = '-'.join([name, loader, str(seed), *(f'{k}{v}' for k, v in j['settings'].items())])
    if a.models and RECIPES[name].tta: cmd += ['--export', f"{a.models}/{tag}.pkl"]
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
    log = logs/f"{tag}.log"
    t0 = time.perf_counter()
    with open(log, 'w') as f: rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env).returncode
    s = round(time.perf_counter() - t0, 1)
    print(f"{datetime.now():%H:%M:%S} {tag}: exit {rc}, {s} s ({log})", flush=True)
    return dict(j, exit=rc, seconds=s, log=str(log))


def run_queue(jobs, a):
    "Run the jobs not done yet, longest first, `a.parallel` at a time; write the summary to `a.json`; exit status 1 if any failed"
    logs = Path(a.logs); logs.mkdir(parents=True, exist_ok=True)
    if a.models: Path(a.models).mkdir(parents=True, exist_ok=True)
    have = done(a.out)
    todo = sorted((j for j in jobs if recipe_of(j) not in have), key=lambda j: -cost(j))
    print(f"{len(todo)} of {len(jobs)} job(s) to run, {a.parallel} at a time, one thread each", flush=True)
    start, t0 = datetime.now(timezone.utc), time.perf_counter()
    with ThreadPoolExecutor(a.parallel) as ex: res = list(ex.map(lambda j: run(j, a, logs), todo))
    wall = round(time.perf_counter() - t0, 1)
    summary = dict(started=start.isoformat(timespec='seconds'), wall_seconds=wall, parallel=a.parallel, threads_per_run=1,
                   jobs=res, failed=sum(r['exit'] != 0 for r in res), data=a.data, out=a.out, smoke=a.smoke,
                   cpu=platform.processor() or platform.machine(), cpu_isa=cpu_isa(), cpus=os.cpu_count(), torch=torch.__version__,
                   python=platform.python_version())
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    if Path(a.json).exists() and not a.smoke:  # a resumed set: keep the earlier sessions' timings beside this one
        old = json.loads(Path(a.json).read_text())
        summary['earlier'] = old.pop('earlier', []) + [old]
    Path(a.json).write_text(json.dumps(summary, indent=1) + '\n')
    print(f"wall time {wall/60:.1f} min for {len(res)} job(s), {summary['failed']} failed; summary in {a.json}")
    return 1 if summary['failed'] else 0


def parser(doc, json_default):
    p = argparse.ArgumentParser(description=doc.split('\n')[0])
    p.add_argument('--data', default=os.environ.get('IMAGENETTE_SOTA_DATA'), help='dataset folder (default: $IMAGENETTE_SOTA_DATA)')
    p.add_argument('--out', default='results/cpu.jsonl', help='results file the records are appended to')
    p.add_argument('--json', default=json_default, help='where the timing summary goes')
    p.add_argument('--logs', default='tmp/cpu-logs', help='folder for one log per job')
    p.add_argument('--checkpoints', default='tmp/cpu-checkpoints', help='checkpoint folder (removed per run when it ends)')
    p.add_argument('--models', default='tmp/cpu-models', help='folder where the models of the recipes measured with TTA are exported')
    p.add_argument('--parallel', type=int, default=2, help='processes at once, one thread each')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--smoke', action='store_true', help='tiny synthetic data, 1 epoch each: checks the script, measures nothing')
    return p


def smoke_setup(a):
    "Tiny synthetic data (with a file of noisy labels that changes every fourth training label) and temporary outputs"
    import pandas as pd
    from imagenette_sota.data import make_tiny_imagenette
    tmp = Path(tempfile.mkdtemp()); tiny = make_tiny_imagenette(tmp/'tiny', n_train=8, n_valid=2)
    fs = sorted(f.relative_to(tiny) for f in tiny.glob('*/*/*'))
    pd.DataFrame([dict(path=str(f), **{f'noisy_labels_{p}': 'n03028079' if i % 4 == 0 else f.parent.name for p in (5, 25, 50)},
                       is_valid=f.parts[0] == 'val') for i, f in enumerate(fs)]).to_csv(tiny/'noisy_imagenette.csv', index=False)
    a.data, a.out, a.json, a.logs, a.checkpoints, a.models = (str(tiny), str(tmp/'r.jsonl'),
                                                              str(tmp/'t.json'), str(tmp/'logs'), str(tmp/'ck'), str(tmp/'models'))
    a.seeds = [0]


def main():
    p = parser(__doc__, 'bench/cpu_table.json')
    p.add_argument('--only', nargs='+', help='run only these recipes (e.g. after a fix), with --loaders')
    p.add_argument('--loaders', nargs='+', default=['cache', 'fastai'], help='with --only: the loaders to run them on')
    a = p.parse_args()
    if a.smoke: smoke_setup(a)
    jobs = [j for j in table_jobs(a.seeds) if not a.only or (j['recipe'] in a.only and j['loader'] in a.loaders)]
    return run_queue(jobs, a)


if __name__ == '__main__': sys.exit(main())
