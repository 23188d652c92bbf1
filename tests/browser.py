"""A headless Chromium, driven over the DevTools protocol, looking at the built book.

`serve(directory)` serves the built site on 127.0.0.1 and `Chromium` opens its pages. For each page
`Chromium.inspect(url)` returns a `PageReport`: every request the page made, the console errors and
uncaught exceptions, the equations MathJax rendered, the images, the rendered widgets and the fonts
that actually drew a piece of Hangul text. A full-page screenshot (at half scale) can be written
for people to look at.

Chromium is the Debian package `chromium` (`.ci/run` installs it). The browser's host resolver maps
every name except 127.0.0.1 to "not found", so a page that tries to reach the network fails to,
and the request still shows up in the report.
"""

import base64
import contextlib
import dataclasses
import functools
import http.server
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import websocket  # websocket-client, a Jupyter dependency

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
HANGUL = "[\\uAC00-\\uD7A3\\u1100-\\u11FF\\u3130-\\u318F]"


def find_chromium():
    env = os.environ.get("CHROMIUM")
    if env:
        return env if shutil.which(env) else None
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def serve(directory):
    """Serve `directory` on an ephemeral port of 127.0.0.1; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@dataclasses.dataclass
class PageReport:
    url: str
    requests: list
    errors: list
    facts: dict
    hangul_fonts: list = None

    def outside(self, base):
        """Requests that did not go to the local server (data: and blob: URLs stay in the page)."""
        return [u for u in self.requests
                if not (u.startswith(base) or u.startswith(("data:", "blob:", "about:")))]


# Runs in the page once it has loaded: waits for MathJax, the fonts and the widgets, then reports.
_SETTLE = r"""
(async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  await document.fonts.ready;
  const views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]');
  for (let i = 0; i < 100 && views.length &&
       document.querySelectorAll('.jupyter-widgets.widget-container, .widget-box, .widget-slider, .widget-inline-hbox').length === 0; i++) {
    await sleep(100);
  }
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  await sleep(300);
  const math = [...document.querySelectorAll('main .math')];
  const images = [...document.querySelectorAll('main img')];
  const hangul = new RegExp(HANGUL);
  let marked = 0;
  const walker = document.createTreeWalker(document.querySelector('main') || document.body,
                                           NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!hangul.test(n.textContent) || !el || el.closest('script, style, mjx-container')) continue;
    if (el.getClientRects().length === 0) continue;
    // an element whose Hangul is all its own text, so the count below is what the fonts drew
    if ([...el.children].some(c => hangul.test(c.textContent))) continue;
    el.setAttribute('data-nl-hangul', (el.textContent.match(new RegExp(HANGUL, 'g')) || []).length);
    marked += 1;
    if (marked >= 3) break;
  }
  const sw = document.querySelector('.nl-edition-switch a');
  return {
    lang: document.documentElement.lang,
    title: document.title,
    math: math.length,
    mathRendered: math.filter(m => m.querySelector('mjx-container')).length,
    mathErrors: document.querySelectorAll('mjx-merror').length,
    images: images.length,
    imagesLoaded: images.filter(i => i.complete && i.naturalWidth > 0).length,
    brokenImages: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80)),
    widgetViews: views.length,
    widgetsRendered: document.querySelectorAll('.cell_output .jupyter-widgets, .output .jupyter-widgets').length,
    hangulNodes: marked,
    counterpart: sw ? sw.href : null,
    counterpartLang: sw ? sw.getAttribute('hreflang') : null,
    height: Math.ceil(document.documentElement.scrollHeight),
    width: Math.ceil(document.documentElement.scrollWidth),
  };
})()
""".replace("HANGUL", json.dumps(HANGUL))


class Chromium:
    """One headless Chromium with one tab, for one test session."""

    def __init__(self, executable, width=1280, height=900, timeout=60):
        self.timeout = timeout
        self.width, self.height = width, height
        self._profile = tempfile.mkdtemp(prefix="normbook-chromium-")
        args = [executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-extensions",
                "--disable-features=Translate,MediaRouter,OptimizationHints",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                "--hide-scrollbars", "--font-render-hinting=none", "--lang=en-US",
                f"--window-size={width},{height}", "--remote-debugging-port=0",
                f"--user-data-dir={self._profile}", "about:blank"]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = pathlib.Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.is_file() and port_file.read_text().strip()):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"{executable} did not start its DevTools endpoint")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            tabs = [t for t in json.load(r) if t.get("type") == "page"]
        self._ws = websocket.create_connection(tabs[0]["webSocketDebuggerUrl"], timeout=timeout,
                                               suppress_origin=True)
        self._id = 0
        self._events = []
        for domain in ("Page", "Runtime", "Network", "Log", "DOM", "CSS"):
            self.send(f"{domain}.enable")
        self.send("Network.setCacheDisabled", cacheDisabled=True)

    def send(self, method, **params):
        self._id += 1
        my_id = self._id
        self._ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv())
            if message.get("id") == my_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self._events.append(message)

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", expression=expression, awaitPromise=True,
                           returnByValue=True, timeout=self.timeout * 1000)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url):
        """Load `url` in the tab (after a blank page, so no event of the last page lingers)."""
        self._navigate("about:blank")
        self._events.clear()
        self.send("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                  deviceScaleFactor=1, mobile=False)
        self._navigate(url)

    def _navigate(self, url):
        """Navigate and wait until that document (not a previous one) has loaded."""
        self.send("Page.navigate", url=url)
        deadline = time.monotonic() + self.timeout
        probe = "document.readyState + ' ' + location.href"
        while self.evaluate(probe) != f"complete {url}":
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not load")
            time.sleep(0.05)

    def search(self, url, query):
        """Run the book's own search page for `query`; returns the result links' URLs."""
        self.open(url + "?q=" + urllib.parse.quote(query))
        return self.evaluate(r"""
        (async () => {
          for (let i = 0; i < 200; i++) {
            // the summary line stays empty until the search has finished
            const summary = document.querySelector('#search-results .search-summary');
            if (summary && summary.textContent.trim()) break;
            await new Promise(r => setTimeout(r, 50));
          }
          return [...document.querySelectorAll('#search-results ul.search li a')].map(a => a.href);
        })()""")

    def inspect(self, url, screenshot=None):
        self.open(url)
        facts = self.evaluate(_SETTLE)
        self.send("Runtime.evaluate", expression="0")  # collects the events queued meanwhile
        fonts = self._hangul_fonts()
        if screenshot is not None:
            self._screenshot(screenshot, facts)
        requests, errors = [], []
        for event in self._events:
            method, params = event["method"], event.get("params", {})
            if method == "Network.requestWillBeSent":
                requests.append(params["request"]["url"])
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                text = details.get("exception", {}).get("description") or details.get("text")
                errors.append(f"uncaught: {text}")
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                errors.append("console: " + " ".join(str(a.get("value", a.get("description", "")))
                                                     for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                entry = params["entry"]
                errors.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                errors.append(f"network: {params.get('errorText')} ({params.get('type')})")
        return PageReport(url=url, requests=requests, errors=errors, facts=facts,
                          hangul_fonts=fonts)

    def _hangul_fonts(self):
        """For each marked element holding Hangul: (its Hangul count, its HTML, the fonts that drew it)."""
        root = self.send("DOM.getDocument", depth=0)["root"]["nodeId"]
        nodes = self.send("DOM.querySelectorAll", nodeId=root, selector="[data-nl-hangul]")["nodeIds"]
        out = []
        for node in nodes:
            fonts = self.send("CSS.getPlatformFontsForNode", nodeId=node)["fonts"]
            count = self.send("DOM.getAttributes", nodeId=node)["attributes"]
            count = int(count[count.index("data-nl-hangul") + 1])
            text = self.send("DOM.getOuterHTML", nodeId=node)["outerHTML"]
            out.append((count, text[:160], fonts))
        return out

    def _screenshot(self, path, facts):
        height = min(facts["height"], 16000)
        self.send("Emulation.setDeviceMetricsOverride", width=self.width, height=height,
                  deviceScaleFactor=1, mobile=False)
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": self.width, "height": height, "scale": 0.5})
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self):
        with contextlib.suppress(Exception):
            self._ws.close()
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        shutil.rmtree(self._profile, ignore_errors=True)
