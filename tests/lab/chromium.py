"""Render a page in real headless Chromium (Debian's ``chromium``) over the DevTools protocol.

:func:`render` loads a file, collects every console message, JavaScript exception and browser log entry
(failed resource loads included), decodes every ``<img>`` (``HTMLImageElement.decode()``) and can save a
screenshot. Used by the browser test and to refresh the screenshots under ``docs/``::

    python -m tests.lab.chromium docs/screenshots out/a/report.html out/b/report.html ...
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket

BROWSERS = ("chromium", "chromium-browser")


def browser() -> str | None:
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


@dataclass
class Rendered:
    messages: list[dict[str, Any]] = field(default_factory=list)  # console / exception / log entries
    images: list[dict[str, Any]] = field(default_factory=list)  # alt, decoded, naturalWidth, naturalHeight
    title: str = ""
    text: str = ""


class _Cdp:
    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(url, timeout=60, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_for(self, method: str, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > end:
                raise TimeoutError(method)
            self.events.append(json.loads(self.ws.recv()))


def render(page: Path, screenshot: Path | None = None, width: int = 1280, height: int = 1600) -> Rendered:
    exe = browser()
    if exe is None:
        raise FileNotFoundError("chromium is not installed (scripts/install-test-deps.sh installs it)")
    # Chromium's helper processes can still be writing the profile when the browser itself has exited: the whole
    # process group is stopped, and a file that appears during the cleanup is not an error of the page
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        proc = subprocess.Popen([exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                 "--disable-extensions", "--remote-debugging-port=0", f"--user-data-dir={profile}",
                                 "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            port_file = Path(profile, "DevToolsActivePort")
            end = time.monotonic() + 60
            while not (port_file.exists() and port_file.read_text().strip()):
                if time.monotonic() > end or proc.poll() is not None:
                    raise RuntimeError("chromium did not start its DevTools endpoint")
                time.sleep(0.05)
            port = int(port_file.read_text().split()[0])
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as f:
                targets = json.load(f)
            url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
            cdp = _Cdp(url)
            for domain in ("Page", "Runtime", "Log"):
                cdp.call(f"{domain}.enable")
            cdp.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                     mobile=False)
            cdp.events.clear()
            cdp.call("Page.navigate", url=page.resolve().as_uri())
            cdp.wait_for("Page.loadEventFired")
            out = Rendered()
            imgs = cdp.call("Runtime.evaluate", awaitPromise=True, returnByValue=True, expression="""
                Promise.all(Array.from(document.images).map(i => i.decode().then(() => true, () => false)
                  .then(ok => ({alt: i.alt, decoded: ok, naturalWidth: i.naturalWidth,
                                naturalHeight: i.naturalHeight}))))""")
            out.images = imgs["result"]["value"]
            doc = cdp.call("Runtime.evaluate", returnByValue=True,
                           expression="({title: document.title, text: document.body.innerText})")["result"]["value"]
            out.title, out.text = doc["title"], doc["text"]
            if screenshot is not None:
                shot = cdp.call("Page.captureScreenshot", format="png")
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                screenshot.write_bytes(base64.b64decode(shot["data"]))
            for e in cdp.events:
                m = e.get("method")
                if m == "Runtime.consoleAPICalled":
                    out.messages.append({"kind": "console", "level": e["params"]["type"],
                                         "text": " ".join(str(a.get("value", a.get("description", "")))
                                                          for a in e["params"]["args"])})
                elif m == "Runtime.exceptionThrown":
                    out.messages.append({"kind": "exception", "level": "error",
                                         "text": e["params"]["exceptionDetails"].get("text", "")})
                elif m == "Log.entryAdded":
                    entry = e["params"]["entry"]
                    out.messages.append({"kind": "log", "level": entry["level"], "text": entry["text"],
                                         "url": entry.get("url", "")})
            cdp.ws.close()
            return out
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


if __name__ == "__main__":
    dest = Path(sys.argv[1])
    for p in map(Path, sys.argv[2:]):
        name = p.parent.name if p.name == "report.html" else p.stem
        r = render(p, dest / f"{name}.png")
        print(name, f"{len(r.images)} images, {len(r.messages)} console messages", file=sys.stderr)
        if os.environ.get("VERBOSE"):
            print(json.dumps(r.messages, indent=1), file=sys.stderr)
