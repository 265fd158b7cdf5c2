#!/usr/bin/env python
"""Benchmark: fastai's stock data pipeline against the fast path (GPU-resident cache), in one process.

Runs, with the same recipe, image size, batch size and epochs:
  1. stock:   `get_dls` (files decoded by CPU workers every epoch) + the recipe's learner;
  2. fast:    `get_fast_dls` (decoded once into a uint8 cache on the device) + `fast_settings`
              (bf16 autocast, channels-last, optionally torch.compile; nothing on the CPU);
  3. ceiling: the model step alone (forward, backward, the recipe's own fastai optimiser step) on a
              synthetic batch that is already on the device, with the fast path's settings, plus the
              forward passes of the validation images: the best an epoch (training and validation) could
              be with this recipe. The same step with torch's AdamW (one fused update instead of fastai's
              per-parameter Python loop) is reported beside it, to show what the optimiser costs.
With `--step-variants`: the fast path with the step as version 0.4 had it (fastai's Adam, float32), each change of
the faster step alone, and both, each against its own ceiling, and the loaders alone (one epoch of batches made and
augmented with no model): how much of an epoch beyond the ceiling is the data.
It prints a table (s/epoch, img/s, fit s, top-1, ratio to stock, ratio to ceiling) and writes it as JSON,
with the device, torch and fastai versions. One-time costs (building the cache, compiling) are measured and
reported in their own columns, never inside the epoch times.

    python bench/fastpath.py --data ~/data/imagenette2-128 --size 128 --epochs 5 --bs 256 --lr 8e-3 --out bench/fastpath-h200.json
    python bench/fastpath.py --scale cpu --recipe chapter-baseline --epochs 2 --threads 1 --workers 0 --out bench/fastpath-cpu.json
    python bench/fastpath.py --scale cpu --recipe chapter-baseline --epochs 2 --threads 1 --step-variants --out bench/step-cpu.json
    # bench/step-cpu-loader.json: the same, re-run later with the loaders timed too
    python bench/fastpath.py --smoke      # seconds on a CPU, on a tiny synthetic dataset: checks the script, measures nothing
"""
import argparse, contextlib, json, os, platform, statistics, tempfile, time
from pathlib import Path

import torch
import fastai
from fastai.vision.all import *
from imagenette_sota.data import get_dls, make_tiny_imagenette, find_data, presize_for
from imagenette_sota.train import Recipe, get_recipe, make_learner, EpochLog, precision, cpu_isa
from imagenette_sota.fastpath import get_fast_dls, fast_settings
from fastai.callback.channelslast import ChannelsLast


def sync():
    if torch.cuda.is_available(): torch.cuda.synchronize()


def fit(learn, recipe):
    "Fit with the recipe's schedule; return (fit seconds, epoch log, final top-1)"
    log = EpochLog(); learn.add_cb(log)
    sync(); t0 = time.perf_counter()
    with learn.no_bar(), learn.no_logging():
        (learn.fit_flat_cos if recipe.schedule == 'flat_cos' else learn.fit_one_cycle)(
            recipe.epochs, recipe.lr, **({} if recipe.wd is None else dict(wd=recipe.wd)))
    sync(); fit_s = time.perf_counter() - t0
    learn.remove_cb(log)
    return fit_s, log.epochs, float(log.epochs[-1]['accuracy'])


def warm_up(learn):
    "One forward and backward pass on a real batch (compiles a compiled model); weights and state restored after"
    sd = {k: v.clone() for k, v in learn.model.state_dict().items()}
    xb, yb = (t.as_subclass(torch.Tensor) for t in learn.dls.train.one_batch())
    if any(isinstance(cb, ChannelsLast) for cb in learn.cbs): xb = xb.contiguous(memory_format=torch.channels_last)
    sync(); t0 = time.perf_counter()
    learn.model.train()
    with torch.autocast('cuda', dtype=torch.bfloat16, enabled=torch.cuda.is_available()):
        loss = learn.loss_func(learn.model(xb), yb)
    loss.backward(); learn.model.zero_grad(set_to_none=True)
    sync(); s = time.perf_counter() - t0
    learn.model.load_state_dict(sd)
    return s


def ceiling(recipe, n_out, bs, size, n_train, compile, steps, n_valid=0, opt_func=None, bf16=None):
    "Images per second of the model step alone, on a synthetic batch already on the device; an epoch of it, validation pass included"
    "`opt_func`: a fastai optimiser (the recipe's learner's `opt_func`, fastai's defaults); None: torch's AdamW"
    "`bf16`: autocast to bfloat16 with channels-last weights (default: on CUDA; on the CPU as the recipe's learner does)"
    dev = default_device()
    model = getattr(fastai.vision.all, recipe.arch)(n_out=n_out, act_cls=Mish if recipe.act == 'mish' else nn.ReLU).to(dev)
    cuda = torch.cuda.is_available()
    bf16 = (cuda or precision(recipe) == 'bfloat16') if bf16 is None else bf16
    if bf16: model = model.to(memory_format=torch.channels_last)
    if cuda and compile: model = torch.compile(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3) if opt_func is None else opt_func(list(model.parameters()), lr=1e-3)
    x = torch.randn(bs, 3, size, size, device=dev)
    if bf16: x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, n_out, (bs,), device=dev)
    def step():
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(model(x).float(), y)
        loss.backward(); opt.step(); opt.zero_grad()
    sync(); t0 = time.perf_counter(); step(); sync(); first = time.perf_counter() - t0   # includes compiling
    for _ in range(2): step()
    sync(); t0 = time.perf_counter()
    for _ in range(steps): step()
    sync(); s = (time.perf_counter() - t0) / steps
    ips = bs / s
    model.eval()  # the validation pass of an epoch: forward only, no gradients
    with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
        for _ in range(2): model(x)
        sync(); t0 = time.perf_counter()
        for _ in range(steps): model(x)
        sync(); ev = bs * steps / (time.perf_counter() - t0)
    return dict(img_per_s=ips, eval_img_per_s=ev, train_s_per_epoch=n_train / ips, s_per_epoch=n_train / ips + n_valid / ev,
                first_step_s=first)


def fast_run(a, recipe, data, run=0):
    "One fit of `recipe` on the fast path: (its row, the learner)"
    set_seed(recipe.seed + run, reproducible=False)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() if a.smoke else contextlib.nullcontext() as cdir:
        dls = get_fast_dls(recipe.bs, recipe.size, path=data, presize=a.presize, min_scale=recipe.min_scale,
                           aug='chapter' if recipe.aug == 'presize' else 'crop_flip', normalize=recipe.normalize, seed=recipe.seed + run, progress=not a.smoke, cache_dir=cdir)
        cache_s = dls.cache.build_seconds or 0.0
        dls.cache.on(dls.device); sync()
        load_s = time.perf_counter() - t0
        learn = fast_settings(make_learner(recipe.replace(fp16=False), dls), bf16=recipe.bf16, compile=a.compile)
        warm_s = warm_up(learn)
        fit_s, epochs, acc = fit(learn, recipe)
    return dict(path='fast', run=run, bs=recipe.bs, lr=recipe.lr, fit_s=fit_s, epochs=epochs, top1=acc, one_time_s=load_s + warm_s,
                cache_build_s=cache_s, warmup_s=warm_s, n_train=len(dls.train_ds), n_valid=len(dls.valid_ds)), learn


def loader_epoch(dls):
    "Seconds of one epoch of the loaders alone (every training and validation batch made, augmented, and dropped; no model)"
    sync(); t0 = time.perf_counter()
    for dl in (dls.train, dls.valid):
        for _ in dl: pass
    sync(); return time.perf_counter() - t0


def step_variants(a, recipe, data, env):
    "The fast path with the step as it was (fastai's Adam, float32), each change alone, and both; each against its own ceiling"
    variants = [('fastai-adam', False), ('adam', False)] + ([('fastai-adam', True), ('adam', True)] if precision(recipe.replace(bf16=True)) == 'bfloat16' else [])
    table = []
    for opt, bf16 in variants:
        r = recipe.replace(opt=opt, bf16=bf16)
        row, learn = fast_run(a, r, data)
        ceil = ceiling(r, 10, r.bs, r.size, row['n_train'], a.compile, a.steps, row['n_valid'], opt_func=learn.opt_func, bf16=precision(r) == 'bfloat16')
        spe, load = statistics.mean(e['seconds'] for e in row['epochs']), loader_epoch(learn.dls)
        table.append(t := dict(opt=opt, precision=precision(r), s_per_epoch=spe, ceiling_s_per_epoch=ceil['s_per_epoch'], x_ceiling=spe / ceil['s_per_epoch'],
                               loader_s_per_epoch=load, x_ceiling_and_loader=spe / (ceil['s_per_epoch'] + load),
                               top1=row['top1'], fit_s=row['fit_s'], epochs=row['epochs'], ceiling=ceil))
        print(f"{opt:12s} {t['precision']:9s} {spe:8.2f} s/epoch  ceiling {t['ceiling_s_per_epoch']:7.2f}  x{t['x_ceiling']:.2f} of it  "
              f"loader alone {load:5.2f}  x{t['x_ceiling_and_loader']:.2f} of both  top-1 {100*row['top1']:.2f} %", flush=True)
    for t in table: t['x_today'] = table[0]['s_per_epoch'] / t['s_per_epoch']
    print(f"\n{env['device_name']} ({env['cpu_isa']}) | torch {env['torch']} | {env['threads']} thread(s) | {env['dataset']} {env['split']} split, "
          f"{a.size} px, batch {a.bs}, {a.epochs} epochs, recipe {recipe.name}, fast path" + (' | SMOKE RUN: measures nothing' if a.smoke else ''))
    print(f"{'optimizer':12s} {'precision':9s} {'s/epoch':>8s} {'speed-up':>8s} {'ceiling':>8s} {'/ceiling':>8s} {'loader':>8s} {'/both':>8s} {'top-1':>8s}")
    for t in table:
        print(f"{t['opt']:12s} {t['precision']:9s} {t['s_per_epoch']:8.2f} {t['x_today']:7.2f}x {t['ceiling_s_per_epoch']:8.2f} {t['x_ceiling']:7.2f}x "
              f"{t['loader_s_per_epoch']:8.2f} {t['x_ceiling_and_loader']:7.2f}x {100*t['top1']:7.2f}%")
    res = dict(env=env, step_variants=table)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(res, indent=1, default=str))
        print(f"wrote {a.out}")
    return res


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', help='dataset folder (default: $IMAGENETTE_SOTA_DATA or download)')
    p.add_argument('--recipe', default='leaderboard')
    p.add_argument('--scale', choices=('gpu', 'cpu'), default='gpu', help="the recipe's scale (see the training page)")
    p.add_argument('--size', type=int, default=None, help="final image size (default: the recipe's at --scale)")
    p.add_argument('--presize', type=int, default=None, help="item resize / cache side (default: the chapter's 460/224 x size)")
    p.add_argument('--epochs', type=int, default=5)
    p.add_argument('--bs', type=int, default=None, help="batch size, the same for all three (default: the recipe's)")
    p.add_argument('--threads', type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument('--lr', type=float, help='learning rate (default: the recipe\'s)')
    p.add_argument('--stock-bs', type=int, help='batch size of the stock run (default: --bs)')
    p.add_argument('--stock-lr', type=float, help='learning rate of the stock run (default: the recipe\'s)')
    p.add_argument('--workers', type=int, default=None, help='stock loader processes (default: fastai\'s)')
    p.add_argument('--compile', action='store_true', help='torch.compile the fast path and the ceiling (CUDA only)')
    p.add_argument('--runs', type=int, default=1)
    p.add_argument('--steps', type=int, default=20, help='timed steps for the ceiling')
    p.add_argument('--skip-stock', action='store_true')
    p.add_argument('--step-variants', action='store_true', help="the fast path's step as it was (fastai's Adam, float32), each change alone and both, each against its own ceiling")
    p.add_argument('--out', default=None, help='write the table as JSON here')
    p.add_argument('--smoke', action='store_true', help='tiny synthetic data, xresnet18, 32 px, 1 epoch: checks the script on a CPU')
    a = p.parse_args(argv)

    if a.threads: torch.set_num_threads(a.threads)
    recipe = get_recipe(a.recipe, scale=a.scale)
    a.size, a.bs = a.size or recipe.size, a.bs or recipe.bs
    n_per_class = None
    if a.smoke:
        data = make_tiny_imagenette(n_train=4, n_valid=2)
        recipe = recipe.replace(arch='xresnet18', size=32, epochs=1, bs=8, fp16=False)
        a.size, a.epochs, a.bs, a.steps, a.presize = 32, 1, 8, 2, 40
    else:
        data = find_data(recipe.dataset, a.data)
        recipe = recipe.replace(size=a.size, epochs=a.epochs, bs=a.bs, **({'lr': a.lr} if a.lr else {}))
    torch.backends.cudnn.benchmark = True
    env = dict(device=str(default_device()), device_name=torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or platform.machine(),
               cpus=os.cpu_count(), torch=torch.__version__, fastai=fastai.__version__, python=platform.python_version(),
               dataset=Path(data).name, split=recipe.split, size=a.size, epochs=a.epochs, bs=a.bs, recipe=recipe.name,
               lr=recipe.lr, compile=a.compile, smoke=a.smoke, runs=a.runs, scale=recipe.scale, arch=recipe.arch,
               presize=presize_for(a.size, a.presize), threads=torch.get_num_threads(), stock_workers=a.workers, cpu_isa=cpu_isa(),
               precision=precision(recipe))
    rows = []

    if not a.skip_stock and not a.step_variants:
        sr = recipe.replace(**({'bs': a.stock_bs} if a.stock_bs else {}), **({'lr': a.stock_lr} if a.stock_lr else {}))
        for run in range(a.runs):
            set_seed(sr.seed + run, reproducible=False)
            dls = get_dls(sr.bs, sr.size, path=data, presize=a.presize, min_scale=sr.min_scale, aug=sr.aug, normalize=sr.normalize,
                          n_per_class=n_per_class, seed=sr.seed + run, num_workers=a.workers)
            learn = make_learner(sr, dls)
            fit_s, epochs, acc = fit(learn, sr)
            rows.append(dict(path='stock', run=run, bs=sr.bs, lr=sr.lr, fit_s=fit_s, epochs=epochs, top1=acc, one_time_s=0.0,
                             n_train=len(dls.train_ds)))

    if a.step_variants: return step_variants(a, recipe, data, env)
    for run in range(a.runs):
        row, learn = fast_run(a, recipe, data, run)
        rows.append(row)

    n_train, n_valid = rows[-1]['n_train'], rows[-1]['n_valid']
    ceil = ceiling(recipe, 10, recipe.bs, recipe.size, n_train, a.compile, a.steps, n_valid, opt_func=learn.opt_func)
    torch_opt = ceiling(recipe, 10, recipe.bs, recipe.size, n_train, a.compile, a.steps, n_valid)

    table = []
    for path in ('stock', 'fast'):
        rs = [r for r in rows if r['path'] == path]
        if not rs: continue
        spe = [statistics.mean(e['seconds'] for e in r['epochs']) for r in rs]
        top = [r['top1'] for r in rs]
        table.append(dict(path=path, runs=len(rs), bs=rs[0]['bs'], lr=rs[0]['lr'], s_per_epoch=statistics.mean(spe),
                          img_per_s=rs[0]['n_train'] / statistics.mean(spe), fit_s=statistics.mean(r['fit_s'] for r in rs),
                          top1_mean=statistics.mean(top), top1_sd=statistics.stdev(top) if len(top) > 1 else None,
                          one_time_s=statistics.mean(r['one_time_s'] for r in rs)))
    table.append(dict(path='ceiling (model step)', runs=1, bs=recipe.bs, lr=None, s_per_epoch=ceil['s_per_epoch'],
                      img_per_s=ceil['img_per_s'], fit_s=None, top1_mean=None, top1_sd=None, one_time_s=ceil['first_step_s']))
    table.append(dict(path='model step, torch AdamW', runs=1, bs=recipe.bs, lr=None, s_per_epoch=torch_opt['s_per_epoch'],
                      img_per_s=torch_opt['img_per_s'], fit_s=None, top1_mean=None, top1_sd=None, one_time_s=torch_opt['first_step_s']))
    stock = next((t for t in table if t['path'] == 'stock'), None)
    for t in table:
        t['x_stock'] = stock['s_per_epoch'] / t['s_per_epoch'] if stock else None
        t['x_ceiling'] = t['s_per_epoch'] / ceil['s_per_epoch']

    def f(v, fmt):
        return '—' if v is None else format(v, fmt)
    print(f"\n{env['device_name']} | torch {env['torch']} | fastai {env['fastai']} | {env['dataset']} {env['split']} split, "
          f"{a.size} px, {a.epochs} epochs, recipe {recipe.name}" + (' | SMOKE RUN: measures nothing' if a.smoke else ''))
    print(f"{'path':24s} {'runs':>4s} {'bs':>5s} {'s/epoch':>8s} {'img/s':>8s} {'fit s':>7s} {'top-1':>13s} {'one-time s':>10s} {'speed-up':>8s} {'/ceiling':>8s}")
    for t in table:
        top = '—' if t['top1_mean'] is None else f"{100*t['top1_mean']:.2f}" + ('' if t['top1_sd'] is None else f" ± {100*t['top1_sd']:.2f}") + ' %'
        print(f"{t['path']:24s} {t['runs']:4d} {t['bs']:5d} {t['s_per_epoch']:8.2f} {t['img_per_s']:8.0f} {f(t['fit_s'], '7.1f'):>7s} "
              f"{top:>13s} {t['one_time_s']:10.1f} {f(t['x_stock'], '7.2f')+'x' if t['x_stock'] else '—':>8s} {t['x_ceiling']:7.2f}x")
    res = dict(env=env, table=table, runs=rows, ceiling=ceil, ceiling_torch_adamw=torch_opt)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(res, indent=1, default=str))
        print(f"wrote {a.out}")
    return res


if __name__ == '__main__':
    main()
