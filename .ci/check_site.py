#!/usr/bin/env python
"""Open every page of the built site (`site/`) in headless Chromium and check it works offline.

Run from the repository root after `python .ci/build_docs.py`:

    python .ci/check_site.py [--site site] [--pages index.html data.html] [--screenshots DIR [--shot-height PX]]

The site is served by Python's `http.server` on 127.0.0.1 (a free port); Chromium resolves
every other host to "not found" (`--host-resolver-rules`), runs each page's scripts (MathJax,
search) in virtual time, dumps the rendered DOM, and writes a net-log of every request.
Fails (exit 1, listing every problem) if:
- a page does not load, is empty, or shows a MathJax error;
- an `<img>` in the rendered DOM points at a file that is not in the site (`data:` URIs are fine);
- an internal `<a href>` points at a page or `#anchor` that does not exist in the site (links
  anywhere else, another port of 127.0.0.1 included, are external: counted, not followed);
- a page asks the local server for a file it does not have (HTTP 4xx/5xx);
- a page requests anything from a host other than 127.0.0.1/localhost, or links a script,
  stylesheet, font or frame from outside the site.
Chromium's own background requests (its updater and account check, which the page did not make
and which never resolve) are listed separately and do not fail the check.
Exit 2 if Chromium is missing (`apt-get install -y chromium`) or the site is not built.
"""
import argparse, functools, http.server, json, os, shutil, subprocess, sys, tempfile, threading, time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit, unquote

ROOT = Path(__file__).resolve().parent.parent
LOCAL_HOSTS = {'127.0.0.1', 'localhost'}
CHROMIUM_FLAGS = [
    '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions',
    '--disable-domain-reliability', '--no-pings', '--disable-client-side-phishing-detection',
    '--metrics-recording-only', '--hide-scrollbars', '--mute-audio',
    '--disable-features=AutofillServerCommunication,NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
]

def find_chromium():
    for c in [os.environ.get('CHROMIUM'), 'chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']:
        if c and shutil.which(c): return shutil.which(c)

# ----------------------------------------------------------------------------- local server

class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args): pass
    def log_request(self, code='-', size='-'):
        code = getattr(code, 'value', code)
        self.server.requests.append((self.path, int(code) if str(code).isdigit() else 0))

class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address): pass  # Chromium closing a connection early is not a problem

def serve(site:Path):
    srv = Server(('127.0.0.1', 0), functools.partial(Handler, directory=str(site)))
    srv.requests = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv

# ----------------------------------------------------------------------------- DOM

class DomScan(HTMLParser):
    "Collects ids, <img src>, <a href>, external resources and visible text of a dumped DOM"
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.imgs, self.links, self.resources, self.text = set(), [], [], [], []
        self._skip = 0
        self.math_errors = 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get('id'): self.ids.add(a['id'])
        if tag == 'a' and a.get('name'): self.ids.add(a['name'])
        if tag == 'img': self.imgs.append(a.get('src') or '')
        if tag == 'a' and a.get('href') is not None: self.links.append(a['href'])
        if tag in ('script', 'iframe', 'embed', 'source', 'video', 'audio') and a.get('src'): self.resources.append((tag, a['src']))
        if tag == 'link' and a.get('href') and set((a.get('rel') or '').split()) & {'stylesheet', 'preconnect', 'dns-prefetch', 'preload', 'prefetch', 'icon', 'modulepreload'}:
            self.resources.append((f'link rel={a.get("rel")}', a['href']))
        if tag == 'object' and a.get('data'): self.resources.append((tag, a['data']))
        if 'MathJax_Error' in (a.get('class') or '') or 'merror' == tag: self.math_errors += 1
        if tag in ('script', 'style', 'noscript', 'template'): self._skip += 1
    def handle_endtag(self, tag):
        if tag in ('script', 'style', 'noscript', 'template') and self._skip: self._skip -= 1
    def handle_data(self, data):
        if not self._skip: self.text.append(data)

def scan(html:str) -> DomScan:
    d = DomScan(); d.feed(html); d.close()
    d.text = ' '.join(' '.join(d.text).split())
    return d

# ----------------------------------------------------------------------------- net-log

def netlog_requests(path:Path):
    "(url, from_page) for every URL request in a Chromium net-log; from_page: made by a page, not by the browser itself"
    try: d = json.loads(path.read_text(encoding='utf-8', errors='replace'))
    except json.JSONDecodeError:  # Chromium was killed before closing the log: salvage what is there
        s = path.read_text(encoding='utf-8', errors='replace').rstrip().rstrip(',')
        d = json.loads(s + ']}')
    types = {v: k for k, v in d['constants']['logEventTypes'].items()}
    res = []
    for e in d.get('events', []):
        if types.get(e.get('type')) != 'URL_REQUEST_START_JOB': continue
        p = e.get('params', {})
        init, nik = p.get('initiator', ''), p.get('network_isolation_key', '')
        from_page = any(h in init or h in nik for h in LOCAL_HOSTS) or p.get('request_type') in ('main frame', 'sub frame')
        res.append((p.get('url', ''), from_page))
    return res

# ----------------------------------------------------------------------------- checks

def run_chromium(chrome, url, netlog:Path, shot:Path|None, budget_ms:int, timeout:int, height:int=1600):
    with tempfile.TemporaryDirectory(prefix='check_site_') as prof:
        cmd = [chrome, *CHROMIUM_FLAGS, f'--user-data-dir={prof}', f'--virtual-time-budget={budget_ms}',
               f'--log-net-log={netlog}', f'--window-size=1280,{height}']
        if shot: cmd.append(f'--screenshot={shot}')
        cmd += ['--dump-dom', url]
        try: r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired: return None, f'Chromium timed out after {timeout}s'
        if r.returncode: return None, f'Chromium exited with {r.returncode}: {r.stderr.strip()[-500:]}'
        return r.stdout, None

def site_file(site:Path, path:str) -> Path|None:
    "The file in site/ that a URL path serves, or None"
    path = unquote(path).lstrip('/')
    f = site/path
    if path == '' or path.endswith('/'): f = f/'index.html'
    try: f.resolve().relative_to(site.resolve())
    except ValueError: return None
    return f if f.is_file() else None

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--site', default=str(ROOT/'site'), help='built site folder (default: site/)')
    ap.add_argument('--pages', nargs='*', help='only these pages (paths relative to the site); links are still checked against all')
    ap.add_argument('--screenshots', help='also save a PNG of each page (1280 px wide) into this folder')
    ap.add_argument('--shot-height', type=int, default=1600, help='height of the screenshots in px (default 1600)')
    ap.add_argument('--budget', type=int, default=10000, help='virtual time per page in ms (default 10000)')
    ap.add_argument('--timeout', type=int, default=60, help='wall-clock limit per page in s (default 60)')
    args = ap.parse_args()
    site = Path(args.site).resolve()
    chrome = find_chromium()
    if not chrome:
        print('check_site: Chromium not found: apt-get update && apt-get install -y chromium (or set CHROMIUM=/path)', file=sys.stderr); sys.exit(2)
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob('*.html')
                   if not p.relative_to(site).parts[0] in ('assets', 'search'))
    if not pages:
        print(f'check_site: no pages in {site}: run python .ci/build_docs.py first', file=sys.stderr); sys.exit(2)
    if args.pages: pages = [p for p in pages if p in set(args.pages)]
    shots = Path(args.screenshots) if args.screenshots else None
    if shots: shots.mkdir(parents=True, exist_ok=True)

    t0 = time.time()
    srv = serve(site)
    base = f'http://127.0.0.1:{srv.server_address[1]}/'
    site_netloc = urlsplit(base).netloc
    problems, doms, outside, background = [], {}, [], []
    n_img = n_link = n_ext_link = 0
    tmp = Path(tempfile.mkdtemp(prefix='check_site_'))
    try:
        for page in pages:
            url = urljoin(base, page)
            netlog = tmp/(page.replace('/', '__') + '.netlog.json')
            n_req = len(srv.requests)
            shot = (shots/(page.replace('/', '__').replace('.html', '.png'))) if shots else None
            dom, err = run_chromium(chrome, url, netlog, shot, args.budget, args.timeout, args.shot_height if shots else 1600)
            if err: problems.append(f'{page}: does not load: {err}'); continue
            for path, code in srv.requests[n_req:]:
                if code >= 400: problems.append(f'{page}: the page requested {path}, which the site does not have (HTTP {code})')
            if netlog.exists():
                for u, from_page in netlog_requests(netlog):
                    host = urlsplit(u).hostname or ''
                    if not u.startswith(('http:', 'https:', 'ws:', 'wss:', 'ftp:')) or host in LOCAL_HOSTS: continue
                    (outside if from_page else background).append((page, u))
            else: problems.append(f'{page}: Chromium wrote no net-log')
            d = scan(dom)
            doms[page] = d
            if len(d.text) < 20: problems.append(f'{page}: empty page ({len(dom)} bytes of DOM, {len(d.text)} characters of text)')
            if d.math_errors or 'Math Processing Error' in d.text: problems.append(f'{page}: MathJax error(s) on the page')
            for tag, src in d.resources:
                if urlsplit(urljoin(url, src)).netloc != site_netloc and not src.startswith(('data:', 'blob:')):
                    problems.append(f'{page}: <{tag}> loads {src} from outside the site')
    finally:
        srv.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)

    # images and links, now that every page's rendered ids are known
    static_ids = {}
    def ids_of(page):
        if page in doms: return doms[page].ids
        if page not in static_ids: static_ids[page] = scan((site/page).read_text(encoding='utf-8', errors='replace')).ids
        return static_ids[page]
    for page, d in doms.items():
        url = urljoin(base, page)
        for src in d.imgs:
            n_img += 1
            if src.startswith('data:'): continue
            u = urlsplit(urljoin(url, src))
            if u.netloc != site_netloc: problems.append(f'{page}: <img src="{src}"> is outside the site'); continue
            if not site_file(site, u.path): problems.append(f'{page}: <img src="{src}">: no such file in the site')
        for href in d.links:
            if href.startswith(('mailto:', 'javascript:', 'tel:', 'data:')): continue
            u = urlsplit(urljoin(url, href))
            if u.scheme not in ('http', 'https') or u.netloc != site_netloc: n_ext_link += 1; continue
            n_link += 1
            f = site_file(site, u.path)
            if not f: problems.append(f'{page}: link "{href}": no such page in the site'); continue
            frag = unquote(u.fragment)
            if frag and f.suffix == '.html':
                target = f.relative_to(site).as_posix()
                if frag not in ids_of(target): problems.append(f'{page}: link "{href}": no id "{frag}" on {target}')
    for page, u in outside: problems.append(f'{page}: request to a host outside the site: {u}')

    print(f'check_site: {len(pages)} pages checked in {time.time()-t0:.1f}s: {n_img} images, {n_link} internal links '
          f'(+{n_ext_link} external links, not followed), outside requests: {len(outside)}')
    if background:
        hosts = sorted({urlsplit(u).hostname for _, u in background})
        print(f'check_site: ignored {len(background)} background requests by Chromium itself (not by the pages; none resolves): {", ".join(hosts)}')
    if shots: print(f'check_site: screenshots in {shots}')
    if problems:
        print(f'check_site: FAILED: {len(problems)} problem(s):', file=sys.stderr)
        for p in problems: print(f'  - {p}', file=sys.stderr)
        sys.exit(1)
    print('check_site: OK')

if __name__ == '__main__':
    main()
