"""Signals, --once/--dry-run through the CLI, and the metrics endpoint over loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from click.testing import CliRunner

from zswaplab.agent.cli import agent as agent_cmd
from zswaplab.agent.mirror import ModelTree
from zswaplab.kernel import Kernel, KernelConfig

from .conftest import policy


def test_sigterm_during_write_abandons_step_cleanly(rig) -> None:
    r = rig("v5")
    r.mk("/a", 4096)
    r.mk("/b", 4096)
    ag = r.agent(policy(path="/*"))
    ag.start()
    old = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    ag.install_signal_handlers()
    try:
        n = [0]

        def on_write(path, f, text):
            n[0] += 1
            if n[0] == 2:  # the signal lands while the kernel is inside the second write
                signal.raise_signal(signal.SIGTERM)

        r.tree.on_write = on_write
        rep = ag.run(max_cycles=5)
    finally:
        signal.signal(signal.SIGTERM, old[0])
        signal.signal(signal.SIGINT, old[1])
    assert len(rep) == 1 and [x.outcome for x in rep[0].results] == ["abandoned"]
    assert len(r.proactive_writes()) == 1  # the interrupted (second) write never reached the kernel
    assert r.events("step_abandoned")[0]["cgroup"] == "/a" and r.events("stopped")


def test_sigint_between_steps_finishes_the_step(rig) -> None:
    r = rig("v5")
    r.mk("/a", 4096)
    ag = r.agent(policy())
    old = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    ag.install_signal_handlers()
    try:
        r.be.sleep = lambda seconds, stop: signal.raise_signal(signal.SIGINT)  # type: ignore[method-assign]
        rep = ag.run(max_cycles=5)
    finally:
        signal.signal(signal.SIGINT, old[0])
        signal.signal(signal.SIGTERM, old[1])
    res = rep[0].results[0]
    assert len(rep) == 1 and res.outcome == "stopped" and res.steps == 1
    # the finished step was sampled and accounted (v5's first answer on fresh entries: EAGAIN, nothing written)
    assert res.requested == 64 * 1024 and res.eagain == 1 and res.written == r.stat("/a")["zswpwb_proactive_b"]
    assert r.events("signal")[0]["action"] == "finish the current step"


def test_metrics_endpoint_scraped_over_loopback(rig) -> None:
    r = rig("v5")
    r.mk("/a", 1024)
    r.tree.faults[("/a", "memory.reclaim")] = []
    ag = r.agent(policy())
    server, thread = ag.metrics.serve(0)  # ephemeral port on 127.0.0.1
    try:
        assert server.server_address[0] == "127.0.0.1"
        ag.start()
        r.tree.faults[("/a", "memory.reclaim")] = [11]  # EAGAIN on the first step
        res = ag.run(once=True)[0].results[0]
        port = server.server_address[1]
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        server.shutdown()
        server.server_close()
    values = {}
    for line in body.splitlines():
        if line.startswith("zswaplab_agent_") and "{" in line:
            name, val = line.rsplit(" ", 1)
            values[name] = float(val)
    written = r.stat("/a")["zswpwb_proactive_b"]
    # zero-progress EAGAIN steps (the injected one, then v5's second-chance answer on fresh entries) are not
    # charged to the budget (charged with what was written): four 64K steps fill it
    assert written == res.written == 4 * 64 * 1024 and res.steps == 6 and res.eagain == 2
    assert values['zswaplab_agent_bytes_written_total{name="/a",target="/a"}'] == written
    assert values['zswaplab_agent_bytes_requested_total{name="/a",target="/a"}'] == 6 * 64 * 1024
    # issue 12: no separate eagain_total (it duplicated steps_total{outcome="eagain"})
    assert values['zswaplab_agent_steps_total{name="/a",outcome="eagain",target="/a"}'] == 2
    assert not any(k.startswith("zswaplab_agent_eagain") for k in values)
    assert values['zswaplab_agent_interface_info{interface="source=zswap"}'] == 1
    assert 'zswaplab_agent_target_cycle_duration_seconds{name="/a",target="/a"}' in values
    assert 'process_resident_memory_bytes' in body and 'zswaplab_agent_last_cycle_timestamp_seconds' in body


def _tree(tmp_path) -> ModelTree:
    k = Kernel(KernelConfig(profile="v5"), seed=0)
    k.fs.mkdir("/a")
    k.alloc("/a", 100, clen=1000)
    k.fs.write("/a", "memory.reclaim", str(100 * 4096))
    return ModelTree(k, tmp_path / "cg")


def _policy_file(tmp_path, mount, extra_agent="") -> str:
    p = tmp_path / "policy.toml"
    p.write_text(f'[agent]\nmount = "{mount}"\ninterval = "60s"\n{extra_agent}\n'
                 '[[target]]\npath = "/a"\nstep = "64K"\nbudget_per_cycle = "128K"\nstep_interval = "10ms"\n')
    return str(p)


def test_cli_once_dry_run(tmp_path) -> None:
    _tree(tmp_path)  # files only: the CLI uses the real os.write opener
    res = CliRunner().invoke(agent_cmd, ["--config", _policy_file(tmp_path, tmp_path / "cg"), "--once",
                                         "--dry-run", "--allow-any-fs"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "cg" / "a" / "memory.reclaim").read_text() == ""
    assert (tmp_path / "cg" / "memory.reclaim").read_text() == ""


def test_cli_policy_error_exit_code(tmp_path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text('[[target]]\npath = "/a"\nstep = "x"\n')
    res = CliRunner().invoke(agent_cmd, ["--config", str(p)])
    assert res.exit_code == 2 and f"{p}:3: target[0].step:" in res.output


def test_cli_sim_once(tmp_path) -> None:
    p = tmp_path / "sim.toml"
    p.write_text('[[target]]\npath = "/parent"\nstep = "32K"\nguard_scope = "children"\n'
                 '[target.guardrails]\nrefault_rate = "64K/s"\n[sim]\nprofile = "v4"\nmb_per_child = 1\n')
    res = CliRunner().invoke(agent_cmd, ["--config", str(p), "--backend", "sim", "--once"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["interface"] == "zswap_writeback_only" and out["cycles"] == 1 and out["written"] > 0


def test_cli_subprocess_sigterm_exits_cleanly(tmp_path) -> None:
    _tree(tmp_path)
    cfg = _policy_file(tmp_path, tmp_path / "cg")
    proc = subprocess.Popen([sys.executable, "-m", "zswaplab.cli", "agent", "--config", cfg, "--dry-run",
                             "--allow-any-fs"],
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 30
        lines = []
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(json.loads(line))
            if lines[-1]["event"] == "cycle":
                break
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    events = [e["event"] for e in lines] + [json.loads(x)["event"] for x in err.splitlines() if x.strip()]
    assert proc.returncode == 0 and "cycle" in events and events[-1] == "stopped" and "signal" in events


def test_cli_sim_output_is_byte_identical(tmp_path) -> None:
    p = tmp_path / "sim.toml"
    p.write_text('[[target]]\npath = "/parent"\nstep = "32K"\nguard_scope = "children"\n'
                 '[target.guardrails]\nrefault_rate = "64K/s"\n[sim]\nprofile = "v5"\nmb_per_child = 1\n'
                 'cycles = 3\nseed = 7\n')
    outs = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-m", "zswaplab.cli", "agent", "--config", str(p), "--backend", "sim"],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        outs.append((proc.stdout, proc.stderr))
    assert outs[0] == outs[1] and '"event": "guardrail_trip"' in outs[0][1] and '"ts"' not in outs[0][1]
