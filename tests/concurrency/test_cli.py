"""``zswaplab check`` / ``zswaplab contention`` through the real CLI group."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from zswaplab.cli import main


def test_check_exit_status_and_trace() -> None:
    r = CliRunner().invoke(main, ["check", "xchg_sketch", "--threads", "3", "--memcgs", "4", "--rounds", "2"])
    assert r.exit_code == 1, r.output
    assert "VIOLATION" in r.output and "reference leak" in r.output
    assert "CPU1 shrink_worker" in r.output and "CPU2 proactive(root)" in r.output
    assert "FAILS" in r.output
    assert "states/s" in r.output
    ok = CliRunner().invoke(main, ["check", "global_lock", "-t", "3", "-n", "4", "-k", "2"])
    assert ok.exit_code == 0, ok.output
    assert "VERIFIED" in ok.output and "states explored" in ok.output


def test_check_rejects_bad_sizes() -> None:
    r = CliRunner().invoke(main, ["check", "global_lock", "--threads", "1"])
    assert r.exit_code == 2
    assert "threads=1" in r.output


def test_contention_writes_plot_and_page(tmp_path: Path) -> None:
    out = tmp_path / "report"
    r = CliRunner().invoke(main, ["contention", "--agents", "1", "--agents", "12", "--duration", "0.1",
                                  "--strategy", "memcg_global_lock", "--cost", "agent_interval_s=0.05",
                                  "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "regression" in r.output and "reclaim regression > 1%" in r.output
    png = (out / "contention.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "contention.html").read_text()
    assert "memcg_global_lock" in page and "assumption" in page and "published" in page
    import base64

    assert f'src="data:image/png;base64,{base64.b64encode(png).decode()}"' in page  # embedded, not linked
    assert "cursor algorithm" in r.output


def test_contention_rejects_bad_cost() -> None:
    r = CliRunner().invoke(main, ["contention", "--cost", "nope=1"])
    assert r.exit_code == 2
    assert "unknown field 'nope'" in r.output


def test_contention_refuses_an_unsafe_algorithm() -> None:
    r = CliRunner().invoke(main, ["contention", "--strategy", "cmpxchg_iter", "--agents", "1", "--duration", "0.01"])
    assert r.exit_code == 1
    assert "not safe to time" in r.output and "zswaplab check cmpxchg_iter" in r.output


def test_contention_report_is_byte_identical_for_the_same_inputs(tmp_path: Path) -> None:
    args = ["contention", "--agents", "3", "--duration", "0.05", "--algorithm", "memcg_lock",
            "--cost", "agent_interval_s=0.01"]
    outs = []
    for name in ("a", "b"):
        r = CliRunner().invoke(main, [*args, "--out", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
        outs.append(r.output.replace(str(tmp_path / name), "DIR"))
    assert outs[0] == outs[1]
    for f in ("contention.png", "contention.html"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()


def test_contention_algorithm_option_and_calibration_parse() -> None:
    from zswaplab.concurrency.calibrate import CalibrationUnavailable, parse

    r = CliRunner().invoke(main, ["contention", "--help"])
    assert "--algorithm" in r.output
    cal = parse("cpus 2\natomic_ns 2.5\nlock_ns 30\npingpong_ns 15\nhandoff_ns 70\n")
    assert cal.overrides() == ["atomic_ns=2.50", "lock_ns=30.00", "handoff_ns=70.00"]
    assert "measured on this machine" in cal.describe()
    import pytest

    with pytest.raises(CalibrationUnavailable):
        parse("cpus 2\n")


def test_strategy_names_of_run_are_accepted_by_check_and_contention() -> None:
    """One name per cursor strategy: `zswaplab run --strategy per-memcg` and `check`/`contention` agree."""
    import json

    r = CliRunner().invoke(main, ["check", "per-memcg", "-t", "2", "-n", "3", "-k", "1", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["config"]["algorithm"] == "memcg_lock"
    r = CliRunner().invoke(main, ["contention", "--strategy", "per-memcg-global-lock", "--agents", "1",
                                  "--duration", "0.02"])
    assert r.exit_code == 0, r.output
    assert "memcg_global_lock" in r.output
    r = CliRunner().invoke(main, ["contention", "--strategy", "restart", "--agents", "1"])
    assert r.exit_code == 2 and "shares no cursor" in r.output


def _whole(output: str, texts: list[str]) -> None:
    """At most 80 columns, no cell cut with "…", and every word of every text printed whole."""
    assert "…" not in output
    assert max(len(line) for line in output.splitlines()) <= 80
    words = set(output.split())
    for t in texts:
        for w in t.split():
            assert w in words, (w, t)


def test_counterexample_and_contention_tables_are_whole_at_80_columns() -> None:
    """At 80 columns the counterexample is a list (CPU, step, shared state): every step's text is printed whole,
    as is every contention cell (lock waits in µs)."""
    from zswaplab.concurrency.checker import CheckConfig, check

    args = ["check", "xchg_sketch", "-t", "3", "-n", "5", "-k", "3"]
    r = CliRunner().invoke(main, args, env={"COLUMNS": "80"})
    assert r.exit_code == 1, r.output
    res = check(CheckConfig("xchg_sketch", threads=3, memcgs=5, rounds=3))
    _whole(r.output, [s.text for s in res.trace] + [s.shared for s in res.trace])
    assert "try_cmpxchg(root.pos, NULL, m1) FAILS" in r.output  # one step, one line
    wide = CliRunner().invoke(main, args, env={"COLUMNS": "200"})  # wide enough: one column per CPU
    assert "┃ CPU1 shrink_worker" in wide.output and "try_cmpxchg(root.pos, NULL, m1) FAILS" in wide.output
    c = CliRunner().invoke(main, ["contention", "-m", "1000", "--duration", "0.2", "--zombies", "300", "--pattern",
                                  "same", "--algorithm", "memcg_global_lock", "--cost", "agent_interval_s=0.05"],
                           env={"COLUMNS": "80"})
    assert c.exit_code == 0, c.output
    table = c.output.split("cost model:")[0]
    _whole(table, ["memcg_global_lock", "lock wait p50 / p99 / max (µs)", "regression vs M=0"])
    assert any(line.split()[:2] == ["memcg_global_lock", "1000"] for line in table.splitlines())
