#!/usr/bin/env python
"""Reproduce one committed `cpu`-scale record bit for bit: the guard that makes a change of numbers a decision.

Re-runs the chapter baseline on the cache, seed 0, from `results/cpu.jsonl`, with the command that made it (one
thread), and fails if any epoch's losses or accuracy differ from the record's. A run repeats bit for bit only where
it computes the same thing: the same kind of chip (`cpu_isa`, `cpu_model`: oneDNN tunes its kernels to the chip),
precision, thread count and torch version, on the same dataset copy. The record it compares with is the table's, or
the same run made on another kind of chip and kept in `results/reproduce/`; on a machine that matches neither,
the check says how it differs and passes.

    python .ci/reproduce.py                      # the data from $IMAGENETTE_SOTA_DATA
"""
import glob, json, os, subprocess, sys, tempfile
from dataclasses import asdict
from pathlib import Path

import torch
from imagenette_sota.train import get_recipe, load_records, precision, cpu_isa, cpu_model

RESULTS, REFERENCES, NAME, LOADER, SEED = 'results/cpu.jsonl', 'results/reproduce/*.jsonl', 'chapter-baseline', 'cache', 0


def main():
    def runs(*fns): return [r for r in load_records(*fns) if r['status'] == 'complete' and not r.get('note') and r['recipe']['name'] == NAME
                            and r['recipe']['loader'] == LOADER and r['recipe']['seed'] == SEED and r['recipe'].get('scale') == 'cpu']
    if len(table := runs(RESULTS)) != 1:
        sys.exit(f"FAIL: {RESULTS} should hold one {NAME} record on the {LOADER} loader, seed {SEED}; it holds {len(table)}")
    recipe = get_recipe(NAME, scale='cpu', loader=LOADER, seed=SEED)
    data = os.environ.get('IMAGENETTE_SOTA_DATA')
    here = dict(cpu_isa=cpu_isa(), cpu_model=cpu_model(), precision=precision(recipe), threads=1, torch=torch.__version__,
                dataset=Path(data).name if data else None)
    same = [r for r in table + runs(*sorted(glob.glob(REFERENCES))) if all(r.get(k) == v for k, v in here.items())]
    if not same:
        print(f"SKIPPED: neither {RESULTS} nor {REFERENCES} holds this run made on a machine like this one; the table's differs in "
              + ', '.join(f"{k} (record: {a}, here: {b})" for k, v in here.items() if (a := table[0].get(k)) != (b := v)) + "; nothing was checked")
        return 0
    rec = same[0]
    now = {**asdict(recipe), 'dataset': rec['recipe']['dataset']}
    changed = {k: (rec['recipe'].get(k), v) for k, v in now.items() if rec['recipe'].get(k) != v}
    if changed: sys.exit(f"FAIL: the recipe {NAME!r} at the cpu scale is no longer the one the committed record ran "
                         f"({', '.join(f'{k}: {a!r} -> {b!r}' for k, (a, b) in changed.items())}): re-run the table (bench/cpu_table.py)")
    with tempfile.TemporaryDirectory() as d:
        cmd = [sys.executable, '-m', 'imagenette_sota.cli', 'train', '--recipe', NAME, '--scale', 'cpu', '--loader', LOADER,
               '--seed', str(SEED), '--workers', '0', '--data', data, '--out', f'{d}/r.jsonl', '--checkpoints', f'{d}/ck']
        print(' '.join(cmd[1:]), flush=True)
        env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode: sys.exit(f"FAIL: the run exited with {p.returncode}:\n{p.stdout[-3000:]}")
        new = load_records(f'{d}/r.jsonl')[0]
    keys = ('train_loss', 'valid_loss', 'accuracy')
    print(f"{'epoch':>5s} " + ' '.join(f"{k + ' (committed / now)':>38s}" for k in keys))
    bad = []
    for a, b in zip(rec['epoch_log'], new['epoch_log']):
        print(f"{a['epoch'] + 1:5d} " + ' '.join(f"{a[k]:18.10f} / {b[k]:<18.10f}" for k in keys))
        bad += [f"epoch {a['epoch'] + 1} {k}" for k in keys if a[k] != b[k]]
    if len(rec['epoch_log']) != len(new['epoch_log']): bad.append(f"{len(new['epoch_log'])} epochs, not {len(rec['epoch_log'])}")
    if bad: sys.exit(f"FAIL: the committed {NAME} record is not reproduced ({'; '.join(bad)}). A change moved the numbers: "
                     "if that is intended, re-run the table (bench/cpu_table.py) and commit it with the change")
    print(f"reproduced bit for bit: {len(new['epoch_log'])} epochs, the record of {rec['finished']}, top-1 {new['accuracy']:.10f} "
          f"({here['cpu_isa']}, {here['precision']}, 1 thread, torch {here['torch']}, {new['fit_seconds']:.0f} s fit)")
    return 0


if __name__ == '__main__': sys.exit(main())
