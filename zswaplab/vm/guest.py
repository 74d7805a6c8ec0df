"""Guest-side scenario driver: runs *inside* the VM (as root) against the real cgroup v2 tree.

Standard library only, so it runs under any python3 the guest has (the harness uses the project's venv
interpreter, which the guest sees over 9p). It executes a scenario's steps against ``/sys/fs/cgroup`` and writes
one JSON record per line to ``--out`` (record shape: ``docs/validation.md``, "Run record format"):

* a ``header`` record (kernel release, totalram pages, swap size, zswap module parameters),
* one ``step`` record per step with the step's result (rc/errno of knob writes and memory.reclaim, the
  workload's verification counts) and a snapshot of every scenario cgroup (memory.stat parsed, memory.current,
  memory.swap.current, memory.zswap.current, memory.pressure parsed), /sys/kernel/debug/zswap/* and the zswap
  lines of /proc/vmstat,
* an ``end`` record (``ok`` true if every step ran; a step that *fails* as the kernel decides, e.g.
  memory.reclaim returning EAGAIN, is a result, not an error).

Usage (inside the guest): ``python3 guest.py --scenario S.json --out OUT.jsonl --memeater BIN [--swap /dev/vda]``
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import subprocess
import sys
import time
from typing import Any

CGROOT = "/sys/fs/cgroup"
ZSWAP_PARAMS = "/sys/module/zswap/parameters"
ZSWAP_DEBUGFS = "/sys/kernel/debug/zswap"
VMSTAT_KEYS = ("zswpout", "zswpin", "zswpwb", "pswpout", "pswpin", "pgmajfault")
CGROUP_FILES = ("memory.current", "memory.swap.current", "memory.swap.peak", "memory.zswap.current",
                "memory.peak")


class StepError(Exception):
    """A step could not be executed as written (bad scenario or broken workload), not a kernel result."""


def cgpath(cgroup: str) -> str:
    if not cgroup.startswith("/"):
        raise StepError(f"cgroup path must be absolute: {cgroup!r}")
    return CGROOT + (cgroup if cgroup != "/" else "")


def read_text(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def write_knob(path: str, value: str) -> dict[str, Any]:
    """Write ``value`` to a kernel file with one write(2); return {"rc": 0|-errno, "errno": name|None}."""
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as e:
        return {"rc": -e.errno, "errno": errno.errorcode.get(e.errno, str(e.errno))}
    try:
        os.write(fd, value.encode("latin-1"))  # scenario values: code points < 256 are sent as those bytes
        return {"rc": 0, "errno": None}
    except OSError as e:
        return {"rc": -e.errno, "errno": errno.errorcode.get(e.errno, str(e.errno))}
    finally:
        os.close(fd)


def parse_kv(text: str | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                pass
    return out


def parse_pressure(text: str | None) -> dict[str, dict[str, float]]:
    """Parse PSI text ("some avg10=0.00 avg60=0.00 avg300=0.00 total=0" / "full ...")."""
    out: dict[str, dict[str, float]] = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if not parts:
            continue
        fields: dict[str, float] = {}
        for p in parts[1:]:
            k, _, v = p.partition("=")
            fields[k] = int(v) if k == "total" else float(v)
        out[parts[0]] = fields
    return out


def parse_number(text: str | None) -> int | str | None:
    if text is None:
        return None
    t = text.strip()
    return int(t) if t.lstrip("-").isdigit() else t


def snapshot_cgroup(cgroup: str) -> dict[str, Any]:
    base = cgpath(cgroup)
    snap: dict[str, Any] = {"memory.stat": parse_kv(read_text(base + "/memory.stat"))}
    for f in CGROUP_FILES:
        v = parse_number(read_text(f"{base}/{f}"))
        if v is not None:
            snap[f] = v
    snap["memory.pressure"] = parse_pressure(read_text(base + "/memory.pressure"))
    return snap


def snapshot_debugfs() -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        names = sorted(os.listdir(ZSWAP_DEBUGFS))
    except OSError:
        return out
    for name in names:
        v = parse_number(read_text(f"{ZSWAP_DEBUGFS}/{name}"))
        if isinstance(v, int):
            out[name] = v
    return out


def snapshot_vmstat() -> dict[str, int]:
    kv = parse_kv(read_text("/proc/vmstat"))
    return {k: kv[k] for k in VMSTAT_KEYS if k in kv}


def zswap_params() -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        names = sorted(os.listdir(ZSWAP_PARAMS))
    except OSError:
        return out
    for name in names:
        out[name] = (read_text(f"{ZSWAP_PARAMS}/{name}") or "").strip()
    return out


class Workload:
    """One memeater process in a cgroup, driven over its stdin/stdout."""

    def __init__(self, binary: str, cgroup: str) -> None:
        procs = cgpath(cgroup) + "/cgroup.procs"

        def enter_cgroup() -> None:  # runs in the child between fork and exec
            with open(procs, "w") as f:
                f.write(str(os.getpid()))

        self.proc = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     preexec_fn=enter_cgroup, bufsize=1)
        ready = self._reply()
        if not ready.startswith("ok ready"):
            raise StepError(f"memeater did not start: {ready!r}")

    def _reply(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise StepError(f"memeater exited (rc={self.proc.poll()})")
        return line.strip()

    def command(self, line: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self._reply()
        if not reply.startswith("ok "):
            raise StepError(f"memeater: {line!r} -> {reply!r}")
        return reply

    def quit(self) -> int:
        try:
            self.command("quit")
        except (StepError, BrokenPipeError):
            pass
        return self.proc.wait(timeout=60)


class Driver:
    def __init__(self, scenario: dict[str, Any], memeater: str) -> None:
        self.scenario = scenario
        self.memeater = memeater
        self.procs: dict[str, Workload] = {}
        self.proc_cgroup: dict[str, str] = {}
        self.cgroups: list[str] = list(scenario.get("snapshot_cgroups", []))
        self.vars: dict[str, int | str | None] = {}
        self.background: dict[str, tuple[subprocess.Popen[str], Any, Any]] = {}
        import tempfile

        self.tmp = tempfile.mkdtemp(prefix="zswaplab-guest-")

    # -- value helpers -------------------------------------------------------------------------------------
    def resolve_value(self, step: dict[str, Any]) -> str:
        if "value" in step:
            return str(step["value"])
        src = step.get("value_from")
        if not src:
            raise StepError(f"step needs 'value' or 'value_from': {step}")
        if "var" in src:
            if src["var"] not in self.vars:
                raise StepError(f"value_from: variable {src['var']!r} was not set by an earlier read step")
            raw = self.vars[src["var"]]
        else:
            raw = parse_number(read_text(f"{cgpath(src['cgroup'])}/{src['file']}"))
        if not isinstance(raw, int):
            raise StepError(f"value_from {src} is not a number: {raw!r}")
        return str(raw // int(src.get("div", 1))) + str(src.get("suffix", ""))

    # -- steps ------------------------------------------------------------------------------------------------
    def run_step(self, step: dict[str, Any]) -> dict[str, Any]:
        op = step.get("op")
        if op == "mkdir":
            cg = step["cgroup"]
            parent = cg.rsplit("/", 1)[0] or "/"
            write_knob(cgpath(parent) + "/cgroup.subtree_control", "+memory")
            os.mkdir(cgpath(cg))
            if cg not in self.cgroups:
                self.cgroups.append(cg)
            return {"rc": 0, "errno": None}
        if op == "write":
            value = self.resolve_value(step)
            res = write_knob(f"{cgpath(step['cgroup'])}/{step['file']}", value)
            res["value"] = value
            return res
        if op == "reclaim":
            value = self.resolve_value(step)
            t0 = time.monotonic()
            res = write_knob(cgpath(step["cgroup"]) + "/memory.reclaim", value)
            res["value"] = value
            res["seconds"] = round(time.monotonic() - t0, 3)
            return res
        if op == "param":
            res = write_knob(f"{ZSWAP_PARAMS}/{step['name']}", str(step["value"]))
            res["now"] = (read_text(f"{ZSWAP_PARAMS}/{step['name']}") or "").strip()
            return res
        if op == "spawn":
            name = step["proc"]
            if name in self.procs:
                raise StepError(f"process {name!r} already running")
            self.procs[name] = Workload(self.memeater, step["cgroup"])
            self.proc_cgroup[name] = step["cgroup"]
            return {"rc": 0, "pid": self.procs[name].proc.pid}
        if op in ("alloc", "touch", "free"):
            wl = self.procs.get(step["proc"])
            if wl is None:
                raise StepError(f"no process {step['proc']!r}")
            if op == "alloc":
                reply = wl.command(f"alloc {step['region']} {int(step['pages'])} {step['pattern']} "
                                   f"{int(step.get('seed', 1))}")
                return {"rc": 0, "reply": reply}
            if op == "free":
                return {"rc": 0, "reply": wl.command(f"free {step['region']}")}
            first = int(step.get("first", 0))
            count = int(step.get("count", 1 << 40))
            reply = wl.command(f"touch {step['region']} {first} {count}")
            fields = dict(p.split("=") for p in reply.split()[3:])
            return {"rc": 0, "checked": int(fields["checked"]), "bad": int(fields["bad"])}
        if op == "move":  # the process moves; its pages stay charged where they were (cgroup v2)
            wl = self.procs.get(step["proc"])
            if wl is None:
                raise StepError(f"no process {step['proc']!r}")
            res = write_knob(cgpath(step["cgroup"]) + "/cgroup.procs", str(wl.proc.pid))
            if res["rc"] == 0:
                self.proc_cgroup[step["proc"]] = step["cgroup"]
            return res
        if op == "rmdir":
            try:
                os.rmdir(cgpath(step["cgroup"]))
            except OSError as e:
                return {"rc": -e.errno, "errno": errno.errorcode.get(e.errno, str(e.errno))}
            return {"rc": 0, "errno": None}
        if op == "kill":
            wl = self.procs.pop(step["proc"])
            return {"rc": 0, "exit": wl.quit()}
        if op == "sleep":
            time.sleep(float(step["seconds"]))
            return {"rc": 0}
        if op == "read":
            text = read_text(f"{cgpath(step['cgroup'])}/{step['file']}")
            value = parse_kv(text).get(step["key"]) if "key" in step else parse_number(text)
            if "var" in step:
                self.vars[step["var"]] = value
            return {"rc": 0, "value": value}
        if op == "write_file":
            path = self.expand(step["path"])
            with open(path, "w") as f:
                f.write(step["text"])
            return {"rc": 0, "path": path}
        if op == "exec":
            return self.start_exec(step) if "background" in step else self.run_exec(step)
        if op == "wait_exec":
            return self.wait_exec(step)
        if op == "wait_for":
            return self.wait_for(step)
        raise StepError(f"unknown op {op!r}")

    def start_exec(self, step: dict[str, Any]) -> dict[str, Any]:
        """Start a command in the background (``background``: its name for a later ``wait_exec``); its output
        goes to files in the scratch dir. Later steps run while it runs."""
        name = step["background"]
        if name in self.background:
            raise StepError(f"background command {name!r} already started")
        argv = [self.expand(a) for a in step["argv"]]
        out = open(os.path.join(self.tmp, f"{name}.out"), "w+")
        err = open(os.path.join(self.tmp, f"{name}.err"), "w+")
        proc = subprocess.Popen(argv, stdout=out, stderr=err, text=True, env=dict(os.environ, **step.get("env", {})))
        self.background[name] = (proc, out, err)
        return {"rc": 0, "pid": proc.pid}

    def wait_exec(self, step: dict[str, Any]) -> dict[str, Any]:
        """Wait (time-limited) for a background command; its exit status and the tails of its output."""
        proc, out, err = self.background.pop(step["name"])
        try:
            rc: int = proc.wait(timeout=float(step.get("timeout", 60)))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            rc = -errno.ETIMEDOUT
        tails = []
        for f in (out, err):
            f.seek(0)
            tails.append(f.read()[-20000:])
            f.close()
        return {"rc": rc, "errno": "ETIMEDOUT" if rc == -errno.ETIMEDOUT else None, "stdout": tails[0],
                "stderr": tails[1]}

    def wait_for(self, step: dict[str, Any]) -> dict[str, Any]:
        """Poll a cgroup's memory.stat key until it exceeds ``above`` (a number, or a variable set by an earlier
        ``read``), at most ``timeout`` seconds; rc -ETIMEDOUT when it never does."""
        above = step["above"]
        limit = int(self.vars[above] or 0) if isinstance(above, str) else int(above)
        path = f"{cgpath(step['cgroup'])}/memory.stat"
        deadline = time.monotonic() + float(step.get("timeout", 60))
        while True:
            value = parse_kv(read_text(path)).get(step["key"], 0)
            if value > limit:
                return {"rc": 0, "value": value, "above": limit}
            if time.monotonic() >= deadline:
                return {"rc": -errno.ETIMEDOUT, "errno": "ETIMEDOUT", "value": value, "above": limit}
            time.sleep(float(step.get("poll", 0.05)))

    def expand(self, text: str) -> str:
        """Placeholders in exec argv / file paths: {python} (this interpreter), {tmp} (a guest scratch dir)."""
        return text.replace("{python}", sys.executable).replace("{tmp}", self.tmp)

    def run_exec(self, step: dict[str, Any]) -> dict[str, Any]:
        """Run a command to completion (time-limited); with ``scrape`` also GET an HTTP URL while it runs."""
        argv = [self.expand(a) for a in step["argv"]]
        timeout = float(step.get("timeout", 60))
        env = dict(os.environ, **step.get("env", {}))
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        scraped: dict[str, Any] | None = None
        scrape = step.get("scrape")
        if scrape:
            import urllib.request

            deadline = time.monotonic() + float(scrape.get("within", 30))
            scraped = {"url": scrape["url"], "ok": False, "body": None, "error": None}
            until = scrape.get("until")  # poll until the body contains this text (or the deadline)
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    with urllib.request.urlopen(scrape["url"], timeout=5) as r:
                        scraped.update(ok=True, status=r.status, body=r.read().decode()[-20000:])
                    if until is None or until in scraped["body"]:
                        break
                except OSError as e:
                    scraped["error"] = str(e)
                time.sleep(0.1)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            return {"rc": -errno.ETIMEDOUT, "errno": "ETIMEDOUT", "stdout": out[-20000:], "stderr": err[-20000:],
                    "scrape": scraped}
        return {"rc": proc.returncode, "stdout": out[-20000:], "stderr": err[-20000:], "scrape": scraped}

    def snapshot(self) -> dict[str, Any]:
        return {
            "cgroups": {cg: snapshot_cgroup(cg) for cg in self.cgroups if os.path.isdir(cgpath(cg))},
            "debugfs": snapshot_debugfs(),
            "vmstat": snapshot_vmstat(),
        }

    def close(self) -> None:
        for name in list(self.procs):
            self.procs.pop(name).quit()
        for proc, out, err in self.background.values():  # a scenario that failed before its wait_exec
            proc.kill()
            proc.wait()
            out.close()
            err.close()


def setup_swap(dev: str) -> dict[str, Any]:
    """Load virtio_blk, wait for ``dev``, mkswap + swapon it (zswap needs a real swap device)."""
    subprocess.run(["modprobe", "virtio_blk"], check=False, capture_output=True)
    for _ in range(100):
        if os.path.exists(dev):
            break
        time.sleep(0.05)
    else:
        raise StepError(f"swap device {dev} did not appear after modprobe virtio_blk")
    subprocess.run(["mkswap", "-f", dev], check=True, capture_output=True)
    subprocess.run(["swapon", dev], check=True, capture_output=True)
    swaps = (read_text("/proc/swaps") or "").splitlines()[1:]
    return {"device": dev, "swap_pages": sum(int(line.split()[2]) for line in swaps) // 4}


def header(scenario: dict[str, Any], swap: dict[str, Any]) -> dict[str, Any]:
    meminfo = parse_kv("\n".join(" ".join(line.replace(":", "").split()[:2])
                                 for line in (read_text("/proc/meminfo") or "").splitlines()))
    return {
        "type": "header",
        "scenario": scenario.get("name"),
        "kernel": os.uname().release,
        "kernel_version": (read_text("/proc/version") or "").strip(),
        "nr_cpus": os.cpu_count(),
        "totalram_pages": meminfo.get("MemTotal", 0) // 4,
        "swap": swap,
        "zswap_params": zswap_params(),
        "lru_gen": (read_text("/sys/kernel/mm/lru_gen/enabled") or "").strip(),
        "cmdline": (read_text("/proc/cmdline") or "").strip(),
    }


def run(scenario: dict[str, Any], out_path: str, memeater: str, swap_dev: str | None) -> int:
    with open(out_path, "w") as out:
        def emit(rec: dict[str, Any]) -> None:
            out.write(json.dumps(rec, sort_keys=True) + "\n")
            out.flush()

        t0 = time.monotonic()
        swap = setup_swap(swap_dev) if swap_dev else {}
        write_knob(CGROOT + "/cgroup.subtree_control", "+memory")
        for name, value in scenario.get("params", {}).items():
            write_knob(f"{ZSWAP_PARAMS}/{name}", str(value))
        emit(header(scenario, swap))
        driver = Driver(scenario, memeater)
        ok, error, i = True, None, -1
        try:
            for i, step in enumerate(scenario["steps"]):
                result = driver.run_step(step)
                rec = {"type": "step", "step": i, "action": step, "cgroup": step.get("cgroup"),
                       "result": result, "t": round(time.monotonic() - t0, 3)}
                rec.update(driver.snapshot())
                emit(rec)
        except (StepError, OSError, KeyError, ValueError, subprocess.SubprocessError) as e:
            ok, error = False, f"step {i}: {type(e).__name__}: {e}"
        finally:
            driver.close()
        emit({"type": "end", "ok": ok, "error": error, "seconds": round(time.monotonic() - t0, 3)})
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", required=True, help="scenario JSON file")
    ap.add_argument("--out", required=True, help="JSON Lines output file")
    ap.add_argument("--memeater", required=True, help="path of the built workloads/memeater binary")
    ap.add_argument("--swap", default=None, help="block device to mkswap+swapon (e.g. /dev/vda)")
    args = ap.parse_args(argv)
    with open(args.scenario) as f:
        scenario = json.load(f)
    mpl = os.path.join(os.path.dirname(os.path.abspath(args.out)), "mpl")
    if os.path.isdir(mpl):  # a pre-built matplotlib font cache, so `zswaplab` imports fast in the guest
        os.environ.setdefault("MPLCONFIGDIR", mpl)
    return run(scenario, args.out, args.memeater, args.swap)


if __name__ == "__main__":
    sys.exit(main())
