"""Execute notebooks in place, saving their outputs (figures included) for the docs site and README.

Cells flagged with a test flag from settings.ini (`#| slow`, `#| cuda`, ...) and `nbdev_export()`
cells are skipped, exactly as `nbdev_test` skips them. Set IMAGENETTE_SOTA_DATA to a real copy
of Imagenette first, so that the saved figures show real images.

    python .ci/execute_nbs.py nbs/00_data.ipynb [more notebooks ...]
"""
import os, re, sys, time
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
from fastcore.basics import str2bool
from nbdev.config import get_config
from nbdev.process import NBProcessor
from nbdev.frontmatter import FrontmatterProc


NOISE = r"\S*torch/jit/_script.py:\d+: FutureWarning: `torch.jit.script` is deprecated.*\n\s*warnings.warn\(\n"


def execute(fn):
    fn = Path(fn).resolve()
    flags = set(get_config().tst_flags.split())
    proc = NBProcessor(fn, procs=FrontmatterProc, process=True)
    directives = [getattr(c, 'directives_', {}) or {} for c in proc.nb.cells]
    nb = read_nb(fn)
    skip = {id(c) for c, d in zip(nb.cells, directives)
            if c.cell_type == 'code' and (flags & d.keys() or 'nbdev_export(' in c.source
                                          or d.get('eval:', [''])[0].lower() == 'false')}
    shell = CaptureShell(fn)
    shell.set_path(fn.parent)
    cwd = os.getcwd(); os.chdir(fn.parent)
    try: shell.run_all(nb, exc_stop=True, preproc=lambda c: c.cell_type != 'code' or id(c) in skip)
    finally: os.chdir(cwd)
    for c in nb.cells:  # torch's deprecation notice about fastai's import says nothing about this project
        if c.cell_type != 'code': continue
        for o in c.outputs:
            if o.get('name') == 'stderr': o['text'] = re.sub(NOISE, '', ''.join(o['text']))
        c.outputs = [o for o in c.outputs if o.get('name') != 'stderr' or ''.join(o['text']).strip()]
    write_nb(nb, fn)


if __name__ == '__main__':
    if not os.environ.get('IMAGENETTE_SOTA_DATA'):
        print('warning: IMAGENETTE_SOTA_DATA is not set; figures will show synthetic images', file=sys.stderr)
    for f in sys.argv[1:]:
        t = time.time(); execute(f); print(f'{f}: executed in {time.time()-t:.0f} s')
