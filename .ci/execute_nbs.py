"""Execute notebooks in place, saving their outputs (figures included) for the docs site and README.

Cells flagged with a test flag from settings.ini (`#| slow`, `#| cuda`, `#| notest`) and
`nbdev_export()` cells are skipped, exactly as `nbdev_test` skips them, unless `--flags` names the
flag (`--flags notest` runs the README's command-line demo, which is too slow for a test). Set
IMAGENETTE_SOTA_DATA to a real copy of Imagenette first, so that the saved figures show real images.

    python .ci/execute_nbs.py [--flags notest] nbs/00_data.ipynb [more notebooks ...]
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


def execute(fn, run_flags=()):
    fn = Path(fn).resolve()
    flags = set(get_config().tst_flags.split()) - set(run_flags)
    proc = NBProcessor(fn, procs=FrontmatterProc, process=True)
    directives = [getattr(c, 'directives_', {}) or {} for c in proc.nb.cells]
    nb = read_nb(fn)
    skip = {id(c) for c, d in zip(nb.cells, directives)
            if c.cell_type == 'code' and (flags & d.keys() or 'nbdev_export(' in c.source
                                          or d.get('eval:', [''])[0].lower() == 'false')}
    for c in nb.cells:  # a cell that prints nothing now keeps no output of an earlier run; skipped cells keep theirs
        if c.cell_type == 'code' and id(c) not in skip: c.outputs = []
    shell = CaptureShell(fn)
    shell.set_path(fn.parent)
    cwd = os.getcwd(); os.chdir(fn.parent)
    try: shell.run_all(nb, exc_stop=True, preproc=lambda c: c.cell_type != 'code' or id(c) in skip)
    finally: os.chdir(cwd)
    tidy(nb)
    write_nb(nb, fn)


def _as_terminal(text):
    "What a terminal would show: each line as left by its last carriage return; progress-bar debris dropped, blank lines kept"
    lines = [shown for l in text.split('\n') if (shown := l.split('\r')[-1].rstrip()).strip(' █') or not l.strip()]
    while lines and not lines[-1]: lines.pop()  # no blank lines at the end (the final newline is put back below)
    return '\n'.join(lines) + ('\n' if text.endswith('\n') else '')


def tidy(nb):
    "Streams as a terminal shows them (fastprogress's console bars rewrite lines with \\r), minus torch's import notice"
    for c in nb.cells:
        if c.cell_type != 'code': continue
        for o in c.outputs:
            if o.get('output_type') != 'stream': continue
            t = ''.join(o['text'])
            if o.get('name') == 'stderr': t = re.sub(NOISE, '', t)
            o['text'] = _as_terminal(t).splitlines(True)  # a list of lines, as Jupyter saves them
        c.outputs = [o for o in c.outputs if o.get('output_type') != 'stream' or ''.join(o['text']).strip()]


if __name__ == '__main__':
    if not os.environ.get('IMAGENETTE_SOTA_DATA'):
        print('warning: IMAGENETTE_SOTA_DATA is not set; figures will show synthetic images', file=sys.stderr)
    args, run_flags = sys.argv[1:], []
    if args[:1] == ['--flags']: run_flags, args = args[1].split(), args[2:]
    if args[:1] == ['--tidy']:  # only tidy the saved outputs, without running anything
        for f in args[1:]: nb = read_nb(f); tidy(nb); write_nb(nb, f)
        sys.exit(0)
    for f in args:
        t = time.time(); execute(f, run_flags); print(f'{f}: executed in {time.time()-t:.0f} s')
