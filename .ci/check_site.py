#!/usr/bin/env python
"""Open every page of the built site (`site/`) in headless Chromium and check that it works offline.

    python .ci/check_site.py [--site site] [--screenshots DIR]   # after python .ci/build_docs.py

The site is served by Python's `http.server` on 127.0.0.1; Chromium resolves every other host to "not found",
runs each page's scripts (MathJax, search) in virtual time, dumps the rendered DOM and logs every request.
Fails (exit 1, listing every problem) if:
- a page does not load, is empty, or shows a MathJax error;
- a code comment (a documented parameter) shows a markdown link as raw text;
- an `<img>`, script, stylesheet, icon or frame of a page is not a file of the site (`data:` URIs are fine);
- an internal `<a href>` points at a page or `#anchor` that the site does not have (links anywhere else,
  another port of 127.0.0.1 included, are external: counted, not followed);
- a page asks the local server for a file it does not have (HTTP 4xx/5xx);
- a page requests anything from a host other than 127.0.0.1/localhost. Chromium's own background requests
  (its updater and account check, which never resolve) are listed separately and do not fail the check.
Exit 2 if Chromium is missing (`apt-get install -y chromium`) or the site is not built.
"""
import argparse, functools, http.server, json, os, re, shutil, subprocess, sys, tempfile, threading, time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit, unquote

ROOT = Path(__file__).resolve().parent.parent
LOCAL_HOSTS = {'127.0.0.1', 'localhost'}
CHROMIUM_FLAGS = [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions',
    '--disable-domain-reliability', '--no-pings', '--disable-client-side-phishing-detection',
    '--metrics-recording-only', '--hide-scrollbars', '--mute-audio', '--window-size=1280,1600',
    '--disable-features=AutofillServerCommunication,NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    '--virtual-time-budget=10000',  # ms of page time: MathJax and search finish before the DOM is dumped
]
LOADS_SRC = ('img', 'script', 'iframe', 'embed', 'source', 'video', 'audio')  # tags that load their `src`
LOADS_HREF = {'stylesheet', 'preconnect', 'dns-prefetch', 'preload', 'prefetch', 'icon', 'modulepreload'}  # <link rel=...>

class Handler(http.server.SimpleHTTPRequestHandler):
    "Serves the site and records each request's path and HTTP status in `server.requests`"
    def log_message(self, fmt, *args): pass
    def log_request(self, code='-', size='-'):
        code = str(getattr(code, 'value', code))
        self.server.requests.append((self.path, int(code) if code.isdigit() else 0))

class Dom(HTMLParser):
    "What the checks need from a rendered page: its ids, links, the files it loads, its visible text, MathJax errors"
    def __init__(self, html:str):
        super().__init__()
        self.ids, self.links, self.loads, self.text, self.math_errors, self._hidden = set(), [], [], [], 0, 0
        self.feed(html); self.close()
        self.text = ' '.join(' '.join(self.text).split())
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.ids.update(filter(None, [a.get('id'), a.get('name') if tag == 'a' else None]))
        if tag == 'a' and a.get('href') is not None: self.links.append(a['href'])
        if tag in LOADS_SRC and a.get('src'): self.loads.append((tag, a['src']))
        if tag == 'link' and a.get('href') and set((a.get('rel') or '').split()) & LOADS_HREF:
            self.loads.append((f'link rel={a["rel"]}', a['href']))
        if tag == 'object' and a.get('data'): self.loads.append((tag, a['data']))
        if tag == 'merror' or 'MathJax_Error' in (a.get('class') or ''): self.math_errors += 1
        if tag in ('script', 'style', 'noscript', 'template'): self._hidden += 1
    def handle_endtag(self, tag):
        if tag in ('script', 'style', 'noscript', 'template') and self._hidden: self._hidden -= 1
    def handle_data(self, data):
        if not self._hidden: self.text.append(data)

def requests_made(netlog:Path) -> list:
    "(url, by_page) for every request in a Chromium net-log; by_page: the page made it, not the browser itself"
    text = netlog.read_text(encoding='utf-8', errors='replace')
    try: log = json.loads(text)
    except json.JSONDecodeError: log = json.loads(text.rstrip().rstrip(',') + ']}')  # Chromium left the log open
    start, res = log['constants']['logEventTypes']['URL_REQUEST_START_JOB'], []
    for p in (e.get('params', {}) for e in log.get('events', []) if e.get('type') == start):
        by_page = p.get('request_type') in ('main frame', 'sub frame') or any(
            h in p.get('initiator', '') or h in p.get('network_isolation_key', '') for h in LOCAL_HOSTS)
        res.append((p.get('url', ''), by_page))
    return res

def site_file(site:Path, path:str) -> Path|None:
    "The file of the site that a URL path serves, or None"
    f = site/unquote(path).lstrip('/')
    if not path or path.endswith('/'): f = f/'index.html'
    return f if f.resolve().is_relative_to(site) and f.is_file() else None

def render(chrome:str, url:str, netlog:Path, shot:Path|None):
    "The page's DOM once its scripts have run (None if it does not load) and what went wrong"
    with tempfile.TemporaryDirectory(prefix='check_site_') as profile:
        cmd = [chrome, *CHROMIUM_FLAGS, f'--user-data-dir={profile}', f'--log-net-log={netlog}',
               *([f'--screenshot={shot}'] if shot else []), '--dump-dom', url]
        try: r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired: return None, 'Chromium timed out after 60s'
    return (r.stdout, None) if r.returncode == 0 else (None, f'Chromium exited with {r.returncode}: {r.stderr.strip()[-500:]}')

class SiteCheck:
    "Renders the pages one by one, then checks their files and links against every page of the site"
    def __init__(self, site:Path, server):
        self.site, self.server, self.base = site, server, f'http://127.0.0.1:{server.server_address[1]}/'
        self.problems, self.doms, self.outside, self.background = [], {}, [], []
        self.n_img = self.n_link = self.n_external = 0

    def problem(self, page:str, msg:str): self.problems.append(f'{page}: {msg}')
    def is_local(self, u) -> bool: return u.netloc == urlsplit(self.base).netloc  # this server, this port

    def render_page(self, chrome:str, page:str, tmp:Path, shots:Path|None):
        "Load one page: it loads, shows text and math, and requests nothing the site lacks or from outside"
        first_request, netlog = len(self.server.requests), tmp/(page.replace('/', '__') + '.netlog.json')
        shot = shots/page.replace('/', '__').replace('.html', '.png') if shots else None
        dom, err = render(chrome, urljoin(self.base, page), netlog, shot)
        if err: return self.problem(page, f'does not load: {err}')
        self.doms[page] = d = Dom(dom)
        if len(d.text) < 20: self.problem(page, f'empty page ({len(dom)} bytes of DOM, {len(d.text)} characters of text)')
        if d.math_errors or 'Math Processing Error' in d.text: self.problem(page, 'MathJax error(s) on the page')
        for raw in re.findall(r'class="c1">#[^<]*?\]\(', dom):  # nbdev links a backticked name, which a code block shows as raw markdown
            self.problem(page, f'a markdown link inside a code comment (a parameter comment with a backticked name?): {raw[11:80]}')
        for path, code in self.server.requests[first_request:]:
            if code >= 400: self.problem(page, f'the page requested {path}, which the site does not have (HTTP {code})')
        if not netlog.exists(): return self.problem(page, 'Chromium wrote no net-log')
        for url, by_page in requests_made(netlog):
            if url.startswith(('http:', 'https:', 'ws:', 'wss:', 'ftp:')) and urlsplit(url).hostname not in LOCAL_HOSTS:
                (self.outside if by_page else self.background).append((page, url))

    def check_files_and_links(self, page:str, d:Dom):
        "Every file the rendered page loads is in the site; every internal link leads to a page and id of the site"
        url = urljoin(self.base, page)
        for tag, src in d.loads:
            self.n_img += tag == 'img'
            if src.startswith(('data:', 'blob:')): continue
            u = urlsplit(urljoin(url, src))
            if not self.is_local(u): self.problem(page, f'<{tag}> loads {src} from outside the site')
            elif not site_file(self.site, u.path): self.problem(page, f'<{tag}> loads {src}: no such file in the site')
        for href in d.links:
            if href.startswith(('mailto:', 'javascript:', 'tel:', 'data:')): continue
            u = urlsplit(urljoin(url, href))
            if u.scheme not in ('http', 'https') or not self.is_local(u): self.n_external += 1; continue
            self.n_link += 1
            if not (f := site_file(self.site, u.path)): self.problem(page, f'link "{href}": no such page in the site'); continue
            target, frag = f.relative_to(self.site).as_posix(), unquote(u.fragment)
            if frag and f.suffix == '.html':
                ids = (self.doms.get(target) or Dom(f.read_text(errors='replace'))).ids  # as rendered, if it was
                if frag not in ids: self.problem(page, f'link "{href}": no id "{frag}" on {target}')

    def report(self, n_pages:int, seconds:float):
        "Print the counts; exit 1 listing every problem, if any"
        problems = self.problems + [f'{page}: request to a host outside the site: {u}' for page, u in self.outside]
        print(f'check_site: {n_pages} pages checked in {seconds:.1f}s: {self.n_img} images, {self.n_link} internal links '
              f'(+{self.n_external} external links, not followed), outside requests: {len(self.outside)}')
        if self.background:
            hosts = ', '.join(sorted({urlsplit(u).hostname for _, u in self.background}))
            print(f'check_site: ignored {len(self.background)} background requests by Chromium itself '
                  f'(not by the pages; none resolves): {hosts}')
        if problems:
            print(f'check_site: FAILED: {len(problems)} problem(s):', file=sys.stderr)
            for p in problems: print(f'  - {p}', file=sys.stderr)
            sys.exit(1)
        print('check_site: OK')

def fail_setup(msg:str): print(f'check_site: {msg}', file=sys.stderr); sys.exit(2)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--site', default=str(ROOT/'site'), help='the built site (default: site/)')
    ap.add_argument('--screenshots', type=Path, help='also save a 1280x1600 PNG of each page into this folder')
    args = ap.parse_args()
    site, t0 = Path(args.site).resolve(), time.time()
    candidates = [os.environ.get('CHROMIUM'), 'chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']
    chrome = next((shutil.which(c) for c in candidates if c and shutil.which(c)), None)
    if not chrome: fail_setup('Chromium not found: apt-get update && apt-get install -y chromium (or set CHROMIUM=/path)')
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob('*.html')
                   if p.relative_to(site).parts[0] not in ('assets', 'search'))
    if not pages: fail_setup(f'no pages in {site}: run python .ci/build_docs.py first')
    if args.screenshots: args.screenshots.mkdir(parents=True, exist_ok=True)
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Handler, directory=str(site)))
    server.requests, server.handle_error = [], lambda *a: None  # Chromium closing a connection early is no problem
    threading.Thread(target=server.serve_forever, daemon=True).start()
    check = SiteCheck(site, server)
    with tempfile.TemporaryDirectory(prefix='check_site_') as tmp:
        try:
            for page in pages: check.render_page(chrome, page, Path(tmp), args.screenshots)
        finally: server.shutdown()
    for page, d in check.doms.items(): check.check_files_and_links(page, d)
    if args.screenshots: print(f'check_site: screenshots in {args.screenshots}')
    check.report(len(pages), time.time() - t0)

if __name__ == '__main__':
    main()
