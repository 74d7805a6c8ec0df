"""Fault injection (issue 12): the agent on the kernel model mirrored into real directory trees, against
errnos, garbled and special files, symlinks and hard links, removal and rename mid-cycle, signals at forced
points and hostile configs. Every case asserts the two production properties: the agent neither crashes nor
hangs, and it never writes outside the cgroup it tracks."""

from __future__ import annotations

import errno
import faulthandler
import io
import json
import os
import signal
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from zswaplab.agent import logs
from zswaplab.agent.cgroupfs import CgroupFSBackend, CgroupFSHandle, NotCgroup2
from zswaplab.agent.cli import EXIT_CONFIG
from zswaplab.agent.cli import agent as agent_cmd
from zswaplab.agent.engine import Agent
from zswaplab.agent.metrics import Metrics
from zswaplab.agent.mirror import ModelTree
from zswaplab.agent.policy import PolicyError, loads
from zswaplab.kernel import Kernel, KernelConfig
from zswaplab.kernel.constants import PAGE_SIZE

PAGES = 256  # per cgroup, pushed into zswap


def _kernel(profile: str, cgroups: tuple[str, ...] = ("/a", "/b")) -> Kernel:
    k = Kernel(KernelConfig(profile=profile), seed=1)
    for c in cgroups:
        for i in range(1, c.count("/") + 1):
            p = "/" + "/".join(c.strip("/").split("/")[:i])
            if not k.fs.exists(p):
                k.fs.mkdir(p)
        k.alloc(c, PAGES, clen=1000)
        try:
            k.fs.write(c, "memory.reclaim", str(PAGES * PAGE_SIZE))
        except OSError:
            pass
    return k


class Rig:
    def __init__(self, tmp: Path, profile: str = "v5", cgroups: tuple[str, ...] = ("/a", "/b")) -> None:
        self.tmp = tmp
        self.mount = tmp / "cg"
        self.outside = tmp / "outside"
        self.outside.mkdir()
        self.k = _kernel(profile, cgroups)
        self.tree = ModelTree(self.k, self.mount)
        self.stream = io.StringIO()
        logs.setup(self.stream, "debug")
        self.be = CgroupFSBackend(str(self.mount), opener=self.tree, allow_any_fs=True)
        self.be.sleep = lambda seconds, stop: None  # type: ignore[method-assign]

    def agent(self, text: str = "", **kw) -> Agent:
        pol = text or ('[agent]\nworkers = 1\n[[target]]\npath = "/*"\nstep = "64K"\nbudget_per_cycle = "256K"\n'
                       'eagain_retries = 2\n')
        return Agent(loads(pol, "t.toml"), self.be, metrics=Metrics(process=False), **kw)

    def events(self, name: str) -> list[dict]:
        out = [json.loads(x) for x in self.stream.getvalue().splitlines() if x.strip()]
        return [e for e in out if e["event"] == name]

    def outside_untouched(self) -> bool:
        return all(p.read_bytes() == b"precious\n" for p in self.outside.glob("*") if p.is_file())

    def wrote_only_tracked(self) -> bool:
        # /a2: /a renamed within the mount is still the tracked cgroup (cgroupfs renames keep the cgroup)
        return all(w[0] in ("/", "/a", "/b", "/a2") and w[1] in ("memory.reclaim", "memory.zswap.proactive_writeback")
                   for w in self.tree.writes)


@pytest.fixture
def rig(tmp_path):
    made: list[Rig] = []

    def make(profile: str = "v5", cgroups: tuple[str, ...] = ("/a", "/b")) -> Rig:
        r = Rig(tmp_path / f"r{len(made)}", profile, cgroups) if made else Rig(_mk(tmp_path), profile, cgroups)
        made.append(r)
        return r

    faulthandler.dump_traceback_later(30, exit=True)  # a hang is a failure, not a stuck test run
    yield make
    faulthandler.cancel_dump_traceback_later()
    for r in made:
        r.be.close()


def _mk(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


# ---------------------------------------------------------------- errnos from the kernel's write
WRITE_ERRNOS = [errno.EAGAIN, errno.EINVAL, errno.EBUSY, errno.EPERM, errno.EACCES, errno.ENOENT, errno.ENODEV,
                errno.EIO, errno.EINTR, errno.ENOSPC, errno.ENOMEM, errno.EFAULT]


@pytest.mark.parametrize("profile", ["v5", "v3"])
@pytest.mark.parametrize("code", WRITE_ERRNOS, ids=[errno.errorcode[c] for c in WRITE_ERRNOS])
def test_write_errno(rig, profile, code) -> None:
    r = rig(profile)
    ag = r.agent()
    ag.start()
    r.tree.faults[("/a", "memory.reclaim")] = [code, code, code]
    rep = ag.run(max_cycles=2)
    a = [x for x in rep[0].results if x.path == "/a"][0]
    b = [x for x in rep[0].results if x.path == "/b"][0]
    assert b.written > 0  # one target's errors never stop another
    if code == errno.EAGAIN:
        assert a.outcome in ("exhausted", "quota_cycle")
    elif code in (errno.ENOENT, errno.ENODEV):
        assert a.outcome in ("gone", "missing_file")
    else:
        assert a.outcome == f"error:{errno.errorcode[code]}"
    assert r.wrote_only_tracked()
    if code == errno.EPERM:
        hint = [e for e in r.events("request_failed") if e["errno"] == "EPERM"][0]["hint"]
        assert "CAP_SYS_ADMIN" not in hint and "no capability is needed" in hint


# ---------------------------------------------------------------- garbled files
STAT_TEXTS = {
    "empty": "",
    "binary": "\x00\xff\xfe garbage \x01\n",
    "negative": "zswap -5\nzswpwb_proactive_b -1\n",
    "huge": f"zswap {1 << 80}\nzswpwb_proactive_b {1 << 80}\n",
    "nan": "zswap nan\nzswpwb_proactive_b nan\n",
    "no_newline": "zswap 100",
    "three_fields": "zswap 1 2\nzswpwb_proactive_b 3 4\n",
    "long": "x 1\n" * 50_000 + "zswap 100000\n",
    "utf8": "zswap 1\nzswäp 2\n",
    "only_spaces": "   \n \n",
}


@pytest.mark.parametrize("kind", sorted(STAT_TEXTS))
def test_garbled_memory_stat(rig, kind) -> None:
    r = rig("v5")
    r.tree.sync_on_write = False  # keep the planted text
    ag = r.agent()
    ag.start()
    (r.mount / "a" / "memory.stat").write_text(STAT_TEXTS[kind], encoding="utf-8", errors="surrogateescape")
    rep = ag.run(max_cycles=2)
    assert len(rep) == 2 and r.wrote_only_tracked()
    a = [x for x in rep[-1].results if x.path == "/a"][0]
    assert a.written <= 256 * 1024 + 64 * 1024 and a.steps <= 4 * 4 + 2 + 4


PSI_TEXTS = {
    "nan": "some avg10=nan avg60=nan avg300=nan total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
    "inf": "some avg10=inf avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
    "negative": "some avg10=-1.00 avg60=0.00 avg300=0.00 total=0\n",
    "over_100": "some avg10=101.00 avg60=0.00 avg300=0.00 total=0\n",
    "empty": "",
    "truncated": "some avg10=0.0",
    "binary": "\x00\x01\x02",
    "no_some": "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
    "words": "some avg10=low avg60=low avg300=low total=x\n",
    "negative_total": "some avg10=0.00 avg60=0.00 avg300=0.00 total=-5\n",
}


@pytest.mark.parametrize("kind", sorted(PSI_TEXTS))
def test_garbled_psi_fails_closed(rig, kind) -> None:
    r = rig("v5", ("/a",))
    r.tree.sync_on_write = False
    ag = r.agent('[[target]]\npath = "/a"\nstep = "64K"\n[target.guardrails]\npsi_some_avg10 = 10.0\n')
    ag.start()
    (r.mount / "a" / "memory.pressure").write_text(PSI_TEXTS[kind])
    before = len(r.tree.writes)
    res = ag.run(once=True)[0].results[0]
    assert res.outcome == "tripped" and [t.reason for t in res.trips] == ["psi_unavailable"]
    assert len(r.tree.writes) == before  # nothing written while pressure cannot be seen
    assert r.events("guardrail_input_missing")


def test_missing_psi_file_fails_closed(rig) -> None:
    r = rig("v5", ("/a",))
    ag = r.agent('[[target]]\npath = "/a"\nstep = "64K"\n[target.guardrails]\npsi_some_avg60 = 10.0\n')
    ag.start()
    os.unlink(r.mount / "a" / "memory.pressure")
    r.tree.sync_on_write = False
    res = ag.run(once=True)[0].results[0]
    assert res.outcome == "tripped" and res.steps == 0


# ---------------------------------------------------------------- special files, links
def _plant(r: Rig, kind: str, fname: str) -> None:
    target = r.mount / "a" / fname
    target.unlink()
    victim = r.outside / "victim"
    victim.write_text("precious\n")
    if kind == "symlink_out":
        target.symlink_to(victim)
    elif kind == "hardlink_out":
        os.link(victim, target)
    elif kind == "dir":
        target.mkdir()
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "symlink_devnull":
        target.symlink_to("/dev/null")
    elif kind == "symlink_loop":
        target.symlink_to(target)
    elif kind == "socket":
        import socket

        s = socket.socket(socket.AF_UNIX)
        s.bind(str(target))
        s.close()


SPECIAL = ["symlink_out", "hardlink_out", "dir", "fifo", "symlink_devnull", "symlink_loop", "socket"]


@pytest.mark.parametrize("kind", SPECIAL)
def test_special_memory_reclaim_is_never_written(rig, kind) -> None:
    r = rig("v5")
    ag = r.agent()
    ag.start()
    _plant(r, kind, "memory.reclaim")
    rep = ag.run(max_cycles=2)
    assert r.outside_untouched() and r.wrote_only_tracked()
    assert not [w for w in r.tree.writes if w[0] == "/a" and not w[2].startswith("0 ")]
    assert [x for x in rep[0].results if x.path == "/b"][0].written > 0


@pytest.mark.parametrize("kind", SPECIAL)
def test_special_memory_stat_is_survived(rig, kind) -> None:
    r = rig("v5")
    ag = r.agent()
    ag.start()
    _plant(r, kind, "memory.stat")
    rep = ag.run(max_cycles=2)
    assert len(rep) == 2 and r.outside_untouched() and r.wrote_only_tracked()


def test_hardlink_inside_the_mount_is_refused_too(rig) -> None:
    r = rig("v5")
    ag = r.agent()
    ag.start()
    os.link(r.mount / "b" / "memory.reclaim", r.mount / "b" / "extra-link")  # nlink 2 on /b's file
    ag.run(once=True)
    assert not [w for w in r.tree.writes if w[0] == "/b" and not w[2].startswith("0 ")]
    assert any("hard links" in e["reason"] for e in r.events("write_refused"))


@pytest.mark.parametrize("where", ["target", "ancestor", "mount_entry_loop", "dangling"])
def test_symlinked_directories_refused(rig, where) -> None:
    r = rig("v5", ("/p/a",))
    ag = r.agent('[[target]]\npath = "/p/*"\nstep = "64K"\n')
    ag.start()
    ag.run(once=True)
    n = len(r.tree.writes)
    real = r.outside / "real"
    real.mkdir()
    (real / "memory.reclaim").write_text("precious\n")
    (real / "memory.stat").write_text("zswap 100000\n")
    if where == "target":
        os.rename(r.mount / "p" / "a", r.tmp / "moved")
        (r.mount / "p" / "a").symlink_to(real)
    elif where == "ancestor":
        os.rename(r.mount / "p", r.tmp / "moved")
        (r.mount / "p").symlink_to(r.tmp / "moved")
    elif where == "mount_entry_loop":
        (r.mount / "p" / "loop").symlink_to(r.mount / "p")
    else:
        (r.mount / "p" / "dangling").symlink_to(r.tmp / "nowhere")
    r.tree.sync_on_write = False
    ag.run(max_cycles=2)
    assert (real / "memory.reclaim").read_text() == "precious\n"
    new = r.tree.writes[n:]
    if where in ("target", "ancestor"):
        assert new == []
    assert all(w[0] == "/p/a" for w in new)


# ---------------------------------------------------------------- removal and rename mid-cycle
ACTIONS = ["rmdir", "rename_out", "rename_sibling", "replace_dir", "replace_symlink"]
POINTS = ["before_first_write", "after_first_write", "before_second_sample"]


def _act(r: Rig, action: str) -> None:
    a = r.mount / "a"
    if action == "rmdir":
        r.k.fs.rmdir("/a") if _has_no_pages(r) else _move_away(r, a)
    elif action == "rename_out":
        _move_away(r, a)
    elif action == "rename_sibling":
        os.rename(a, r.mount / "a2")
    elif action == "replace_dir":
        _move_away(r, a)
        a.mkdir()
        (a / "memory.reclaim").write_text("")
        (a / "memory.stat").write_text("zswap 100000\nzswpwb_proactive_b 0\n")
    elif action == "replace_symlink":
        _move_away(r, a)
        a.symlink_to(r.outside)


def _has_no_pages(r: Rig) -> bool:
    return False  # the model's rmdir needs an empty cgroup: removing the directory tree is what the agent sees


def _move_away(r: Rig, a: Path) -> None:
    os.rename(a, r.outside / "moved")
    (r.outside / "moved" / "memory.reclaim").chmod(0o644)


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("action", ACTIONS)
def test_removed_or_renamed_mid_cycle(rig, monkeypatch, action, point) -> None:
    r = rig("v5")
    ag = r.agent()
    ag.start()
    r.tree.sync_on_write = False
    fired = []
    real_read = CgroupFSHandle.read

    def fire() -> None:
        if not fired:
            fired.append(1)
            _act(r, action)

    if point == "before_first_write":
        r.tree.on_write = lambda p, f, t: fire() if p == "/a" else None
    elif point == "after_first_write":
        orig = r.tree.write

        def write(fd, data, *, path, fname):
            n = orig(fd, data, path=path, fname=fname)
            if path == "/a":
                fire()
            return n
        r.tree.write = write  # type: ignore[method-assign]
    else:
        def read(self, fname):
            if self.ref.path == "/a" and fname == "memory.stat" and any(w[0] == "/a" for w in r.tree.writes):
                fire()
            return real_read(self, fname)
        monkeypatch.setattr(CgroupFSHandle, "read", read)
    old_ino = os.stat(r.mount / "a" / "memory.reclaim").st_ino
    inner = r.tree.write
    after_action: list[int] = []  # inodes of the files written after the action

    def spy(fd, data, *, path, fname):
        ino = os.fstat(fd).st_ino
        n = inner(fd, data, path=path, fname=fname)  # may fire the action (in flight: opened before it)
        if fired:
            after_action.append(ino)
        return n
    r.tree.write = spy  # type: ignore[method-assign]
    rep = ag.run(max_cycles=3)
    assert fired and len(rep) == 3
    # the tracked directory, once moved, removed or replaced, gets at most the write that was in flight
    assert after_action.count(old_ino) <= 1
    assert r.wrote_only_tracked()
    moved = r.outside / "moved" / "memory.reclaim"
    assert not moved.exists() or moved.read_text() == ""


# ---------------------------------------------------------------- signals at forced points
SIGNALS = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]
SIG_POINTS = ["in_write", "in_sleep", "in_read", "in_log_lock", "in_discovery", "in_probe"]


@pytest.mark.parametrize("point", SIG_POINTS)
@pytest.mark.parametrize("sig", SIGNALS, ids=[s.name for s in SIGNALS])
def test_signal_at_forced_point(rig, monkeypatch, sig, point) -> None:
    r = rig("v5")
    ag = r.agent()
    reloads = []
    ag.reloader = lambda: reloads.append(1) or ag.policy
    sent = []

    def send() -> None:
        if not sent:
            sent.append(1)
            signal.raise_signal(sig)

    if point == "in_write":
        r.tree.on_write = lambda p, f, t: send() if not t.startswith("0 ") else None
    elif point == "in_sleep":
        r.be.sleep = lambda seconds, stop: send()  # type: ignore[method-assign]
    elif point == "in_read":
        real_read = CgroupFSHandle.read
        monkeypatch.setattr(CgroupFSHandle, "read", lambda self, f: (send(), real_read(self, f))[1])
    elif point == "in_log_lock":
        class Counts(dict):
            def __setitem__(self, k, v):  # runs with EventLog's (non-reentrant) lock held
                super().__setitem__(k, v)
                if k == "step":
                    send()
        ag.events.counts = Counts()
    elif point == "in_discovery":
        real_walk = r.be.walk
        r.be.walk = lambda *a, **kw: (send(), real_walk(*a, **kw))[1]  # type: ignore[method-assign]
    else:
        r.tree.on_write = lambda p, f, t: send() if t.startswith("0 ") else None
    ag.install_signal_handlers()
    try:
        rep = ag.run(max_cycles=3)
    finally:
        ag.close_signal_handlers(ignore=False)
    assert sent
    if sig == signal.SIGHUP:
        assert len(rep) == 3 and ag.signals == 1
        assert reloads == [1] and r.events("reloaded")
    else:
        assert len(rep) <= 1 and r.events("stopped") and ag.stopping()
        assert [e["signal"] for e in r.events("signal")] == [sig.name]
    assert r.wrote_only_tracked()


def test_watcher_wakes_a_waiting_lane_without_the_handler_touching_locks(rig) -> None:
    r = rig("v5")
    del r.be.sleep  # the real wait (threading.Event.wait)
    ag = r.agent('[agent]\ninterval = "600s"\n[[target]]\npath = "/a"\nstep = "64K"\n')
    ag.install_signal_handlers()
    try:
        threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
        rep = ag.run(max_cycles=5)  # would wait 600 s between cycles without the wake-up
    finally:
        ag.close_signal_handlers(ignore=False)
    assert len(rep) == 1 and r.events("stopped")


# ---------------------------------------------------------------- hostile configs
HOSTILE = {
    "glob_reversed_range": ('[[target]]\npath = "/[z-a]"\n', 2, "target[0].path"),
    "glob_empty_class": ('[[target]]\npath = "/[!]"\n', 2, "target[0].path"),
    "glob_unterminated": ('[[target]]\npath = "/a["\n', 2, "target[0].path"),
    "glob_double_star_in_name": ('[[target]]\npath = "/a**b"\n', 2, "target[0].path"),
    "interval_inf": ('[agent]\ninterval = inf\n[[target]]\npath = "/a"\n', 2, "agent.interval"),
    "interval_nan": ('[agent]\ninterval = nan\n[[target]]\npath = "/a"\n', 2, "agent.interval"),
    "interval_zero": ('[agent]\ninterval = "0s"\n[[target]]\npath = "/a"\n', 2, "agent.interval"),
    "interval_huge": ('[agent]\ninterval = "99999999999999999999s"\n[[target]]\npath = "/a"\n', 2,
                      "agent.interval"),
    "interval_huge_int": ('[agent]\ninterval = 9223372036854775807\n[[target]]\npath = "/a"\n', 2,
                          "agent.interval"),
    "step_interval_inf": ('[[target]]\npath = "/a"\nstep_interval = inf\n', 3, "target[0].step_interval"),
    "step_interval_neg": ('[[target]]\npath = "/a"\nstep_interval = -1\n', 3, "target[0].step_interval"),
    "age_inf": ('[[target]]\npath = "/a"\nage = inf\n', 3, "target[0].age"),
    "age_zero": ('[[target]]\npath = "/a"\nage = 0\n', 3, "target[0].age"),
    "step_2_64": ('[[target]]\npath = "/a"\nstep = "16777216T"\n', 3, "target[0].step"),
    "step_2_64_plus": ('[[target]]\npath = "/a"\nstep = "16777217T"\n', 3, "target[0].step"),
    "reclaim_step_2_64": ('[[target]]\npath = "/a"\nreclaim_step = "18446744073709551616"\n', 3,
                          "target[0].reclaim_step"),
    "budget_2_64": ('[defaults]\nbudget_per_hour = "99999999T"\n[[target]]\npath = "/a"\n', 2,
                    "defaults.budget_per_hour"),
    "psi_nan": ('[[target]]\npath = "/a"\n[target.guardrails]\npsi_some_avg10 = nan\n', 4,
                "target[0].guardrails.psi_some_avg10"),
    "psi_inf": ('[[target]]\npath = "/a"\n[target.guardrails]\npsi_some_avg60 = inf\n', 4,
                "target[0].guardrails.psi_some_avg60"),
    "rate_inf": ('[[target]]\npath = "/a"\n[target.guardrails]\nrefault_rate = inf\n', 4,
                 "target[0].guardrails.refault_rate"),
    "backoff_factor_inf": ('[[target]]\npath = "/a"\n[target.on_trip]\nbackoff_factor = inf\n', 4,
                           "target[0].on_trip.backoff_factor"),
    "backoff_max_inf": ('[[target]]\npath = "/a"\n[target.on_trip]\nbackoff_max = inf\n', 4,
                        "target[0].on_trip.backoff_max"),
    "metrics_addr_host_port": ('[agent]\nmetrics_addr = "localhost:9464"\n[[target]]\npath = "/a"\n', 2,
                               "agent.metrics_addr"),
    "metrics_port_range": ('[agent]\nmetrics_port = 70000\n[[target]]\npath = "/a"\n', 2, "agent.metrics_port"),
    "syntax_at_eof": ('[[target]]\npath = "/a"\nstep = ', 3, ""),
    "unclosed_table_at_eof": ('[[target]]\npath = "/a"\n[x', 3, ""),
    "top_level_dotted": ('agent.interval = "0s"\n[[target]]\npath = "/a"\n', 1, "agent.interval"),
    "dotted_in_target": ('[[target]]\npath = "/a"\nguardrails.psi_some_avg10 = 200\n', 3,
                         "target[0].guardrails.psi_some_avg10"),
    "sim_huge": ('[[target]]\npath = "/a"\n[sim]\nmb_per_child = 99999999\n', 4, "sim.mb_per_child"),
    "dotdot": ('[[target]]\npath = "/a/../../etc"\n', 2, "target[0].path"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_config_is_a_located_error(name) -> None:
    text, line, field = HOSTILE[name]
    with pytest.raises(PolicyError) as ei:
        loads(text, "h.toml")
    assert (ei.value.line, ei.value.field) == (line, field), str(ei.value)


@pytest.mark.parametrize("name", ["glob_reversed_range", "interval_inf", "step_2_64", "non_utf8"])
def test_hostile_config_via_cli_exits_2_without_traceback(tmp_path, name) -> None:
    p = tmp_path / "p.toml"
    if name == "non_utf8":
        p.write_bytes(b'[[target]]\npath = "/a"\nname = "caf\xe9"\n')
    else:
        p.write_text(HOSTILE[name][0])
    res = CliRunner().invoke(agent_cmd, ["--config", str(p), "--check-config"])
    assert res.exit_code == EXIT_CONFIG and "Traceback" not in res.output and f"{p}:" in res.output
    if name == "non_utf8":
        assert f"{p}:3:" in res.output and "UTF-8" in res.output


def test_check_config_validates_and_exits(tmp_path) -> None:
    p = tmp_path / "p.toml"
    p.write_text('[[target]]\npath = "/a/*"\n')
    res = CliRunner().invoke(agent_cmd, ["--config", str(p), "--check-config", "--mount", str(tmp_path)])
    assert res.exit_code == 0 and json.loads(res.output)["targets"] == ["/a/*"]


def test_refuses_a_mount_that_is_not_cgroup2(tmp_path) -> None:
    with pytest.raises(NotCgroup2, match="not cgroup2"):
        CgroupFSBackend(str(tmp_path))
    p = tmp_path / "p.toml"
    p.write_text(f'[agent]\nmount = "{tmp_path}"\n[[target]]\npath = "/a"\n')
    res = CliRunner().invoke(agent_cmd, ["--config", str(p), "--once", "--dry-run"])
    assert res.exit_code == EXIT_CONFIG and "cgroup v2" in res.output


def test_metrics_port_in_use_is_a_message(tmp_path) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]
    try:
        p = tmp_path / "p.toml"
        (tmp_path / "cg").mkdir()
        p.write_text(f'[agent]\nmount = "{tmp_path / "cg"}"\nmetrics_port = {port}\n[[target]]\npath = "/a"\n')
        res = CliRunner().invoke(agent_cmd, ["--config", str(p), "--once", "--allow-any-fs"])
        assert res.exit_code == 1 and "cannot serve metrics" in res.output and "Traceback" not in res.output
        # the documented "look first": a dry run binds nothing, so it works while the service holds the port
        res = CliRunner().invoke(agent_cmd, ["--config", str(p), "--once", "--dry-run", "--allow-any-fs"])
        assert res.exit_code == 0, res.output
    finally:
        s.close()


def test_file_on_another_device_is_never_written(rig) -> None:
    r = rig("v5")
    ag = r.agent()
    ag.start()
    r.be.dev += 1  # as if every control file were on another filesystem than the mount (a bind mount)
    rep = ag.run(once=True)
    assert [x.outcome for x in rep[0].results] == ["refused", "refused"]
    assert not [w for w in r.tree.writes if not w[2].startswith("0 ")]
    assert any("another device" in e["reason"] for e in r.events("write_refused"))
