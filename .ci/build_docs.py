#!/usr/bin/env python
"""Build README.md and the documentation site from the notebooks in `nbs/`, offline and without quarto.

Run from the repository root:

    python .ci/build_docs.py                # README.md + README_files/ + site/
    python .ci/build_docs.py --readme-only  # README.md + README_files/ only
    python .ci/build_docs.py --serve        # build, then serve site/ on http://127.0.0.1:8000/

Steps:
1. `nbdev.serve.proc_nbs(force=True)` writes processed notebooks to `_proc/` (hidden and
   export-only cells removed, `show_doc` rendered to markdown). It never calls quarto. To render
   `show_doc`, nbdev runs each notebook's import, export and show_doc cells; here cells flagged with a
   test flag (`#| slow`, `#| cuda`, ...) are never run, even when they hold an import.
   (`--readme-only` processes `index.ipynb` alone, with the same nbdev processors.)
2. The quarto-only syntax left in `_proc/` is turned into plain markdown/HTML: the YAML title
   block becomes `# Title` + `> summary`; `#| echo: false` / `#| output: false` /
   `#| include: false` become cell tags; other `#|` options are dropped; pandoc attributes
   (`[x](url){target="_blank"}`) become HTML; `::: {.callout-*}` become admonitions;
   cross-links to the docs host and links to `*.ipynb` become relative `.html` links; headings
   that nbdev links point at (`#counter.inc`) get that id. The cleaned notebooks are written to
   `_proc/_site_src/`, each named after the page nbdev gives it (`00_data.ipynb` -> `data.html`).
3. README.md at the repository root: `python -m nbconvert --to markdown` on the cleaned
   `index.ipynb` (links to other pages point at their notebooks, `nbs/*.ipynb`, which open on a code host
   and in a clone alike), blank lines squeezed;
   figures go to `README_files/`. Both are generated: never edit them by hand.
4. `_proc/mkdocs.yml` is generated (Material theme, mkdocs-jupyter, local MathJax 2.7 from the
   `jupyter-server-mathjax` package) and `mkdocs build --strict` writes `site/`. Nothing in the
   site loads anything from outside it; `python .ci/check_site.py` proves that.

Exits non-zero, naming the step, if any step fails.
"""
import argparse, html, json, os, posixpath, re, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROC = ROOT/'_proc'
SRC = PROC/'_site_src'       # mkdocs docs_dir: cleaned notebooks + assets
SITE = ROOT/'site'
MKDOCS_YML = PROC/'mkdocs.yml'
MATHJAX_DIR = 'assets/mathjax'  # inside the site
# MathJax 2.7's combined config, the Safe extension, and our font config (the package only ships STIX-Web fonts)
MATHJAX_CONFIG = 'TeX-AMS-MML_HTMLorMML-full,Safe,local/offline-fonts'

class StepError(Exception): pass

try:
    from nbdev.config import get_config
    from nbdev.processors import FilterDefaults, exec_show_docs
except ImportError as e:
    sys.exit(f'build_docs: FAILED: cannot import nbdev ({e}): pip install -e ".[dev]"')

class exec_show_docs_unflagged(exec_show_docs):
    """nbdev's `exec_show_docs`, except that cells flagged with a test flag (`#| slow`, `#| cuda`, ...) never run:
    nbdev would run a flagged cell that mixes an import with other code, a whole training run for example."""
    def __call__(self, cell):
        if cell.cell_type == 'code' and set(get_config().get('tst_flags', '').split()) & set(cell.directives_): return
        return super().__call__(cell)

class DocsFilter(FilterDefaults):
    "nbdev's processors for the docs, with `exec_show_docs_unflagged` (defined here, so spawned workers can unpickle it)"
    def base_procs(self): return [exec_show_docs_unflagged if p is exec_show_docs else p for p in super().base_procs()]

def log(msg): print(f'build_docs: {msg}', flush=True)

# ----------------------------------------------------------------------------- settings

def read_settings():
    from configparser import ConfigParser
    cp = ConfigParser(delimiters=['='])
    if not cp.read(ROOT/'settings.ini', encoding='utf-8'): raise StepError(f'no settings.ini in {ROOT}')
    cfg = cp['DEFAULT']
    host = cfg.get('doc_host', '').rstrip('/')
    base = cfg.get('doc_baseurl', '').strip('/')
    cfg_d = dict(cfg)
    cfg_d['doc_url'] = f'{host}/{base}/' if base else f'{host}/'
    return cfg_d

def nbs_path(cfg): return ROOT/cfg.get('nbs_path', 'nbs')

def page_of(nb_rel:str) -> str:
    "The html page nbdev gives a notebook (same rule as `nbdev.doclinks._nbpath2html`): `sub/10_foo.ipynb` -> `sub/foo.html`"
    d, name = posixpath.split(nb_rel)
    name = re.sub(r'^\d+[a-zA-Z0-9]*_', '', name.lower())
    return posixpath.join(d, posixpath.splitext(name)[0] + '.html')

# ----------------------------------------------------------------------------- step 1: nbdev processing

def _ignored_re(nbs:Path):
    "Regexes for folders/files under nbs/ that git ignores (model checkpoints, results, data), so proc_nbs doesn't copy them"
    try:
        out = subprocess.run(['git', 'ls-files', '--others', '--ignored', '--exclude-standard', '--directory', '.'],
                             cwd=nbs, capture_output=True, text=True, check=True).stdout.split('\n')
    except Exception: return {}
    dirs  = sorted({Path(o.rstrip('/')).name for o in out if o.endswith('/')})
    files = sorted({Path(o).name for o in out if o and not o.endswith('/') and not o.endswith('.ipynb')})
    res = {}
    if dirs:  res['skip_folder_re'] = '^[_.]|^(' + '|'.join(map(re.escape, dirs)) + ')$'
    if files: res['skip_file_re'] = '^(' + '|'.join(map(re.escape, files)) + ')$'
    return res

def step_proc(cfg, readme_only:bool, workers:int):
    nbs = nbs_path(cfg)
    from importlib.metadata import entry_points
    if not any(ep.name == cfg['lib_path'] for ep in entry_points(group='nbdev')):
        log(f'warning: {cfg["lib_name"]} is not installed (pip install -e ".[dev]"): links to its own symbols will be missing')
    if not (nbs/'index.ipynb').exists(): raise StepError(f'{nbs/"index.ipynb"} is missing: it is the README and home page')
    if readme_only:
        # Same processors as proc_nbs, on index.ipynb alone (in this process: no workers to spawn)
        import nbdev.serve_drv
        PROC.mkdir(exist_ok=True)
        nbdev.serve_drv.main((nbs/'index.ipynb', PROC/'index.ipynb', DocsFilter))
        return
    import nbdev.serve
    from nbdev.serve import proc_nbs
    # What proc_nbs hands its workers for each notebook. Taken from this file imported as a module, not from
    # `__main__`: a worker's `__main__` is replaced by IPython's once it has run a notebook's cells.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import build_docs
    nbdev.serve.FilterDefaults = build_docs.DocsFilter
    kw = _ignored_re(nbs)
    try: proc_nbs(force=True, n_workers=workers, **kw)
    except Exception as e:
        # the worker's traceback comes back as text in __cause__: keep its exception lines
        tb = str(e.__cause__ or '')
        errs = [l for l in tb.splitlines() if re.match(r'^[\w.]+(Error|Exception|Exit|Interrupt)\b', l)]
        raise StepError(f'{e}\n' + ''.join(f'  caused by: {l}\n' for l in errs) +
            '  nbdev runs the import, export and show_doc cells of each notebook to render the docs, and only those:\n'
            '  a cell that mixes an import with other code runs without the cells before it (nbdev warns\n'
            '  "Found cells containing imports and other code" above). Keep imports in cells of their own.') from None
    missing = [p for p in nb_list(nbs) if not (PROC/p).exists()]
    if missing: raise StepError(f'nbdev did not write {", ".join(missing)} to _proc/')

def nb_list(nbs:Path):
    "Notebooks in nbs/ as posix paths relative to it, in notebook-number order (index first)"
    res = []
    for p in sorted(nbs.rglob('*.ipynb')):
        rel = p.relative_to(nbs)
        if any(o.startswith(('.', '_')) for o in rel.parts): continue
        res.append(rel.as_posix())
    return sorted(res, key=lambda o: (o != 'index.ipynb', o.count('/'), o))

# ----------------------------------------------------------------------------- step 2: quarto syntax clean-up

_re_fence = re.compile(r'^(\s*)(`{3,}|~{3,})')
_re_attr_link = re.compile(r'(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]+)(\s+"[^"]*")?\)\{([^{}]*)\}')
_re_md_link = re.compile(r'(\]\()([^)\s]+)')
_re_html_url = re.compile(r'''(\b(?:href|src)=)(["'])(.*?)\2''')
_re_attr = re.compile(r'''([\w-]+)=("[^"]*"|'[^']*'|[^\s"']+)|\.([\w-]+)|#([\w.:-]+)''')
_re_callout = re.compile(r'^\s*:::+\s*\{?\s*\.callout-(\w+)[^}]*\}?\s*$')
_re_div_open = re.compile(r'^\s*:::+\s*\{[^}]*\}\s*$|^\s*:::+\s*[\w-]+\s*$')
_re_div_close = re.compile(r'^\s*:::+\s*$')
_re_heading = re.compile(r'^(#{1,6})\s+(.+?)\s*#*\s*$')
_callout2adm = {'note':'note', 'tip':'tip', 'warning':'warning', 'caution':'warning', 'important':'danger'}

def _html_attrs(s:str) -> str:
    "pandoc attributes `{.cls #id key=val}` as an html attribute string"
    cls, res = [], []
    for k, v, c, i in _re_attr.findall(s):
        if c: cls.append(c)
        elif i: res.append(f'id="{i}"')
        elif k:
            v = v[1:-1] if v[:1] in '"\'' else v
            res.append(f'{k}="{v}"')
    if cls: res.insert(0, f'class="{" ".join(cls)}"')
    return (' ' + ' '.join(res)) if res else ''

class Linker:
    "Rewrites links of one page: docs-host URLs and `*.ipynb` links to the right `.html` page"
    def __init__(self, cfg, pages:dict, page:str, absolute:bool, src_prefix:str=''):
        self.doc_url, self.pages, self.page, self.absolute = cfg['doc_url'], pages, page, absolute
        self.nb_dir = posixpath.dirname(next((k for k,v in pages.items() if v == page), ''))
        self.src_prefix = src_prefix  # for README: relative assets are under nbs/
        self.unknown = []

    def _to_page(self, target:str) -> str:
        "`target` is a page path relative to the site root (with optional #frag)"
        if self.absolute:  # README: link the page's notebook, which opens on a code host and in a clone alike
            nb = {v: k for k, v in self.pages.items()}.get(target.split('#')[0])
            return self.src_prefix + nb if nb else self.doc_url + target
        return posixpath.relpath(target.split('#')[0], posixpath.dirname(self.page) or '.') + \
               (('#' + target.split('#', 1)[1]) if '#' in target else '')

    def __call__(self, url:str) -> str:
        if url.startswith(self.doc_url):
            rest = url[len(self.doc_url):]
            return self._to_page(rest or 'index.html')
        if re.match(r'^[a-zA-Z][\w+.-]*:|^#|^/', url): return url
        path, frag = (url.split('#', 1) + [''])[:2]
        frag = ('#' + frag) if frag else ''
        if path.endswith('.ipynb'):
            nb = posixpath.normpath(posixpath.join(self.nb_dir, path))
            if nb in self.pages: return self._to_page(self.pages[nb] + frag)
            self.unknown.append(url)
            return url
        if self.absolute and path.endswith('.html'):  # a page of the docs, linked by its html name
            return self._to_page(posixpath.normpath(posixpath.join(self.nb_dir, path)) + frag)
        if self.src_prefix and path: return self.src_prefix + posixpath.normpath(posixpath.join(self.nb_dir, path)) + frag
        return url

def _slug(text:str) -> str:
    "Heading id as python-markdown's toc and mkdocs-jupyter make it"
    plain = html.unescape(re.sub(r'<[^>]+>', '', text))
    plain = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', plain).replace('`', '').replace('*', '')
    return re.sub(r'[-\s]+', '-', re.sub(r'[^\w\s-]', '', plain).strip().lower())

def _toc_heading(line:str, toc:set) -> str:
    """Make a markdown heading's id the same in the page and in the page's table of contents. mkdocs-jupyter
    drops inline code from the headings it builds the table of contents from (`## What `x` does` -> `#what-does`),
    and numbers repeated headings only there (`#tests_1`): write the code as html and anchor repeats."""
    h = _re_heading.match(line)
    if not h: return line
    text = re.sub(r'`([^`]+)`', lambda m: f'<code>{html.escape(m.group(1))}</code>', h.group(2))
    slug = _slug(text)
    if slug in toc:
        n = 1
        while f'{slug}_{n}' in toc: n += 1
        slug = f'{slug}_{n}'
        text = f'<span id="{slug}"></span>{text}'
    toc.add(slug)
    return f'{h.group(1)} {text}'

def clean_md(src:str, link, heading_ids:bool=False, toc:set=None) -> str:
    "Quarto/pandoc-only markdown -> plain markdown/HTML, outside fenced code"
    out, fence = [], None
    for line in src.split('\n'):
        m = _re_fence.match(line)
        if fence:
            if m and m.group(2)[0] == fence[0] and len(m.group(2)) >= len(fence): fence = None
            out.append(line); continue
        if m: fence = m.group(2); out.append(line); continue
        if (c := _re_callout.match(line)):
            kind = c.group(1).lower()
            t = re.search(r'title="([^"]*)"', line)
            title = html.escape(t.group(1) if t else kind.capitalize())
            out += ['', f'<div class="admonition {_callout2adm.get(kind, "note")}" markdown="1">',
                    f'<p class="admonition-title">{title}</p>', '']; continue
        if _re_div_open.match(line): out += ['', '<div markdown="1">', '']; continue
        if _re_div_close.match(line): out += ['', '</div>', '']; continue
        def attr_link(m):
            bang, text, url, title, attrs = m.groups()  # url is rewritten with the other html urls below
            t = f' title={title.strip()}' if title else ''
            if bang: return f'<img src="{url}" alt="{text}"{t}{_html_attrs(attrs)}>'
            return f'<a href="{url}"{t}{_html_attrs(attrs)}>{text}</a>'
        line = _re_attr_link.sub(attr_link, line)
        line = _re_md_link.sub(lambda m: m.group(1) + link(m.group(2)), line)
        line = _re_html_url.sub(lambda m: m.group(1) + m.group(2) + link(m.group(3)) + m.group(2), line)
        if toc is not None: line = _toc_heading(line, toc)
        if heading_ids and (h := _re_heading.match(line)):
            text = h.group(2)
            plain = re.sub(r'<[^>]+>|[`*]', '', text).strip()
            anchor = plain.lower()
            slug = re.sub(r'[-\s]+', '-', re.sub(r'[^\w\s-]', '', plain).strip().lower())
            # nbdev's links point at `#counter.inc`; the heading's own id would be `counterinc`
            if anchor != slug and ' ' not in anchor: line = f'{h.group(1)} <span id="{anchor}"></span>{text}'
        out.append(line)
    return '\n'.join(out)

def _src(cell) -> str:
    s = cell.get('source', '')
    return ''.join(s) if isinstance(s, list) else s

_re_directive = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')
_opt2tag = {('echo', 'false'): 'remove_input', ('output', 'false'): 'remove_output', ('include', 'false'): 'remove_cell'}

def clean_nb(nb:dict, link, warn, site:bool=True) -> dict:
    "Clean one processed notebook (as json dict) in place"
    toc = set() if site else None  # heading ids of the markdown cells, as the table of contents numbers them
    nb.setdefault('metadata', {})
    nb['metadata'].setdefault('language_info', {'name': 'python'})  # code fences and highlighting know the language
    if (w := nb['metadata'].pop('widgets', None)):
        state = next(iter(w.values()), {}).get('state') if isinstance(w, dict) else None
        if state: warn('ipywidgets state dropped (widgets need an online widget manager)')
    cells = []
    for i, cell in enumerate(nb['cells']):
        src, ct = _src(cell), cell['cell_type']
        if i == 0 and ct == 'raw' and src.lstrip().startswith('---'):
            import yaml
            fm = yaml.safe_load(src.strip().strip('-')) or {}
            title, desc = fm.get('title'), fm.get('description')
            md = (f'# {title}\n' if title else '') + (f'\n> {desc}\n' if desc else '')
            if md: cells.append({'cell_type':'markdown', 'metadata':{}, 'source':clean_md(md, link, toc=toc)})
            continue
        if ct == 'raw': cells.append(cell); continue
        if ct == 'markdown':
            cell['source'] = clean_md(src, link, toc=toc)
            cells.append(cell); continue
        # code cell: quarto cell options -> tags, other `#|` lines dropped
        lines, tags = src.split('\n'), []
        while lines and (m := _re_directive.match(lines[0])):
            tag = _opt2tag.get((m.group(1).lower(), m.group(2).lower()))
            if tag: tags.append(tag)
            lines.pop(0)
        cell['source'] = '\n'.join(lines).strip('\n')
        if 'remove_cell' in tags: continue
        if tags: cell.setdefault('metadata', {})['tags'] = sorted(set(cell.get('metadata', {}).get('tags', []) + tags))
        for o in cell.get('outputs', []):
            md = o.get('data', {}).get('text/markdown')
            if md is not None:
                md = ''.join(md) if isinstance(md, list) else md
                o['data']['text/markdown'] = clean_md(md, link, heading_ids=True)
        if not cell['source'] and not cell.get('outputs'): continue
        cells.append(cell)
    nb['cells'] = cells
    return nb

def step_clean(cfg, readme_only:bool):
    nbs = nbs_path(cfg)
    nb_rels = ['index.ipynb'] if readme_only else nb_list(nbs)
    pages = {rel: page_of(rel) for rel in nb_list(nbs)}
    seen = {}
    for rel, page in pages.items():
        if page in seen: raise StepError(f'{rel} and {seen[page]} would both become {page}: rename one')
        seen[page] = rel
    if SRC.exists(): shutil.rmtree(SRC)
    SRC.mkdir(parents=True)
    nav, problems = [], []
    for rel in nb_rels:
        nb = json.loads((PROC/rel).read_text(encoding='utf-8'))
        page = pages[rel]
        fm_title = _fm_title(nb)
        for absolute in ([True] if readme_only else [True, False]) if rel == 'index.ipynb' else [False]:
            link = Linker(cfg, pages, page, absolute=absolute, src_prefix=(nbs.relative_to(ROOT).as_posix() + '/') if absolute else '')
            warn = lambda m, rel=rel: print(f'build_docs: warning: {rel}: {m}', flush=True)
            out = clean_nb(json.loads(json.dumps(nb)), link, warn, site=not absolute)
            for u in link.unknown: problems.append(f'{rel}: link to a notebook that does not exist: {u}')
            dest = (PROC/'README.ipynb') if absolute else (SRC/page).with_suffix('.ipynb')
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(json.dumps(out, indent=1, ensure_ascii=False), encoding='utf-8')
        if not fm_title: problems.append(f'{rel}: no H1 title (start the notebook with a "# Title" markdown cell)')
        nav.append((fm_title or page, page))
    if problems: raise StepError('\n  ' + '\n  '.join(problems))
    if not readme_only:  # images and other files that notebooks refer to (proc_nbs copied them to _proc/)
        for p in PROC.rglob('*'):
            rel = p.relative_to(PROC)
            if p.is_dir() or rel.parts[0].startswith(('_', '.')) or p.suffix in ('.ipynb', '.qmd') or p.name in _quarto_files: continue
            (SRC/rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, SRC/rel)
    return nav

_quarto_files = {'_quarto.yml', '_brand.yml', 'nbdev.yml', 'sidebar.yml', 'custom.yml'}

def _fm_title(nb):
    c = nb['cells'][0] if nb['cells'] else None
    if c and c['cell_type'] == 'raw':
        m = re.search(r'^title:\s*(.+)$', _src(c), re.MULTILINE)
        if m:
            import yaml
            return str(yaml.safe_load('t: ' + m.group(1))['t'])
    return None

# ----------------------------------------------------------------------------- step 3: README

def _squeeze(md:str) -> str:
    "Collapse runs of blank lines outside fenced code; strip trailing spaces"
    out, fence, blank = [], None, False
    for line in md.split('\n'):
        m = _re_fence.match(line)
        if fence:
            if m and m.group(2)[0] == fence[0] and len(m.group(2)) >= len(fence): fence = None
            out.append(line); continue
        if m: fence = m.group(2)
        if not line.strip():
            if blank or not out: continue
            blank = True; out.append(''); continue
        blank = False
        out.append(line.rstrip())
    return '\n'.join(out).strip('\n') + '\n'

def step_readme(cfg):
    tmp = PROC/'_readme'
    if tmp.exists(): shutil.rmtree(tmp)
    tmp.mkdir()
    run([sys.executable, '-m', 'nbconvert', '--to', 'markdown', str(PROC/'README.ipynb'),
         '--output', 'README', '--output-dir', str(tmp),
         '--TagRemovePreprocessor.enabled=True',
         '--TagRemovePreprocessor.remove_input_tags=remove_input',
         '--TagRemovePreprocessor.remove_all_outputs_tags=remove_output',
         '--TagRemovePreprocessor.remove_cell_tags=remove_cell'], 'nbconvert')
    md = (tmp/'README.md').read_text(encoding='utf-8')
    (ROOT/'README.md').write_text(_squeeze(md), encoding='utf-8')
    if (ROOT/'README_files').exists(): shutil.rmtree(ROOT/'README_files')
    if (tmp/'README_files').exists(): shutil.copytree(tmp/'README_files', ROOT/'README_files')

# ----------------------------------------------------------------------------- step 4: mkdocs site

MATHJAX_FONTS_JS = '''\
/* Offline fonts: jupyter-server-mathjax ships only the STIX-Web web fonts (the same settings the
   Jupyter notebook uses), so never look for the TeX web fonts or the image fonts. */
MathJax.Hub.Config({
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null,
               linebreaks: {automatic: true}},  /* long equations wrap instead of running off the page */
  SVG: {font: "STIX-Web"},
  menuSettings: {renderer: "HTML-CSS"},
  /* The hidden MathML copy kept for screen readers (AssistiveMML) declares the TeX web fonts for \\mathcal,
     \\mathfrak and similar; the package does not ship them: use locally installed fonts only, never request them. */
  NativeMML: {styles: {
    "@font-face /*1*/": {"font-family": "MathJax_Caligraphic-WEB", src: "local('MathJax_Caligraphic')"},
    "@font-face /*2*/": {"font-family": "MathJax_Caligraphic-WEB", "font-weight": "bold", src: "local('MathJax_Caligraphic Bold')"},
    "@font-face /*3*/": {"font-family": "MathJax_AMS-WEB", src: "local('MathJax_AMS')"},
    "@font-face /*4*/": {"font-family": "MathJax_Script-WEB", src: "local('MathJax_Script')"},
    "@font-face /*5*/": {"font-family": "MathJax_Fraktur-WEB", src: "local('MathJax_Fraktur')"},
    "@font-face /*6*/": {"font-family": "MathJax_Fraktur-WEB", "font-weight": "bold", src: "local('MathJax_Fraktur Bold')"}
  }}
});
MathJax.Ajax.loadComplete("[MathJax]/config/local/offline-fonts.js");
'''

EXTRA_CSS = '''\
/* notebook pages inside Material for MkDocs */
.jupyter-wrapper a code { color: var(--md-typeset-a-color); }
.jupyter-wrapper .jp-OutputArea-output img { max-width: 100%; height: auto; }
.jupyter-wrapper .jp-RenderedMarkdown hr { margin: 1.5em 0 .5em; }
.jupyter-wrapper .jp-Cell { padding-left: 0; padding-right: 0; }
/* long code lines wrap inside their box instead of running past it */
.jupyter-wrapper .jp-InputArea pre, .jupyter-wrapper .jp-OutputArea pre, .md-typeset pre > code { white-space: pre-wrap; overflow-wrap: anywhere; }
'''

def step_site(cfg, nav):
    import jupyter_server_mathjax
    mj = Path(jupyter_server_mathjax.__file__).parent/'static'
    if not (mj/'MathJax.js').exists(): raise StepError(f'MathJax not found in {mj} (pip install jupyter-server-mathjax)')
    shutil.copytree(mj, SRC/MATHJAX_DIR)
    (SRC/MATHJAX_DIR/'config'/'local').mkdir(parents=True, exist_ok=True)
    (SRC/MATHJAX_DIR/'config'/'local'/'offline-fonts.js').write_text(MATHJAX_FONTS_JS)
    (SRC/'assets'/'extra.css').write_text(EXTRA_CSS)
    extra = {'generator': False}
    if cfg.get('git_url'): extra['social'] = [{'icon': 'fontawesome/brands/github', 'link': cfg['git_url'], 'name': 'Source on GitHub'}]
    conf = {
        'site_name': cfg.get('title') or cfg['lib_name'],
        'site_description': cfg.get('description', ''),
        'copyright': 'Copyright ' + cfg.get('copyright', '').replace('%(author)s', cfg.get('author', '')),
        'docs_dir': SRC.name, 'site_dir': os.path.relpath(SITE, PROC),
        'use_directory_urls': False,   # pages open from file:// too
        'theme': {'name': 'material', 'font': False,   # no Google Fonts
                  'features': ['navigation.top', 'content.code.copy', 'search.highlight'],
                  'palette': {'scheme': 'default', 'primary': 'indigo'}},
        # no repo_url: Material would call the GitHub API from every page
        'extra': extra,
        'extra_css': ['assets/extra.css'],
        'plugins': ['search', {'mkdocs-jupyter': {
            'include': ['*.ipynb'], 'execute': False, 'include_requirejs': False, 'no_prompt': True,
            'ignore_h1_titles': False, 'cache': False, 'toc_depth': 3,
            # relative to each page; pages in subfolders are fixed after the build
            'custom_mathjax_url': f'{MATHJAX_DIR}/MathJax.js?config={MATHJAX_CONFIG}',
            'remove_tag_config': {'remove_input_tags': ['remove_input'], 'remove_all_outputs_tags': ['remove_output'],
                                  'remove_cell_tags': ['remove_cell']}}}],
        'nav': [{title: page.replace('.html', '.ipynb')} for title, page in nav],
        'validation': {'nav': {'omitted_files': 'ignore'}},
    }
    import yaml
    MKDOCS_YML.write_text('# Generated by .ci/build_docs.py: edit that script, not this file\n' + yaml.safe_dump(conf, sort_keys=False, allow_unicode=True))
    if SITE.exists(): shutil.rmtree(SITE)
    run([sys.executable, '-m', 'mkdocs', 'build', '--strict', '--clean', '-f', str(MKDOCS_YML)], 'mkdocs build')
    # MathJax is linked relative to the site root: fix the prefix for pages in subfolders
    for p in SITE.rglob('*.html'):
        depth = len(p.relative_to(SITE).parts) - 1
        if depth and not p.relative_to(SITE).parts[0] == 'assets':
            s = p.read_text(encoding='utf-8')
            p.write_text(s.replace(f'src="{MATHJAX_DIR}/', f'src="{"../"*depth}{MATHJAX_DIR}/'), encoding='utf-8')
    missing = [page for _, page in nav if not (SITE/page).exists()]
    if missing: raise StepError(f'mkdocs did not write {", ".join(missing)}')

# ----------------------------------------------------------------------------- driver

def run(cmd, what):
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if r.returncode:
        raise StepError(f'{what} exited with {r.returncode}:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}')
    return r

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--readme-only', action='store_true', help='build README.md (and README_files/) only')
    ap.add_argument('--serve', nargs='?', const=8000, type=int, metavar='PORT',
                    help='then serve site/ on http://127.0.0.1:PORT (default 8000) until Ctrl-C')
    ap.add_argument('--workers', type=int, default=max(1, (os.cpu_count() or 2)//2),
                    help='processes for nbdev notebook processing (default: half the CPUs)')
    args = ap.parse_args()
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))  # the package imports from the checkout (spawned workers inherit sys.path)
    t0, times = time.time(), []
    def step(name, f, *a):
        t = time.time()
        log(f'{name} ...')
        try: res = f(*a)
        except StepError as e: _fail(name, str(e))
        except Exception as e:
            import traceback; traceback.print_exc()
            _fail(name, f'{type(e).__name__}: {e}')
        times.append((name, time.time() - t))
        return res
    cfg = step('read settings.ini', read_settings)
    step('process notebooks (nbdev)', step_proc, cfg, args.readme_only, args.workers)
    nav = step('clean quarto syntax', step_clean, cfg, args.readme_only)
    step('write README.md', step_readme, cfg)
    if not args.readme_only: step('build site/ (mkdocs)', step_site, cfg, nav)
    log('done: ' + ', '.join(f'{n} {s:.1f}s' for n, s in times) + f'; total {time.time()-t0:.1f}s')
    log('wrote README.md' + ('' if args.readme_only else f' and site/ ({len(nav)} pages)'))
    if args.serve and not args.readme_only:
        log(f'serving site/ on http://127.0.0.1:{args.serve}/ (Ctrl-C to stop)')
        try: subprocess.run([sys.executable, '-m', 'http.server', str(args.serve), '--bind', '127.0.0.1', '--directory', str(SITE)])
        except KeyboardInterrupt: pass

def _fail(name, msg):
    print(f'build_docs: FAILED at step "{name}": {msg}', file=sys.stderr, flush=True)
    sys.exit(1)

if __name__ == '__main__':  # proc_nbs spawns worker processes that import this module
    main()
