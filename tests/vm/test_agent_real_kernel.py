"""Part 3: ``zswaplab agent --backend cgroupfs`` inside the guest against the real 6.12 cgroup tree."""

from __future__ import annotations

import json

import pytest

from .helpers import find

pytestmark = pytest.mark.vm


def _events(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def agent_records(kernel_run):
    return kernel_run("agent_on_real_kernel").records


def test_agent_parsers_read_the_real_files(agent_records):
    parse = next(r for r in find(agent_records, "exec") if "parse_memory_stat" in r["action"]["argv"][-1])
    assert parse["result"]["rc"] == 0, parse["result"]["stderr"]
    out = json.loads(parse["result"]["stdout"])
    assert out["bad_lines"] == []
    assert out["stat"] == out["stat_reference"]
    assert out["stat"]["zswpout"] > 0 and "zswpwb" in out["stat"] and "zswapped" in out["stat"]
    ref = out["pressure_reference"]
    assert out["pressure"]["some_total"] == ref["some"]["total"]
    assert out["pressure"]["some_avg10"] == ref["some"]["avg10"]
    assert out["pressure"]["full_avg60"] == ref["full"]["avg60"]


def test_agent_dry_run_detects_no_interface_and_observes(agent_records):
    dry = next(r for r in find(agent_records, "exec") if "--dry-run" in r["action"]["argv"])
    assert dry["result"]["rc"] == 0, dry["result"]["stderr"][-2000:]
    ev = _events(dry["result"]["stderr"])
    cap = next(e for e in ev if e["event"] == "capability")
    assert cap["interface"] == "none"
    assert any(e["event"] == "observe_only" for e in ev)
    cycles = [e for e in ev if e["event"] == "cycle"]
    assert cycles and all(e["requested"] == 0 and e["written"] == 0 for e in cycles)


def test_agent_probes_find_einval_and_metrics_endpoint_serves(agent_records):
    live = next(r for r in find(agent_records, "exec") if "--metrics-port" in r["action"]["argv"])
    assert live["result"]["rc"] == 0, live["result"]["stderr"][-2000:]
    ev = _events(live["result"]["stderr"])
    cap = next(e for e in ev if e["event"] == "capability")
    assert cap["interface"] == "none"
    assert "'0 source=zswap' -> EINVAL" in cap["detail"] and "'0 zswap_writeback_only' -> EINVAL" in cap["detail"]
    assert len([e for e in ev if e["event"] == "cycle"]) == 5
    scrape = live["result"]["scrape"]
    assert scrape["ok"] and scrape["status"] == 200
    assert 'zswaplab_agent_interface_info{interface="none"} 1.0' in scrape["body"]
    assert 'zswaplab_agent_targets 1.0' in scrape["body"]
