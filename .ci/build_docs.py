#!/usr/bin/env python
"""Build README.md and the documentation site `site/` from the notebooks in `nbs/`, offline and without quarto.

    python .ci/build_docs.py                # README.md + README_files/ + site/
    python .ci/build_docs.py --readme-only  # README.md + README_files/ only
    python .ci/build_docs.py --serve        # build, then serve site/ on http://127.0.0.1:8000/

1. nbdev's processors write the notebooks to `_proc/` (hidden cells removed, `show_doc` rendered), running
   their import, export and show_doc cells but never a cell flagged `#| slow`, `#| cuda` or `#| notest`.
2. The quarto syntax left in them that the notebooks use becomes plain markdown/HTML (see `Page`); any
   other stops the build with an error naming the notebook and the construct.
3. README.md is `nbconvert --to markdown` of the cleaned index.ipynb, blank lines squeezed.
4. `mkdocs build --strict` writes `site/` (Material, mkdocs-jupyter, a local MathJax 2.7): nothing in it
   loads from outside the site, as `python .ci/check_site.py` checks.
Exits non-zero, naming the step, if any step fails.
"""
import argparse, copy, html, itertools, json, os, re, shutil, subprocess, sys, time
from pathlib import Path

import yaml
try:
    from nbdev.config import get_config
    from nbdev.processors import FilterDefaults, exec_show_docs
except ImportError as e: sys.exit(f'build_docs: FAILED: cannot import nbdev ({e}): pip install -e ".[dev]"')

ROOT = Path(__file__).resolve().parent.parent
PROC, SITE = ROOT/'_proc', ROOT/'site'
SRC = PROC/'_site_src'      # MkDocs' docs_dir: the cleaned notebooks and the assets
MATHJAX = 'assets/mathjax'  # in the site; configured with TeX and MathML input, the Safe extension and our fonts
MATHJAX_CONFIG = 'TeX-AMS-MML_HTMLorMML-full,Safe,local/offline-fonts'

class StepError(Exception): pass

class exec_show_docs_unflagged(exec_show_docs):
    "nbdev's `exec_show_docs`, except that a cell with a test flag never runs (it may mix an import with training)"
    def __call__(self, cell):
        if cell.cell_type == 'code' and set(get_config().tst_flags.split()) & set(cell.directives_): return
        return super().__call__(cell)

class DocsFilter(FilterDefaults):
    "nbdev's docs processors with `exec_show_docs_unflagged` (defined here, so spawned workers can unpickle it)"
    def base_procs(self): return [exec_show_docs_unflagged if p is exec_show_docs else p for p in super().base_procs()]

def notebooks(nbs:Path) -> list:
    "The notebooks in nbs/, index.ipynb first, then in notebook-number order; the site has no subfolders"
    nested = [p for p in nbs.glob('*/**/*.ipynb') if not any(o[0] in '._' for o in p.relative_to(nbs).parts)]
    if nested: raise StepError(f'notebooks in subfolders of nbs/ are not supported: {", ".join(map(str, nested))}')
    return sorted((p.name for p in nbs.glob('*.ipynb') if p.name[0] not in '._'), key=lambda o: (o != 'index.ipynb', o))

def page_of(nb:str) -> str:
    "The page nbdev gives a notebook: `10_baseline.ipynb` -> `baseline.html`"
    return re.sub(r'^\d+[a-zA-Z0-9]*_', '', nb.lower()).replace('.ipynb', '.html')

# ----------------------------------------------------------------------------- step 1: nbdev processing

def step_proc(cfg, readme_only:bool):
    "nbdev's processing of the notebooks (or of index.ipynb alone) into _proc/"
    from importlib.metadata import entry_points
    if not any(ep.name == cfg.lib_path.name for ep in entry_points(group='nbdev')):
        print(f'build_docs: warning: {cfg.lib_name} is not installed (pip install -e ".[dev]"): no links to its symbols')
    if readme_only:  # the same processors on index.ipynb alone, in this process
        import nbdev.serve_drv
        PROC.mkdir(exist_ok=True)
        return nbdev.serve_drv.main((cfg.nbs_path/'index.ipynb', PROC/'index.ipynb', DocsFilter))
    # proc_nbs' workers take the filter from this file imported as a module: their `__main__` becomes IPython's
    import nbdev.serve, build_docs
    nbdev.serve.FilterDefaults = build_docs.DocsFilter
    try: nbdev.serve.proc_nbs(force=True, n_workers=max(1, os.cpu_count()//2), exts='ipynb', maxdepth=1)
    except Exception as e:  # the worker's traceback comes back as text: keep its exception lines
        errs = [l for l in str(e.__cause__ or '').splitlines() if re.match(r'^[\w.]+(Error|Exception|Exit)\b', l)]
        raise StepError(f'{e}\n' + ''.join(f'  caused by: {l}\n' for l in errs) + '  nbdev runs only the import, export '
            'and show_doc cells: keep imports in cells of their own (see "Found cells containing imports" above)') from None

# ----------------------------------------------------------------------------- step 2: quarto syntax clean-up

_re_fence = re.compile(r'^\s*```')
_re_heading = re.compile(r'^(#{1,6})\s+(.+?)\s*#*\s*$')
# show_doc's source link, `[source](url){target="_blank" style="..."}`: a link with key="value" attributes
_re_attr_link = re.compile(r'(?<!!)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]+)\)\{((?:\s*[\w-]+="[^"]*")+)\s*\}')
_re_url = re.compile(r'''(\]\(|\b(?:href|src)=["'])([^)\s"']+)''')                          # markdown and HTML links
_re_option = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')                             # `#| name: value`
# Markdown that quarto would translate and nothing here does: an error wherever it appears outside code blocks
UNSUPPORTED = {r'^\s*:::': 'pandoc div or quarto callout (:::)', r'^\s*(~~~|````)': 'code fence other than ```',
               r'\]\([^)]*\)\{': 'pandoc attributes on a link or image',
               r'\{[#.][a-zA-Z]': 'pandoc attributes {#id} or {.class}',
               r'\{\{<': 'quarto shortcode', r'@(fig|tbl|sec|eq)-': 'quarto cross-reference'}

def _text_lines(lines):
    "Each line with whether it is markdown text: not inside a ``` code block, nor the fence that closes one"
    inside = False
    for line in lines:
        yield line, not inside
        if _re_fence.match(line): inside = not inside

def _slug(text:str) -> str:
    "A heading's id as python-markdown's toc and mkdocs-jupyter make it"
    plain = html.unescape(re.sub(r'<[^>]+>', '', text))
    plain = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', plain).replace('`', '').replace('*', '')
    return re.sub(r'[-\s]+', '-', re.sub(r'[^\w\s-]', '', plain).strip().lower())

def _toc_heading(h, toc:set) -> str:
    """A markdown cell's heading with the same id on the page and in its table of contents: mkdocs-jupyter drops
    inline code from the contents (`## What `x` does` -> `#what-does`) and numbers repeats (`#tests_1`) only there"""
    text = re.sub(r'`([^`]+)`', lambda m: f'<code>{html.escape(m[1])}</code>', h[2])
    slug = _slug(text)
    if slug in toc:
        slug = next(f'{slug}_{n}' for n in itertools.count(1) if f'{slug}_{n}' not in toc)
        text = f'<span id="{slug}"></span>{text}'
    toc.add(slug)
    return f'{h[1]} {text}'

def _show_doc_heading(h) -> str:
    "A show_doc heading with the id nbdev's links use (`#recipe.replace`) where its own id differs (`recipereplace`)"
    anchor = re.sub(r'<[^>]+>|[`*]', '', h[2]).strip().lower()
    return h[0] if anchor == _slug(h[2]) or ' ' in anchor else f'{h[1]} <span id="{anchor}"></span>{h[2]}'

class Page:
    """Turns one processed notebook into plain markdown/HTML for its site page or, for index.ipynb, for README.md.
    It translates the quarto syntax the notebooks use: the title block, three cell options, show_doc's source links,
    links to the docs host and between pages, heading ids. Anything else goes to `problems`, naming the notebook."""
    def __init__(self, nb:str, pages:dict, cfg, readme:bool, problems:list):
        self.nb, self.readme, self.problems = nb, readme, problems
        self.doc_url = f'{cfg.doc_host.rstrip("/")}/{cfg.doc_baseurl.strip("/")}/'
        self.nb_of = {page: f'{cfg.nbs_path.name}/{nb}' for nb, page in pages.items()}
        self.toc = None if readme else set()  # heading ids so far, as the page's table of contents makes them

    def reject(self, what:str, text:str): self.problems.append(f'nbs/{self.nb}: unsupported {what}: {text.strip()[:120]}')

    def link(self, url:str) -> str:
        "A link as the page needs it: the site's pages link each other relatively, README links open notebooks"
        if not url.startswith(self.doc_url) and re.match(r'[a-zA-Z][\w+.-]*:|#', url): return url  # another site, an anchor
        page = url.removeprefix(self.doc_url)        # `train.html#train`
        if (nb := self.nb_of.get(page.split('#')[0])) is None:
            self.reject('link to something that is not a page (pages are linked as data.html)', url)
            return url
        return nb if self.readme else page

    def markdown(self, src:str, output:bool=False) -> str:
        "A markdown cell's or show_doc output's text, outside fenced code"
        out = []
        for line, text in _text_lines(src.split('\n')):
            if text:
                line = _re_attr_link.sub(lambda m: f'<a href="{m[2]}" {m[3].strip()}>{m[1]}</a>', line)
                line = _re_url.sub(lambda m: m[1] + self.link(m[2]), line)
                what = next((w for pattern, w in UNSUPPORTED.items() if re.search(pattern, line)), None)
                if what: self.reject(what, line)
                if (h := _re_heading.match(line)) and output: line = _show_doc_heading(h)
                elif h and self.toc is not None: line = _toc_heading(h, self.toc)
            out.append(line)
        return '\n'.join(out)

    def code_cell(self, cell:dict):
        "Quarto's cell options off the source: `echo: false` hides the code, `fig-cap` becomes a caption under the outputs, `output: asis` needs nothing"
        lines, caption = ''.join(cell['source']).split('\n'), None
        while lines and (m := _re_option.match(lines[0])):
            name, value = m[1].lower(), m[2].lower()
            if (name, value) == ('echo', 'false'): cell['metadata']['tags'] = ['remove_input']
            elif name == 'fig-cap': caption = m[2].strip().strip('"\'')
            elif (name, value) != ('output', 'asis'): self.reject('cell option', lines[0])
            lines.pop(0)
        cell['source'] = '\n'.join(lines).strip('\n')
        if caption: cell.setdefault('outputs', []).append({'output_type': 'display_data', 'metadata': {}, 'data': {'text/markdown': f'*{caption}*'}})
        for o in cell.get('outputs', []):
            if 'text/markdown' in o.get('data', {}):
                o['data']['text/markdown'] = self.markdown(''.join(o['data']['text/markdown']), output=True)

    def notebook(self, nb:dict):
        "The cleaned notebook and its title"
        if 'widgets' in nb['metadata']: self.reject('ipywidgets', 'they need an online widget manager')
        nb['metadata'].setdefault('language_info', {'name': 'python'})  # code blocks know their language
        first, src = nb['cells'][0]['cell_type'], ''.join(nb['cells'][0]['source'])
        # the title block that nbdev makes from the notebook's `# Title` and `> summary`
        fm = yaml.safe_load(src.strip().strip('-')) if first == 'raw' and src.startswith('---') else {}
        if 'title' not in fm: raise StepError(f'nbs/{self.nb}: no title: start it with a "# Title" markdown cell')
        if set(fm) - {'title', 'description', 'output-file'}: self.reject('title block entries', ', '.join(fm))
        md = f'# {fm["title"]}\n' + (f'\n> {fm["description"]}\n' if fm.get('description') else '')
        for cell in nb['cells'][1:]:
            if cell['cell_type'] == 'raw': self.reject('raw cell', ''.join(cell['source']))
            elif cell['cell_type'] == 'markdown': cell['source'] = self.markdown(''.join(cell['source']))
            else: self.code_cell(cell)
        nb['cells'][0] = {'cell_type': 'markdown', 'metadata': {}, 'source': self.markdown(md)}
        return nb, str(fm['title'])

def step_clean(cfg, nbs:list, readme_only:bool):
    "Write the cleaned notebooks: _proc/README.ipynb from index.ipynb, and _proc/_site_src/PAGE.ipynb for each page"
    pages = {nb: page_of(nb) for nb in nbs}
    if len(set(pages.values())) < len(pages): raise StepError(f'two notebooks would make the same page: {pages}')
    shutil.rmtree(SRC, ignore_errors=True)
    SRC.mkdir(parents=True)
    nav, problems = [], []
    for nb in ['index.ipynb'] if readme_only else nbs:
        src = json.loads((PROC/nb).read_text(encoding='utf-8'))
        for readme in ([True] if readme_only else [True, False]) if nb == 'index.ipynb' else [False]:
            out, title = Page(nb, pages, cfg, readme, problems).notebook(copy.deepcopy(src))
            dest = PROC/'README.ipynb' if readme else SRC/pages[nb].replace('.html', '.ipynb')
            dest.write_text(json.dumps(out, indent=1, ensure_ascii=False), encoding='utf-8')
        nav.append((title, pages[nb]))
    if problems: raise StepError('\n  ' + '\n  '.join(dict.fromkeys(problems)))
    return nav

# ----------------------------------------------------------------------------- step 3: README

def step_readme():
    "README.md and README_files/ from _proc/README.ipynb: nbconvert's markdown, blank lines squeezed outside code"
    tmp = PROC/'_readme'
    shutil.rmtree(tmp, ignore_errors=True)
    run([sys.executable, '-m', 'nbconvert', '--to', 'markdown', PROC/'README.ipynb', '--output-dir', tmp,
         '--TagRemovePreprocessor.enabled=True', '--TagRemovePreprocessor.remove_input_tags=remove_input'], 'nbconvert')
    out = []
    for line, text in _text_lines((tmp/'README.md').read_text(encoding='utf-8').split('\n')):
        if text and not line.strip() and (not out or out[-1] == ''): continue
        out.append(line.rstrip() if text else line)
    (ROOT/'README.md').write_text('\n'.join(out).strip('\n') + '\n', encoding='utf-8')
    shutil.rmtree(ROOT/'README_files', ignore_errors=True)
    if (tmp/'README_files').exists(): shutil.copytree(tmp/'README_files', ROOT/'README_files')

# ----------------------------------------------------------------------------- step 4: mkdocs site

MATHJAX_FONTS_JS = r'''/* Offline fonts: jupyter-server-mathjax ships only the STIX-Web web fonts (the same settings the
   Jupyter notebook uses), so never look for the TeX web fonts or the image fonts. */
MathJax.Hub.Config({
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null,
               linebreaks: {automatic: true}},  /* long equations wrap instead of running off the page */
  SVG: {font: "STIX-Web"},
  menuSettings: {renderer: "HTML-CSS"},
  /* The hidden MathML copy kept for screen readers (AssistiveMML) declares the TeX web fonts for \mathcal,
     \mathfrak and similar; the package does not ship them: use locally installed fonts only, never request them. */
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
/* tables fit the page at 1400 px: a wider content column, compact cells, text that wraps (no horizontal scroll) */
.md-grid { max-width: 1600px; }
.md-typeset table:not([class]) { font-size: .62rem; }
.md-typeset table:not([class]) th, .md-typeset table:not([class]) td,
.jupyter-wrapper .jp-RenderedHTMLCommon th, .jupyter-wrapper .jp-RenderedHTMLCommon td { padding: .4em .5em; white-space: normal; }
/* long code lines wrap inside their box instead of running past it */
.jupyter-wrapper .jp-InputArea pre, .jupyter-wrapper .jp-OutputArea pre, .md-typeset pre > code { white-space: pre-wrap; overflow-wrap: anywhere; }
'''

def step_site(cfg, nav:list):
    "Assets into _proc/_site_src/, then _proc/mkdocs.yml and `mkdocs build --strict` into site/"
    import jupyter_server_mathjax
    shutil.copytree(Path(jupyter_server_mathjax.__file__).parent/'static', SRC/MATHJAX)
    (SRC/MATHJAX/'config/local').mkdir(parents=True, exist_ok=True)
    (SRC/MATHJAX/'config/local/offline-fonts.js').write_text(MATHJAX_FONTS_JS)
    (SRC/'assets/extra.css').write_text(EXTRA_CSS)
    conf = {'site_name': cfg.title, 'site_description': cfg.description, 'copyright': f'Copyright {cfg.copyright}',
        'docs_dir': SRC.name, 'site_dir': '../site', 'use_directory_urls': False,  # pages open from file:// too
        'theme': {'name': 'material', 'font': False,  # no Google Fonts
                  'features': ['navigation.top', 'content.code.copy', 'search.highlight', 'toc.integrate'],
                  'palette': {'scheme': 'default', 'primary': 'indigo'}},
        # the repository in the header, not as repo_url: Material would call the GitHub API from every page
        'extra': {'generator': False,
                  'social': [{'icon': 'fontawesome/brands/github', 'link': cfg.git_url, 'name': 'Source on GitHub'}]},
        'extra_css': ['assets/extra.css'],
        'plugins': ['search', {'mkdocs-jupyter': {
            'include': ['*.ipynb'], 'execute': False, 'include_requirejs': False, 'no_prompt': True,
            'ignore_h1_titles': False, 'cache': False, 'toc_depth': 3,
            'custom_mathjax_url': f'{MATHJAX}/MathJax.js?config={MATHJAX_CONFIG}',
            'remove_tag_config': {'remove_input_tags': ['remove_input']}}}],
        'nav': [{title: page.replace('.html', '.ipynb')} for title, page in nav],
        'validation': {'nav': {'omitted_files': 'ignore'}}}
    (PROC/'mkdocs.yml').write_text('# Generated by .ci/build_docs.py: edit that script, not this file\n' +
                                   yaml.safe_dump(conf, sort_keys=False, allow_unicode=True))
    shutil.rmtree(SITE, ignore_errors=True)
    run([sys.executable, '-m', 'mkdocs', 'build', '--strict', '-f', PROC/'mkdocs.yml'], 'mkdocs build')

# ----------------------------------------------------------------------------- driver

def run(cmd:list, what:str):
    r = subprocess.run(list(map(str, cmd)), cwd=ROOT, capture_output=True, text=True)
    if r.returncode: raise StepError(f'{what} exited with {r.returncode}:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}')

def step(name:str, f, *args):
    "Run one step, timed; stop the build naming the step if it fails"
    print(f'build_docs: {name} ...', flush=True)
    t = time.time()
    try: res = f(*args)
    except Exception as e:
        if not isinstance(e, StepError): import traceback; traceback.print_exc()
        sys.exit(f'build_docs: FAILED at step "{name}": {e}')
    print(f'build_docs: {name}: {time.time() - t:.1f}s', flush=True)
    return res

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--readme-only', action='store_true', help='build README.md (and README_files/) only')
    ap.add_argument('--serve', nargs='?', const=8000, type=int, metavar='PORT', help='then serve site/ on 127.0.0.1:PORT')
    args = ap.parse_args()
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))  # the package imports from this checkout (spawned workers inherit sys.path)
    t0, cfg = time.time(), get_config()
    nbs = step('list notebooks', notebooks, cfg.nbs_path)
    step('process notebooks (nbdev)', step_proc, cfg, args.readme_only)
    nav = step('clean quarto syntax', step_clean, cfg, nbs, args.readme_only)
    step('write README.md', step_readme)
    if not args.readme_only: step('build site/ (mkdocs)', step_site, cfg, nav)
    print(f'build_docs: wrote README.md{"" if args.readme_only else f" and site/ ({len(nav)} pages)"} in {time.time()-t0:.1f}s')
    if args.serve and not args.readme_only:
        print(f'build_docs: serving site/ on http://127.0.0.1:{args.serve}/ (Ctrl-C to stop)', flush=True)
        try: subprocess.run([sys.executable, '-m', 'http.server', str(args.serve), '--bind', '127.0.0.1', '--directory', SITE])
        except KeyboardInterrupt: pass

if __name__ == '__main__':  # proc_nbs' spawned workers import this module
    main()
