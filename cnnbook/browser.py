"""Open every page of the built web book in headless Chromium and check what a reader sees.

    python -m cnnbook.browser [_build/html] [--screenshots _build/screenshots]

The pages are those of ``_toc.yml``, served from the built folder on a local HTTP server and
loaded one after the other in Debian's ``chromium``, driven over the DevTools protocol
(``websocket-client``). A page passes when

- the browser logs no console error, no uncaught exception and no failed request;
- every request stays on the local server (no CDN, no web font, nothing from the internet);
- the math is typeset by the MathJax the book ships (``_static/mathjax``), and no ``\\(``,
  ``\\[`` or ``$`` of the source is left in the text;
- every image has loaded from the book's own files (``naturalWidth > 0``);
- no output shows a Python traceback;
- no code cell scrolls sideways (its ``<pre>`` is no wider than the column), with every folded
  cell and toggle opened first;
- Chinese text is drawn with a CJK font (asked of the browser's layout: the platform fonts used
  for the text), not with empty boxes.

A screenshot of the top of each page is saved. ``tests/test_browser.py`` runs this on a fresh
build in ``make test``. Install the browser with ``sudo apt-get install chromium fonts-noto-cjk``.
"""
from __future__ import annotations

import argparse
import base64
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["APT_PACKAGES", "Chromium", "PageReport", "check_book", "find_chromium", "toc_pages"]

APT_PACKAGES = "chromium fonts-noto-cjk"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# The flags that work on a closed network, as root, without a screen (see the README).
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-extensions", "--hide-scrollbars", "--mute-audio",
                  "--window-size=1280,1000", "--remote-debugging-port=0")
CJK_FONT = re.compile(r"CJK|Source Han|WenQuanYi|Droid Sans Fallback|Hei|Song|Ming|Kai|PingFang|YaHei",
                      re.I)
PAGE_TIMEOUT = 60.0


def find_chromium() -> str | None:
    """The path of a Chromium (``$CHROMIUM`` first), or None."""
    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"])
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def toc_pages(root: str | Path) -> list[str]:
    """Every document of ``_toc.yml`` (root first), as paths without suffix: ``chapters/01_x``."""
    import yaml

    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(str(entry["file"]))
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key))

    walk(toc.get("parts") or toc.get("chapters"))
    return [re.sub(r"\.(md|ipynb)$", "", page) for page in pages]


class CDPError(RuntimeError):
    pass


class Chromium:
    """A headless Chromium with one tab, driven over the DevTools protocol."""

    def __init__(self, executable: str | None = None, timeout: float = 30.0):
        self.executable = executable or find_chromium()
        if not self.executable:
            raise FileNotFoundError(f"no Chromium found; install it with: sudo apt-get install {APT_PACKAGES}")
        self.timeout = timeout
        self._id = 0
        self._events: list[dict] = []

    def __enter__(self):
        import websocket

        self._profile = tempfile.mkdtemp(prefix="cnnbook-chromium-")
        self._log = open(Path(self._profile) / "chromium.log", "w+b")
        self.process = subprocess.Popen(
            [self.executable, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        port_file = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self._log.seek(0)
                self.__exit__(None, None, None)
                raise RuntimeError(f"Chromium did not start: {self._log.read().decode(errors='replace')[-2000:]}")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=self.timeout))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=self.timeout,
                                              suppress_origin=True)
        return self

    def __exit__(self, *exc):
        if getattr(self, "ws", None):
            self.ws.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        shutil.rmtree(self._profile, ignore_errors=True)

    def send(self, method: str, **params):
        """Call a DevTools method and return its result; events that arrive meanwhile are kept."""
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self._id:
                if "error" in message:
                    raise CDPError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self._events.append(message)

    def wait_for(self, method: str, timeout: float = PAGE_TIMEOUT) -> dict:
        """Wait for the next event ``method`` (one already received counts)."""
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self._events):
                if event["method"] == method:
                    return self._events.pop(i)
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout} s")
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                message = json.loads(self.ws.recv())
            except Exception as error:  # websocket timeout
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no {method} within {timeout} s") from error
                continue
            finally:
                self.ws.settimeout(self.timeout)
            if "method" in message:
                self._events.append(message)

    def take_events(self) -> list[dict]:
        """Every event received so far (and forget them)."""
        events, self._events = self._events, []
        return events

    def evaluate(self, expression: str):
        """The value of a JavaScript expression (promises awaited), or raise on an exception."""
        result = self.send("Runtime.evaluate", expression=expression, awaitPromise=True,
                           returnByValue=True, timeout=PAGE_TIMEOUT * 1000)
        if "exceptionDetails" in result:
            raise CDPError(f"JavaScript failed: {result['exceptionDetails']}")
        return result["result"].get("value")


# One function evaluated in the page after it has loaded. It opens what is folded, waits for
# MathJax and the images, and returns what the Python side checks.
PAGE_PROBE = r"""
(async () => {
  for (const d of document.querySelectorAll('details')) d.open = true;
  for (const b of document.querySelectorAll('button.toggle-button')) {
    if (b.closest('.toggle-hidden') || b.classList.contains('toggle-button-hidden')) b.click();
  }
  for (const e of document.querySelectorAll('.toggle-hidden, .tag_hide-input .cell_input'))
    e.classList.remove('toggle-hidden');
  for (const img of document.images) img.loading = 'eager';
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  await Promise.all([...document.images].map(img => img.decode().catch(() => null)));
  await document.fonts.ready;
  await new Promise(r => setTimeout(r, 200));

  const skip = 'pre, code, script, style, textarea, mjx-container, .highlight, .MathJax';
  const textNodes = [];
  const walker = document.createTreeWalker(document.querySelector('main') || document.body,
                                           NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement && !node.parentElement.closest(skip)) textNodes.push(node);
  }
  const rawTex = [];
  const texPattern = /\\\(|\\\)|\\\[|\\\]|\$\$|(^|[^\\\w])\$[^\s$][^$]{0,80}?[^\s\\]\$/;
  for (const node of textNodes) {
    const m = node.textContent.match(texPattern);
    if (m) rawTex.push(node.textContent.trim().slice(0, 120));
  }
  const untypeset = [...document.querySelectorAll('.math')]
      .filter(e => !e.querySelector('mjx-container') && !e.closest('mjx-container'))
      .map(e => e.textContent.trim().slice(0, 120));

  const images = [...document.images].map(img => ({
      src: img.currentSrc || img.src, complete: img.complete, width: img.naturalWidth}));

  const wide = [];
  for (const pre of document.querySelectorAll('pre')) {
    if (pre.clientWidth === 0) continue;
    if (pre.scrollWidth > pre.clientWidth + 1) {
      const lines = pre.textContent.split('\n');
      const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), '');
      const input = !!pre.closest('.cell_input, .highlight-python, .highlight-ipython3, .highlight-default')
                    && !pre.closest('.cell_output, .output');
      wide.push({input, scroll: pre.scrollWidth, client: pre.clientWidth,
                 chars: longest.length, line: longest.slice(0, 120)});
    }
  }

  const tracebacks = [...document.querySelectorAll('.cell_output, .output')]
      .filter(e => e.classList.contains('traceback')
                   || /Traceback \(most recent call last\)/.test(e.textContent))
      .map(e => e.textContent.trim().slice(0, 300));

  let cjk = 0;
  for (const node of textNodes) {
    if (/[\u3400-\u9fff]/.test(node.textContent) && cjk < 3
        && node.parentElement.getClientRects().length) {
      node.parentElement.setAttribute('data-cnnbook-cjk', String(cjk++));
    }
  }
  const mathjax = [...document.scripts].map(s => s.src).filter(s => /mathjax/i.test(s));
  return {title: document.title, rawTex, untypeset, images, wide, tracebacks, cjk,
          mathjaxScripts: mathjax, mathjaxVersion: window.MathJax && MathJax.version || null,
          mathCount: document.querySelectorAll('mjx-container').length,
          height: document.documentElement.scrollHeight};
})()
"""


@dataclass
class PageReport:
    """What one page showed; ``problems`` is empty when it passes."""
    page: str
    url: str
    problems: list[str] = field(default_factory=list)
    math: int = 0
    images: int = 0
    cjk_fonts: list[str] = field(default_factory=list)
    wide_outputs: list[str] = field(default_factory=list)
    screenshot: Path | None = None
    seconds: float = 0.0


def _console_problems(events: list[dict], origin: str) -> list[str]:
    problems = []
    requests = {}
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            problems.append(f"uncaught exception: {text}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            problems.append(f"console.{params['type']}: {args}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            problems.append(f"console error ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}")
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            requests[params["requestId"]] = url
            if not url.startswith((origin, "data:", "blob:", "about:")):
                problems.append(f"request leaves the book: {url}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            problems.append(f"request failed: {requests.get(params['requestId'], '?')} {params.get('errorText')}")
        elif method == "Network.responseReceived" and params["response"].get("status", 200) >= 400:
            problems.append(f"HTTP {params['response']['status']}: {params['response']['url']}")
    return problems


def _page_problems(probe: dict, origin: str) -> list[str]:
    problems = []
    if probe["rawTex"]:
        problems.append(f"TeX left raw in the text: {probe['rawTex'][:3]}")
    if probe["untypeset"]:
        problems.append(f"math not typeset by MathJax: {probe['untypeset'][:3]}")
    if probe["mathjaxScripts"]:
        remote = [s for s in probe["mathjaxScripts"] if not s.startswith(origin)]
        if remote:
            problems.append(f"MathJax loaded from outside the book: {remote}")
        if not probe["mathjaxVersion"]:
            problems.append("MathJax did not start")
    elif probe["mathCount"] or probe["untypeset"]:
        problems.append("math on a page without MathJax")
    for image in probe["images"]:
        if not image["src"].startswith((origin, "data:")):
            problems.append(f"image from outside the book: {image['src']}")
        elif not image["complete"] or image["width"] == 0:
            problems.append(f"image did not load: {image['src'][:200]}")
    for pre in probe["wide"]:
        if pre["input"]:
            problems.append(f"code cell scrolls sideways ({pre['scroll']} > {pre['client']} px, "
                            f"{pre['chars']} characters): {pre['line']!r}")
    for traceback in probe["tracebacks"]:
        problems.append(f"traceback in an output: {traceback[:300]!r}")
    return problems


def _cjk_fonts(browser: Chromium, count: int) -> tuple[list[str], list[str]]:
    """The platform fonts Chromium used for up to ``count`` elements with Chinese text."""
    if not count:
        return [], []
    browser.send("DOM.enable")
    browser.send("CSS.enable")
    root = browser.send("DOM.getDocument", depth=0)["root"]["nodeId"]
    fonts, problems = [], []
    for node in browser.send("DOM.querySelectorAll", nodeId=root, selector="[data-cnnbook-cjk]")["nodeIds"]:
        used = browser.send("CSS.getPlatformFontsForNode", nodeId=node)["fonts"]
        names = [f"{font['familyName']} ({font['glyphCount']} glyphs)" for font in used]
        fonts.extend(names)
        if not any(CJK_FONT.search(font["familyName"]) for font in used):
            text = browser.send("DOM.getOuterHTML", nodeId=node)["outerHTML"][:120]
            problems.append(f"Chinese text drawn without a CJK font ({', '.join(names)}): {text!r}")
    browser.send("CSS.disable")
    browser.send("DOM.disable")
    return sorted(set(fonts)), problems


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Server:
    """The built book on http://127.0.0.1:PORT/ (a thread of this process)."""

    def __init__(self, folder: Path):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def check_page(browser: Chromium, url: str, origin: str, page: str,
               screenshots: Path | None = None) -> PageReport:
    """Load ``url`` and check it (see the module's docstring)."""
    start = time.monotonic()
    report = PageReport(page=page, url=url)
    browser.take_events()
    browser.send("Page.navigate", url=url)
    browser.wait_for("Page.loadEventFired")
    probe = browser.evaluate(PAGE_PROBE)
    report.cjk_fonts, cjk_problems = _cjk_fonts(browser, probe["cjk"])
    time.sleep(0.3)  # let late console messages arrive
    browser.send("Runtime.evaluate", expression="0")
    report.problems = _console_problems(browser.take_events(), origin) + _page_problems(probe, origin)
    report.problems += cjk_problems
    report.math = probe["mathCount"]
    report.images = len(probe["images"])
    report.wide_outputs = [f"{w['chars']} characters: {w['line']!r}" for w in probe["wide"] if not w["input"]]
    if screenshots is not None:
        browser.evaluate("window.scrollTo(0, 0)")
        data = browser.send("Page.captureScreenshot", format="png")["data"]
        report.screenshot = screenshots / (page.replace("/", "__") + ".png")
        report.screenshot.write_bytes(base64.b64decode(data))
    report.seconds = time.monotonic() - start
    return report


def check_book(html: str | Path, pages: list[str], screenshots: str | Path | None = None,
               executable: str | None = None) -> list[PageReport]:
    """Check each of ``pages`` (documents of the toc) of the built book in ``html``."""
    html = Path(html)
    if screenshots is not None:
        screenshots = Path(screenshots)
        screenshots.mkdir(parents=True, exist_ok=True)
    reports = []
    with _Server(html) as server, Chromium(executable) as browser:
        browser.send("Page.enable")
        browser.send("Runtime.enable")
        browser.send("Log.enable")
        browser.send("Network.enable")
        browser.send("Network.setCacheDisabled", cacheDisabled=True)
        browser.send("Emulation.setDeviceMetricsOverride", width=1280, height=1000,
                     deviceScaleFactor=1, mobile=False)
        for page in pages:
            path = html / f"{page}.html"
            if not path.exists():
                reports.append(PageReport(page=page, url=str(path), problems=[f"page not built: {path}"]))
                continue
            reports.append(check_page(browser, server.origin + f"{page}.html", server.origin, page,
                                      screenshots))
    return reports


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnbook.browser", description=__doc__.split("\n")[0])
    parser.add_argument("html", nargs="?", default="_build/html", type=Path)
    parser.add_argument("--root", default=".", type=Path, help="the book's folder (for _toc.yml)")
    parser.add_argument("--screenshots", default="_build/screenshots", type=Path)
    args = parser.parse_args(argv)
    if not find_chromium():
        print(f"no Chromium found: install it with sudo apt-get install {APT_PACKAGES}", file=sys.stderr)
        return 2
    reports = check_book(args.html, toc_pages(args.root), args.screenshots)
    for report in reports:
        status = "ok" if not report.problems else "FAILED"
        print(f"{status:6} {report.page} ({report.seconds:.1f} s, {report.math} formulas, "
              f"{report.images} images, CJK fonts: {', '.join(report.cjk_fonts) or '-'})")
        for problem in report.problems:
            print(f"       {problem}")
        for wide in report.wide_outputs:
            print(f"       note: an output scrolls sideways, {wide}")
    failed = sum(bool(r.problems) for r in reports)
    print(f"{len(reports)} pages checked, {failed} with problems; screenshots in {args.screenshots}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
