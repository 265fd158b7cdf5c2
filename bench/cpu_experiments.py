#!/usr/bin/env python
"""The experiments that test the chapter's claims at the `cpu` scale, beside the 5-epoch table (`bench/cpu_table.py`).

Sets, each a queue of `imagenette-sota train` runs (3 seeds each, the fast path, the full official split), resumable
like the table (a run whose recipe already has a complete record in the set's results file is skipped):

- `step`:  chapter-baseline with the step as it was before the faster one (fastai's own Adam, float32): the new
           step's accuracy against the old one's, over the same seeds.
- `noise`: chapter-baseline, label-smoothing and mixup trained on the official noisy labels with 25 % of the training
           labels changed (validation labels clean); `noise-more` adds 5 and 50 %: does each technique's effect grow
           with the noise?
- `long`:  chapter-baseline, mixup and label-smoothing at 20 epochs (the leaderboard's second column), against their
           5-epoch records in the table: from which length does each technique help? `long-more` adds cutmix and
           the leaderboard recipe; `long-80` trains chapter-baseline, mixup and label-smoothing for 80 epochs, the
           length at which the chapter says mixup pays off (label smoothing, it says, also needs longer training);
           `long-80-more` adds cutmix at 80 epochs: does the mixup variant that hurts most at 5 and 20 epochs catch up?
- `tta`:   not a training set: fastai's `tta`, flip, five-crop and ten-crop TTA (`tta_report`) on the full validation
           set, with the models the table's chapter-progressive runs exported, one row per model and method.

    python bench/cpu_experiments.py step noise long tta  # about an hour on 2 cores, in order of priority
    python bench/cpu_experiments.py tta                 # minutes, after the table
    python bench/cpu_experiments.py long --smoke        # seconds, on a tiny synthetic dataset
"""
import json, platform, sys, time
from pathlib import Path

import torch
from cpu_table import job, parser, run_queue, smoke_setup

LONG, NOISY = ('chapter-baseline', 'mixup', 'label-smoothing'), ('chapter-baseline', 'label-smoothing', 'mixup')
SETS = {  # a set's records go to results/cpu-<set>.jsonl; the '-more' sets complete a set in the same file
    'step':       lambda seeds: [job('chapter-baseline', 'cache', s, opt='fastai-adam', bf16=False) for s in seeds],
    'noise':      lambda seeds: [job(n, 'cache', s, noise=25) for n in NOISY for s in seeds],
    'long':       lambda seeds: [job(n, 'cache', s, epochs=20) for s in seeds for n in LONG],  # seed by seed: a cut-short set stays balanced
    'noise-more': lambda seeds: [job(n, 'cache', s, noise=p) for p in (5, 50) for n in NOISY for s in seeds],
    'long-more':  lambda seeds: [job(n, 'cache', s, epochs=20) for n in ('cutmix', 'leaderboard') for s in seeds],
    'long-80':    lambda seeds: [job(n, 'cache', s, epochs=80) for s in seeds for n in LONG],
    'long-80-more': lambda seeds: [job('cutmix', 'cache', s, epochs=80) for s in seeds],
}


def tta_variants(a):
    "`tta_report` on the full validation set for each exported chapter-progressive model; rows written to `a.tta_out`"
    from fastai.learner import load_learner
    from imagenette_sota.train import get_recipe, precision, CPUBFloat16
    from imagenette_sota.fastpath import cache_dls
    from imagenette_sota.tta import tta_report
    torch.set_num_threads(1)
    rows = []
    for fn in sorted(Path(a.models).glob('chapter-progressive-cache-*.pkl')):
        seed = int(fn.stem.split('-')[-1])
        recipe = get_recipe('chapter-progressive', scale='cpu', seed=seed)  # the table's run that exported it
        learn = load_learner(fn)
        learn.dls = cache_dls(recipe, Path(a.data), recipe.ft_bs, recipe.ft_size, progress=False)
        if precision(recipe) == 'bfloat16': learn.add_cb(CPUBFloat16())
        t0 = time.perf_counter()
        rep = tta_report(learn)
        for method, r in rep.iterrows():
            rows.append(dict(model=fn.name, recipe=recipe.name, seed=seed, method=method, forward_passes=int(r.forward_passes),
                             accuracy=float(r.accuracy), seconds=round(float(r.seconds), 3), n_valid=len(learn.dls.valid_ds),
                             size=recipe.ft_size, precision=precision(recipe), threads=1))
        print(f"{fn.name}: {len(rep)} methods in {time.perf_counter() - t0:.0f} s\n{rep.to_string()}", flush=True)
    Path(a.tta_out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.tta_out).write_text(json.dumps(dict(rows=rows, torch=torch.__version__, cpu=platform.processor() or platform.machine(),
                                               data=a.data), indent=1) + '\n')
    print(f"wrote {len(rows)} rows to {a.tta_out}")
    return 0 if rows else 1


def main():
    p = parser(__doc__, None)
    p.add_argument('sets', nargs='+', choices=[*SETS, 'tta'])
    p.add_argument('--only', nargs='+', help="run only these recipes of the sets (e.g. the part a fix does not touch)")
    p.add_argument('--tta-out', default='results/cpu-tta-variants.json', help='where the TTA variants go')
    a = p.parse_args()
    if a.smoke: smoke_setup(a)
    rc = 0
    for name in a.sets:
        if name == 'tta': rc |= tta_variants(a); continue
        b = p.parse_args(sys.argv[1:]); b.__dict__.update(a.__dict__)
        if not a.smoke: b.out = f"results/cpu-{name.split('-')[0]}.jsonl" if a.out == 'results/cpu.jsonl' else a.out
        b.json = a.json or f"bench/cpu_{name.replace('-', '_')}.json"
        rc |= run_queue([j for j in SETS[name](a.seeds) if not a.only or j['recipe'] in a.only], b)
    return rc


if __name__ == '__main__': sys.exit(main())
