"""CLI (run / compare / demo), output files, the HTML report, and determinism of the whole pipeline."""

from __future__ import annotations

import base64
import csv
import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from rich.console import Console

from zswaplab.lab import cli
from zswaplab.lab.adapter import kernel_available
from zswaplab.lab.records import AgentRun, AgentStep, CallRecord, RunRecord
from zswaplab.lab.report import write_report

needs_kernel = pytest.mark.skipif(not kernel_available(), reason="kernel model not available")


def fake_run(strategy: str, per_call: list[dict[str, int]]) -> tuple[RunRecord, dict]:
    """Recorded data without the model (report plumbing only)."""
    children = ["/p/a", "/p/b"]
    rec = RunRecord(scenario="s", variant=f"strategy={strategy}", axes={"strategy": strategy}, profile="v5",
                    strategy=strategy, seed=0, parent="/p", children=children, eligible=dict.fromkeys(children, 10**6))
    for i, pages in enumerate(per_call):
        rec.calls.append(CallRecord(index=i, clock_ns=i, target="/p", file="memory.reclaim", text="x", errno=0,
                                    pages=pages, bytes={k: v * 1000 for k, v in pages.items()}))
    steps = [AgentStep(step=i + 1, clock_ns=i, errno=0, written_pages={"/p/a": 10 * i, "/p/b": 0},
                       refaulted_pages={"/p/a": i, "/p/b": 0}, refault_rate={"/p/a": i * 1000.0, "/p/b": 0.0})
             for i in range(5)]
    rec.agents.append(AgentRun(target="/p", threshold=3000.0, steps=steps, aborted=True, abort_step=4,
                               abort_child="/p/a", bytes_by_group={"inactive": 5000, "active": 1000},
                               pages_by_group={"inactive": 5, "active": 1}))
    from zswaplab.lab.metrics import summarize

    return rec, summarize(rec.calls, rec.eligible, [], [])


def test_report_is_self_contained_html_with_pngs(tmp_path):
    runs = [fake_run("restart", [{"/p/a": 3}] * 5), fake_run("per-memcg", [{"/p/a": 1}, {"/p/b": 1}] * 3)]
    p = write_report(tmp_path, "t", "d", runs)
    text = p.read_text()
    imgs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    # Jain (all groups in one figure) + cumulative for the one strategy group + one agent timeline per agent run
    assert len(imgs) == 1 + 1 + 2
    for b in imgs:
        assert base64.b64decode(b)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "src=\"http" not in text and "<script" not in text
    assert "strategy=restart" in text and "stopped at step" in text
    assert "<summary>Proactive calls</summary>" in text  # both fake runs made <= 10 calls
    # the page leads with the answer, computed from the runs: restart never wrote /p/b
    assert text.index("class='answer'") < text.index("<h2>Summary</h2>")
    for r, _m in runs:
        r.agents.clear()
    text = write_report(tmp_path, "t", "d", runs).read_text()
    assert "Answer:</b> Yes: in 5–6 calls restart left up to 1 of 2 children with no writeback at all" in text


def test_resolve_scenario_names():
    assert cli.resolve_scenario("a").name == "a_repeated_small_budgets.toml"
    assert cli.resolve_scenario("b-premature-abort").name == "b_premature_abort.toml"
    with pytest.raises(click.BadParameter, match="ambiguous"):
        cli.resolve_scenario("c")
    with pytest.raises(click.BadParameter, match="no scenario"):
        cli.resolve_scenario("zzz")
    with pytest.raises(click.BadParameter, match="did you mean 'b_premature_abort'"):
        cli.resolve_scenario("b_premature_abrot")


def test_bad_scenario_file_error_names_line(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('[scenario]\nname = "x"\nseed = "s"\n')
    r = CliRunner().invoke(cli.run, [str(f), "--out", str(tmp_path / "o")])
    assert r.exit_code != 0
    assert f"{f}:3: scenario.seed:" in r.output


@needs_kernel
def test_run_writes_outputs_and_is_deterministic(tmp_path):
    outs = []
    for d in ("o1", "o2"):
        r = CliRunner().invoke(cli.run, ["c-v5", "--reduced", "--set", "entries=1024", "-p", "v5",
                                         "--out", str(tmp_path / d)])
        # the v5 edge case fails its "first call wrote something" check by design: exit status 1
        assert r.exit_code == 1 and "FAIL 1/2" in r.output, r.output
        outs.append(tmp_path / d)
    vdir = outs[0] / "profile=v5__entries=1024"
    for name in ("stats.jsonl", "stats.csv", "calls.jsonl", "summary.json"):
        assert (vdir / name).read_bytes() == (outs[1] / vdir.name / name).read_bytes(), name
    assert (outs[0] / "summary.json").read_bytes() == (outs[1] / "summary.json").read_bytes()
    # memory.stat of every memcg after every step: setup + 2 proactive calls = 3 steps x (/, /edge)
    snaps = [json.loads(line) for line in (vdir / "stats.jsonl").read_text().splitlines()]
    assert [(s["step"], s["memcg"]) for s in snaps] == [(i, m) for i in range(3) for m in ("/", "/edge")]
    assert snaps[0]["stat"]["zswapped"] == 1024 * 4096
    rows = list(csv.DictReader(open(vdir / "stats.csv")))
    assert len(rows) == 6 and rows[-1]["memcg"] == "/edge" and int(rows[-1]["zswpwb"]) == 1024
    calls = [json.loads(line) for line in (vdir / "calls.jsonl").read_text().splitlines()]
    assert [c["errno"] for c in calls] == [11, 0]  # EAGAIN having written nothing, then everything
    assert (outs[0] / "report.html").exists()


@needs_kernel
def test_seed_option_changes_seed(tmp_path):
    r = CliRunner().invoke(cli.run, ["c-v5", "--reduced", "--set", "entries=16", "-p", "v5", "--seed", "42",
                                     "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output  # 16 entries: the first call writes, every check passes
    s = json.loads((tmp_path / "summary.json").read_text())
    assert {v["seed"] for v in s["variants"]} == {42}


@needs_kernel
def test_compare_prints_side_by_side():
    r = CliRunner().invoke(cli.compare, ["a", "--reduced", "-s", "restart,per-memcg", "-p", "v5",
                                         "--set", "wb_batch=64", "--set", "budget=16K"], terminal_width=150)
    assert r.exit_code == 0, r.output
    assert "restart" in r.output and "per-memcg" in r.output and "Jain (normalised)" in r.output
    # with 1M per child restart reaches every child too, but only after 39 calls (the cursor: 12)
    assert "Answer: No: in 40 calls every child was reached: by restart within 39 calls" in r.output.replace("\n", "")
    assert r.output.count("profile=v5,wb_batch=64,budget=16K") == 1


@needs_kernel
def test_unknown_strategy_is_rejected():
    r = CliRunner().invoke(cli.compare, ["a", "--reduced", "-s", "restart,bogus"])
    assert r.exit_code != 0 and "unknown strategy 'bogus'" in r.output


@needs_kernel
def test_demo_leads_each_section_with_its_answer_at_80_columns():
    console = Console(record=True, width=80)
    cli.demo(console)
    text = console.export_text()
    assert text.count("Answer:") == 3
    assert "writes nothing" in text and "512 KiB of 1 MiB" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text  # no cell cut


@needs_kernel
def test_demo_json_has_each_sections_answer():
    from zswaplab.cli import main

    r = CliRunner().invoke(main, ["demo", "--json"])
    assert r.exit_code == 0, r.output
    secs = json.loads(r.output)
    assert [s["id"] for s in secs] == ["a", "b", "c", "agent"]
    assert all(s["answer"] and len(s["rows"][0]) == len(s["header"]) for s in secs)
    assert secs[1]["answer"].startswith("Yes: with restart the agent stopped")


@needs_kernel
def test_run_exits_1_when_a_check_fails_and_prints_at_80_columns(tmp_path):
    r = CliRunner().invoke(cli.run, ["c_selftests", "--reduced", "-o", str(tmp_path / "all")], terminal_width=80)
    assert r.exit_code == 1, r.output
    assert "FAIL 7/9" in r.output and "a check failed" in r.output
    assert "1024 pages" in r.output  # v2-v4 wrote the target's own 1024 pages (not "0")
    assert max(len(line) for line in r.output.splitlines()) <= 80
    assert "varia" not in r.output.replace("variant", "")  # no header cut in the middle of a word
    ok = CliRunner().invoke(cli.run, ["c_selftests", "--reduced", "-p", "v2,v3", "-o", str(tmp_path / "ok")])
    assert ok.exit_code == 0, ok.output


@needs_kernel
def test_set_errors_blame_the_command_line(tmp_path):
    r = CliRunner().invoke(cli.run, ["b", "--reduced", "--set", "step=12Q", "-o", str(tmp_path)])
    assert r.exit_code != 0
    assert "--set step=12Q (used at timeline[0].step" in r.output and "not a size: '12Q'" in r.output
    r = CliRunner().invoke(cli.run, ["b", "--reduced", "--set", "stpe=4K", "-o", str(tmp_path)])
    assert "--set stpe=4K: not a kernel axis" in r.output and "did you mean 'step'?" in r.output


@needs_kernel
def test_report_rerenders_a_run_without_running_it(tmp_path):
    r = CliRunner().invoke(cli.run, ["b", "--reduced", "-s", "restart,per-memcg", "--json", "-o", str(tmp_path)])
    assert r.exit_code == 0, r.output
    ran = json.loads(r.output)
    html = (tmp_path / "report.html").read_text()
    (tmp_path / "report.html").unlink()
    rep = CliRunner().invoke(cli.report_cmd, [str(tmp_path), "--json"])
    assert rep.exit_code == 0, rep.output
    again = json.loads(rep.output)
    assert again["answers"] == ran["answers"] and ran["answers"][0].startswith("Yes: with restart the agent")
    assert again["variants"] == ran["variants"]
    assert (tmp_path / "report.html").read_text() == html  # the same page from the saved files
    term = CliRunner().invoke(cli.report_cmd, [str(tmp_path), "--no-html"], terminal_width=80)
    assert "Answer: Yes: with restart" in term.output and "512 KiB of 1 MiB" in term.output
    bad = CliRunner().invoke(cli.report_cmd, [str(tmp_path / "strategy=restart")])  # a variant dir
    assert bad.exit_code != 0 and "summary.json: not a run's summary" in bad.output


def test_scenarios_lists_each_with_its_question():
    r = CliRunner().invoke(cli.scenarios_cmd, ["--json"])
    items = json.loads(r.output)
    assert [i["name"] for i in items] == sorted(p.stem for p in Path(cli.SCENARIO_DIR).glob("*.toml"))
    assert all(i["question"].endswith("?") for i in items)


def test_commands_exported():
    assert {c.name for c in cli.commands} == {"run", "compare", "report", "scenarios", "timeline"}
    assert Path(cli.SCENARIO_DIR).is_dir()


def test_heat_strip_levels():
    from zswaplab.lab.ascii import heat, line_chart

    assert heat([0.0, 1.0, 0.5, 0.01]) == " █▄▁"  # anything written shows, nothing is blank
    lines = line_chart({"x": [0, 1, 2, 3], "y": [0, 1, 2, 3]}, width=8, height=4)
    assert lines[0].startswith("3 |") and lines[3].startswith("0 |") and "*" in lines[0]


@needs_kernel
def test_timeline_and_ascii_views_of_a_saved_run(tmp_path):
    r = CliRunner().invoke(cli.run, ["b", "--reduced", "-s", "restart", "--ascii", "-o", str(tmp_path)],
                           terminal_width=80)
    assert r.exit_code == 0, r.output
    assert re.search(r"\|[▁▂▃▄▅▆▇█] \|", r.output), r.output  # c0 wrote some, c1 nothing
    rows = list(csv.DictReader(open(tmp_path / "strategy=restart" / "stats.csv")))
    top = max(int(x["zswpwb"]) for x in rows if x["memcg"] == "/parent/c0")
    t = CliRunner().invoke(cli.timeline_cmd, [str(tmp_path), "zswpwb", "-m", "/parent/c0", "-m", "/parent/c1",
                                              "--png", str(tmp_path / "t.png")], terminal_width=80)
    assert t.exit_code == 0, t.output
    assert t.output.splitlines()[1].startswith(f"{top} |") and "b = /parent/c1" in t.output
    assert t.output.startswith("zswpwb (pages) per memcg")  # memory.stat's zswp* events count pages
    z = CliRunner().invoke(cli.timeline_cmd, [str(tmp_path), "zswap", "-m", "/parent/c0"], terminal_width=80)
    assert z.output.startswith("zswap (bytes, compressed) per memcg"), z.output
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = CliRunner().invoke(cli.timeline_cmd, [str(tmp_path), "zswpbw"])
    assert bad.exit_code != 0 and "did you mean 'zswpwb'?" in bad.output


def test_check_json_carries_the_verdict_and_the_counterexample():
    from zswaplab.cli import main

    r = CliRunner().invoke(main, ["check", "xchg_sketch", "--json"])
    assert r.exit_code == 1  # the sketch leaks a reference: a violation, exit 1 as without --json
    d = json.loads(r.output)
    assert d["ok"] is False and "reference leak" in d["violation"]
    assert d["counterexample"] and {"tid", "text"} <= set(d["counterexample"][0])


def test_stat_reads_a_real_cgroup_directory_or_a_saved_memory_stat(tmp_path):
    from zswaplab.cli import main

    (tmp_path / "web").mkdir()
    (tmp_path / "memory.stat").write_text("anon 4096\nzswap 524288\nzswpwb 10\npswpin 2\n")
    (tmp_path / "web" / "memory.stat").write_text("zswap 1048576\nzswpwb 0\n")
    (tmp_path / "web" / "memory.zswap.max").write_text("2097152\n")
    (tmp_path / "web" / "memory.zswap.writeback").write_text("0\n")
    r = CliRunner().invoke(main, ["stat", str(tmp_path)], terminal_width=80)
    assert r.exit_code == 0, r.output
    lines = {ln.split()[0]: ln.split()[1:] for ln in r.output.splitlines() if ln.strip() and ln.split()[0] in
             ("zswap", "zswpwb", "memory.zswap.max", "memory.zswap.writeback")}
    assert lines["zswap"] == ["512", "KiB", "1", "MiB"] and lines["zswpwb"] == ["10", "pages", "0", "pages"]
    assert "zswap: compressed size" in r.output
    assert lines["memory.zswap.max"] == ["–", "2", "MiB"] and lines["memory.zswap.writeback"] == ["–", "off"]
    j = CliRunner().invoke(main, ["stat", str(tmp_path / "web" / "memory.stat"), "--json"])
    assert json.loads(j.output)[0]["stat"] == {"zswap": 1048576, "zswpwb": 0}
    bad = CliRunner().invoke(main, ["stat", str(tmp_path / "web" / "memory.zswap.max")])
    assert bad.exit_code != 0 and "not a memory.stat" in bad.output
