"""Production behaviour of the daemon (issue 12): bounded memory, fast import, teardown signals, sd_notify."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time

from zswaplab.agent import logs
from zswaplab.agent.engine import Agent
from zswaplab.agent.logs import ONCE_KEYS_MAX, EventLog
from zswaplab.agent.metrics import Metrics
from zswaplab.agent.policy import loads
from zswaplab.agent.sdnotify import Notifier
from zswaplab.agent.sim import SimBackend
from zswaplab.kernel import Kernel, KernelConfig


def _sim_agent(n: int = 3) -> Agent:
    k = Kernel(KernelConfig(profile="v5"), seed=0)
    for i in range(n):
        k.fs.mkdir(f"/t{i}")
    logs.setup(io.StringIO(), "info", wall_clock=False)
    return Agent(loads('[agent]\ninterval = "1s"\n[[target]]\npath = "/*"\nstep = "4K"\nstep_interval = "0s"\n'),
                 SimBackend(k, tick_s=1.0), metrics=Metrics(process=False))


def test_run_keeps_a_bounded_history_and_reports_every_cycle() -> None:
    ag = _sim_agent()
    seen = []
    reps = ag.run(max_cycles=60, keep=5, on_cycle=seen.append)
    assert len(seen) == 60 and len(reps) == 5 and reps[-1] is seen[-1] and ag.last_report is seen[-1]
    assert ag.run(max_cycles=3, keep=0) == []


def test_once_keys_are_bounded() -> None:
    logs.setup(io.StringIO(), "info")
    ev = EventLog()
    for i in range(ONCE_KEYS_MAX * 3):
        assert ev.once(("gone", i), "cgroup_gone", id=i)
    assert len(ev._seen) == ONCE_KEYS_MAX
    assert not ev.once(("gone", ONCE_KEYS_MAX * 3 - 1), "cgroup_gone")  # recent keys are still remembered


def test_per_cgroup_caches_follow_cgroup_churn() -> None:
    k = Kernel(KernelConfig(profile="v5"), seed=0)
    logs.setup(io.StringIO(), "info")
    ag = Agent(loads('[[target]]\npath = "/*"\nstep = "4K"\nstep_interval = "0s"\n'), SimBackend(k),
               metrics=Metrics(process=False))
    for i in range(200):  # a cgroup appears and disappears every cycle
        k.fs.mkdir(f"/c{i}")
        ag.run_cycle()
        k.fs.rmdir(f"/c{i}")
    ag.run_cycle()
    assert len(ag.states) == 0 and len(ag._parsed) == 0 and len(ag.metrics._targets) == 0


def test_importing_the_agent_cli_does_not_import_matplotlib() -> None:
    code = "import sys, zswaplab.agent.cli; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_sd_notify_ready_watchdog_stopping(tmp_path) -> None:
    addr = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(addr)
    sock.settimeout(5)
    try:
        n = Notifier({"NOTIFY_SOCKET": addr, "WATCHDOG_USEC": "2000000"})
        assert n.watchdog_s == 1.0
        n.ready("2 targets")
        assert sock.recv(100) == b"READY=1\nSTATUS=2 targets"
        assert n.watchdog(now=100.0) and not n.watchdog(now=100.1) and n.watchdog(now=100.6)
        assert sock.recv(100) == b"WATCHDOG=1" and sock.recv(100) == b"WATCHDOG=1"
        n.stopping()
        assert sock.recv(100) == b"STOPPING=1"
    finally:
        sock.close()
    assert not Notifier({}).enabled and Notifier({}).watchdog() is False
    assert Notifier({"NOTIFY_SOCKET": addr, "WATCHDOG_USEC": "5", "WATCHDOG_PID": "1"}).watchdog_s is None


def test_second_sigterm_during_teardown_exits_0(tmp_path) -> None:
    (tmp_path / "cg" / "a").mkdir(parents=True)
    (tmp_path / "cg" / "a" / "memory.stat").write_text("zswap 0\n")
    p = tmp_path / "p.toml"
    p.write_text(f'[agent]\nmount = "{tmp_path / "cg"}"\ninterval = "60s"\n[[target]]\npath = "/a"\n')
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "zswaplab.agent", "--config", str(p), "--dry-run",
                             "--allow-any-fs"], stderr=subprocess.PIPE, text=True, env=env)
    try:
        for line in proc.stderr:
            if json.loads(line)["event"] == "cycle":
                break
        proc.send_signal(signal.SIGTERM)
        for line in proc.stderr:
            if json.loads(line)["event"] == "stopped":
                break
        for _ in range(3):  # during teardown
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.05)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0


def test_reload_applies_a_valid_policy_and_keeps_the_old_one_on_error() -> None:
    from zswaplab.agent.policy import PolicyError

    ag = _sim_agent()
    ag.run_cycle()
    kept = {st.ref.path: st for st in ag.states.values()}
    new = loads('[agent]\ninterval = "1s"\nmetrics_port = 9999\n[[target]]\npath = "/t0"\nstep = "4K"\n'
                'step_interval = "0s"\n[[target]]\npath = "/t[12]"\nstep = "8K"\nstep_interval = "0s"\n')
    ag.reloader = lambda: new
    assert ag.reload()
    assert ag.policy.agent.metrics_port == 0  # needs a restart: not applied
    assert [t.path for t in ag.policy.targets] == ["/t0", "/t[12]"]
    ag.run_cycle()
    assert ag.states[kept["/t0"].ref.id].policy.step == 4096
    assert {st.ref.path: st.policy.step for st in ag.states.values()} == {"/t0": 4096, "/t1": 8192, "/t2": 8192}

    def bad():
        raise PolicyError("p.toml", 3, "target[0].step", "not a size")

    ag.reloader = bad
    before = ag.policy
    assert not ag.reload() and ag.policy is before
