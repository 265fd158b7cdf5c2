#!/usr/bin/env python
"""Which lines of the package the notebooks' tests run: every notebook executed as `nbdev_test` executes it, except
that each exported cell is replaced by the package's module (so the tests call the exported code, not the page's
copy of it), under coverage.py, subprocesses (the command line, `torchrun`) included. Not part of CI. A cell that
patches the page's own globals (`patch.dict(globals(), ...)`) fails here, since the module's function does not see
the patch: such cells are named, and the cells after them still run.

    pip install coverage
    OMP_NUM_THREADS=1 python .ci/coverage_nbs.py        # about 6 minutes on 2 cores; prints coverage's report
"""
import os, re, subprocess, sys, tempfile
from pathlib import Path


def run_one(fn):
    "Run notebook `fn` as nbdev_test does, exported cells taken from the package; True when no cell failed"
    from nbdev.process import NBProcessor
    from nbdev.frontmatter import FrontmatterProc
    from execnb.shell import CaptureShell
    from fastcore.xtras import working_directory
    from nbdev.config import get_config
    os.environ['IN_TEST'] = '1'
    skip = set(get_config().tst_flags.split())  # the cells nbdev_test skips (settings.ini)
    nb = NBProcessor(fn, procs=FrontmatterProc, process=True).nb
    mod = next((m.group(1) for c in nb.cells if (m := re.search(r'^#\|\s*default_exp\s+(\S+)', c.source, re.M))), None)
    def no_eval(cell):
        if cell.cell_type != 'code' or 'nbdev_export(' in cell.source: return True
        d = getattr(cell, 'directives_', {}) or {}
        if d.get('eval:', [''])[0].lower() == 'false' or skip & d.keys(): return True
        if exp := d.keys() & {'export', 'exports', 'exporti'}:  # the module's names in place of the cell's own definitions
            m = (d[exp.pop()] or [mod])[0]
            cell.source = (f"import importlib as _il\n_m = _il.import_module('imagenette_sota.{m}')\n"
                           "globals().update({k: v for k, v in vars(_m).items() if not k.startswith('__') "
                           "and (k not in globals() or getattr(v, '__module__', None) == _m.__name__)})")
    k = CaptureShell(fn)
    with working_directory(fn.parent): k.run_all(nb, exc_stop=False, preproc=no_eval)  # a failing cell: the later ones still run
    errs = [o for c in nb.cells for o in c.get('outputs', []) if o.get('output_type') == 'error']
    for o in errs: sys.stderr.write(f"{fn.name}: a cell failed under this harness: {o.get('ename')}: {o.get('evalue')}\n")
    return not errs


def main():
    root = Path(__file__).resolve().parent.parent
    if len(sys.argv) > 2 and sys.argv[1] == '--one': return 0 if run_one(Path(sys.argv[2]).resolve()) else 1
    d = Path(tempfile.mkdtemp(prefix='coverage_nbs_'))
    rc = d/'coveragerc'
    rc.write_text(f"[run]\nsource = imagenette_sota\nparallel = True\npatch = subprocess\ndata_file = {d}/.coverage\n"
                  "[report]\nshow_missing = True\nomit = */_modidx.py\n")
    nbs = sorted(p for p in (root/'nbs').glob('*.ipynb') if not p.name.startswith(('_', '.')))
    for fn in nbs:
        r = subprocess.run([sys.executable, '-m', 'coverage', 'run', f'--rcfile={rc}', __file__, '--one', str(fn)], cwd=root)
        print(f"{fn.name}: {'ok' if r.returncode == 0 else 'a cell failed (see above)'}", flush=True)
    subprocess.run([sys.executable, '-m', 'coverage', 'combine', f'--rcfile={rc}', '-q'], cwd=root, check=True)
    return subprocess.run([sys.executable, '-m', 'coverage', 'report', f'--rcfile={rc}'], cwd=root).returncode


if __name__ == '__main__': sys.exit(main())
