"""Each HTML report renders in real headless Chromium with no console message and every image decoded.

Reports of reduced runs (a few seconds each): every kind of lab report (fairness, agent, checks, global
shrinker counters) and the contention page. Chromium is Debian's ``chromium`` (scripts/install-test-deps.sh);
without it the test is skipped, except under `make test` (which installs it first and sets
ZSWAPLAB_REQUIRE_BROWSER=1; `.ci/run` runs `make test`) or on CI, where it fails.
"""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from tests.lab.chromium import browser, render
from zswaplab.cli import main

if browser() is None:
    pytestmark = pytest.mark.skipif(not (os.environ.get("CI") or os.environ.get("ZSWAPLAB_REQUIRE_BROWSER")),
                                    reason="chromium not installed")

RUNS = {
    "a": ["run", "a", "--reduced", "-p", "v3,v5", "--set", "wb_batch=32"],
    "b": ["run", "b", "--reduced", "-s", "restart,per-memcg"],
    "c": ["run", "c_selftests", "--reduced"],
    "d": ["run", "d", "--reduced"],
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reports")
    out = {}
    for name, args in RUNS.items():
        r = CliRunner().invoke(main, [*args, "-o", str(tmp / name)])
        assert r.exit_code in (0, 1), r.output  # c fails its v5 check by design
        out[name] = tmp / name / "report.html"
    r = CliRunner().invoke(main, ["contention", "-m", "0", "-m", "4", "--duration", "0.05", "--out",
                                  str(tmp / "contention")])
    assert r.exit_code == 0, r.output
    out["contention"] = tmp / "contention" / "contention.html"
    return out


@pytest.mark.parametrize("name", [*RUNS, "contention"])
def test_report_loads_cleanly_and_every_image_decodes(reports, name):
    page = render(reports[name])
    assert page.messages == [], page.messages
    if name != "c":  # the selftests' report is tables only
        assert page.images, "a report without its plots"
    for img in page.images:
        assert img["decoded"] and img["naturalWidth"] > 0 and img["naturalHeight"] > 0, img
    if name in RUNS:
        assert page.text.index("Answer:") < page.text.index("Summary")  # leads with its answer


def test_the_check_sees_broken_images_and_console_errors(tmp_path):
    # the negative control: a test that cannot fail checks nothing
    p = tmp_path / "bad.html"
    p.write_text('<!doctype html><title>x</title><img alt="broken" src="data:image/png;base64,AAAA">'
                 '<script>console.error("boom")</script>')
    page = render(p)
    assert [m["text"] for m in page.messages if m["kind"] == "console"] == ["boom"]
    assert page.images == [{"alt": "broken", "decoded": False, "naturalWidth": 0, "naturalHeight": 0}]


def test_make_test_installs_and_requires_the_browser() -> None:
    """`.ci/run` runs `make test`, which installs chromium before pytest and makes a missing browser a failure
    (not a skip)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    assert "make test" in (root / ".ci" / "run").read_text()
    recipe = (root / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0]
    deps, run = recipe.index("scripts/install-test-deps.sh"), recipe.index("-m pytest")
    assert deps < run and "ZSWAPLAB_REQUIRE_BROWSER=1" in recipe[deps:]
    assert "need+=(chromium)" in (root / "scripts" / "install-test-deps.sh").read_text()
