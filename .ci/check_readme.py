#!/usr/bin/env python
"""Run every code block of README.md as written, from the repository's root, and check that they leave git's view of it unchanged.

    python .ci/check_readme.py

- A fenced block right after the line `<!-- readme-check: skip REASON -->` is skipped, and REASON is printed: installs,
  and commands that CI runs as steps of their own (mark them in nbs/index.ipynb, which README.md is built from).
- `sh`/`bash`/`shell` blocks run one by one, each in a shell of its own (`bash -eo pipefail`); `python` blocks run in
  order in one Python process, as the notebook ran them.
- The data: `$IMAGENETTE_SOTA_DATA` when it is set, else a tiny synthetic Imagenette in a temporary folder. The image
  cache goes to a temporary folder (`IMAGENETTE_SOTA_CACHE`), matplotlib draws without a display.
Exits non-zero, naming the block's line, if a block fails or if `git status --porcelain` differs afterwards.
"""
import json, os, re, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_re_block = re.compile(r'^```(\w+)[^\n]*\n(.*?)^```', re.M | re.S)
_re_skip = re.compile(r'<!--\s*readme-check:\s*skip\s+(.*?)\s*-->\s*$')
LANGS = {'sh': 'bash', 'bash': 'bash', 'shell': 'bash', 'python': 'python'}

def blocks(text:str) -> list:
    "(line, language, source, reason to skip or None) of each fenced code block of `text`"
    res = []
    for m in _re_block.finditer(text):
        line = text.count('\n', 0, m.start()) + 1
        before = text[:m.start()].rstrip('\n').rsplit('\n', 1)[-1]
        skip = _re_skip.search(before)
        res.append((line, LANGS.get(m[1], m[1]), m[2], skip[1] if skip else None))
    return res

DRIVER = '''
import json, sys
g = {'__name__': '__main__'}
for line, src in json.load(sys.stdin):
    print(f"\\n--- README.md:{line} (python)", flush=True)
    exec(compile(src, f"README.md:{line}", 'exec'), g)
'''

def git_status() -> str: return subprocess.run(['git', 'status', '--porcelain'], cwd=ROOT, capture_output=True, text=True, check=True).stdout

def main():
    todo = blocks((ROOT/'README.md').read_text())
    for line, lang, src, skip in todo:
        if lang not in ('bash', 'python') and not skip: sys.exit(f"check_readme: README.md:{line}: a {lang!r} block; mark it skipped or make it sh/python")
    before, t0 = git_status(), time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, 'IMAGENETTE_SOTA_CACHE': f'{tmp}/cache', 'MPLBACKEND': 'Agg'}
        if not env.get('IMAGENETTE_SOTA_DATA'):
            from imagenette_sota.data import make_tiny_imagenette
            env['IMAGENETTE_SOTA_DATA'] = str(make_tiny_imagenette(n_train=8, n_valid=2))
        print(f"check_readme: {len(todo)} blocks, data {env['IMAGENETTE_SOTA_DATA']}", flush=True)
        for line, lang, src, skip in todo:
            if skip: print(f"--- README.md:{line} ({lang}): skipped: {skip}", flush=True)
            elif lang == 'bash':
                print(f"\n--- README.md:{line} (sh)\n{src.rstrip()}", flush=True)
                if subprocess.run(['bash', '-eo', 'pipefail', '-c', src], cwd=ROOT, env=env).returncode:
                    sys.exit(f"check_readme: FAILED: the sh block at README.md:{line}")
        py = [(line, src) for line, lang, src, skip in todo if lang == 'python' and not skip]
        if subprocess.run([sys.executable, '-c', DRIVER], input=json.dumps(py), text=True, cwd=ROOT, env=env).returncode:
            sys.exit("check_readme: FAILED: a python block (its line is in the traceback above)")
    if (after := git_status()) != before:
        sys.exit(f"check_readme: FAILED: the blocks changed what git sees (commit or ignore what they write):\n"
                 f"before:\n{before or '(clean)'}\nafter:\n{after}")
    print(f"\ncheck_readme: {sum(s is None for *_, s in todo)} blocks ran, {sum(s is not None for *_, s in todo)} skipped, "
          f"git status unchanged, in {time.perf_counter()-t0:.0f} s")

if __name__ == '__main__': main()
