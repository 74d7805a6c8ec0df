"""``zswaplab agent --backend cgroupfs`` inside the guest against the real cgroup tree of each stock kernel."""

from __future__ import annotations

import json

import pytest

from .helpers import find

pytestmark = [pytest.mark.vm, pytest.mark.scenario("agent_on_real_kernel")]


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


def test_agent_dry_run_detects_no_interface_and_writes_nothing(agent_records):
    dry = next(r for r in find(agent_records, "exec") if "--dry-run" in r["action"]["argv"])
    assert dry["result"]["rc"] == 0, dry["result"]["stderr"][-2000:]
    ev = _events(dry["result"]["stderr"])
    cap = next(e for e in ev if e["event"] == "capability")
    assert cap["interface"] == "none"
    cycles = [e for e in ev if e["event"] == "cycle"]
    assert cycles and all(int(e["written"]) == 0 for e in cycles)


def test_agent_reclaims_paced_by_psi_and_serves_metrics(kernel, agent_records):
    """No writeback interface on a stock kernel: the agent moves cold anon memory into zswap with PSI-paced
    memory.reclaim instead (swappiness=max on 7.2, which accepts it; 6.12 rejects the key)."""
    from .facts import is_612

    live = next(r for r in find(agent_records, "exec") if "--metrics-port" in r["action"]["argv"])
    assert live["result"]["rc"] == 0, live["result"]["stderr"][-2000:]
    ev = _events(live["result"]["stderr"])
    cap = next(e for e in ev if e["event"] == "capability")
    assert cap["interface"] == "none"
    assert "'0 source=zswap' -> EINVAL" in cap["detail"] and "'0 zswap_writeback_only' -> EINVAL" in cap["detail"]
    probe = next(e for e in ev if e["event"] == "reclaim_capability")
    if not is_612(kernel):
        assert probe["key"] == "swappiness=max" and "accepted" in probe["detail"], probe
    else:
        assert probe["key"] != "swappiness=max", probe  # 6.12 answers EINVAL to it
    cycles = [e for e in ev if e["event"] == "cycle"]
    assert len(cycles) == 5
    assert any("reclaimed" in e["outcomes"] for e in cycles)
    assert all(int(e["written"]) == 0 for e in cycles)  # nothing written back: there is no interface
    scrape = live["result"]["scrape"]
    assert scrape["ok"] and scrape["status"] == 200
    assert "zswaplab_agent_targets 1.0" in scrape["body"]
