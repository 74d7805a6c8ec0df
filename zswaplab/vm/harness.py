"""Host-side VM runner: boots a Linux kernel (Debian's 6.12 or 7.2, or one built here) under QEMU (TCG, never KVM)
with virtme-ng and runs one scenario inside it with :mod:`zswaplab.vm.guest`.

The guest sees the host filesystem as its root over 9p (read-only, tmpfs overlays), so it runs this checkout's
own code with the host's Python. Each scenario gets a fresh VM (1 vCPU by default: the deterministic setup), a
fresh sparse swap image attached as a virtio-blk disk and its own run directory shared read-write over 9p, where
the guest writes its JSON Lines records. Every boot has a hard time limit; a missing tool, a boot failure or a
timeout raises :class:`VMError` with a message saying what to do, never hangs.

Assets (installed by ``scripts/vm-test.sh``, found here): ``qemu-system-x86_64`` (apt ``qemu-system-x86``),
``vng`` (pip ``virtme-ng``, in ``.cache/vm/vng-venv`` or on PATH), busybox (for a modular kernel's initramfs) and
a named kernel of :mod:`zswaplab.vm.kernels` (pinned Debian packages, unpacked outside the clone) or any kernel
image given by path. The workload program
``workloads/memeater.c`` is built here (``gcc -O2 -static``) when missing or out of date.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import kernels

REPO = Path(__file__).resolve().parents[2]
GUEST_SCRIPT = Path(__file__).resolve().with_name("guest.py")
DEFAULT_CMDLINE = "zswap.enabled=1 zswap.shrinker_enabled=0 zswap.compressor=lzo zswap.zpool=zsmalloc " \
                  "transparent_hugepage=never"


class VMError(RuntimeError):
    """The VM could not be run (missing tool, boot failure, timeout, guest driver crash)."""


def cache_dir() -> Path:
    return Path(os.environ.get("ZSWAPLAB_VM_CACHE", REPO / ".cache" / "vm"))


@dataclass
class Assets:
    vmlinuz: Path
    kernel_release: str
    kernel_package: str
    kernel_name: str
    vng: Path
    memeater: Path
    python: str


@dataclass
class VMRun:
    scenario: str
    records: list[dict[str, Any]]
    wall_seconds: float
    rundir: Path
    console: str = ""
    header: dict[str, Any] = field(default_factory=dict)

    @property
    def steps(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("type") == "step"]


def build_memeater(out_dir: Path | None = None) -> Path:
    """Build workloads/memeater.c with ``gcc -O2 -static`` (only when missing or older than the source)."""
    src = REPO / "workloads" / "memeater.c"
    out = (out_dir or cache_dir() / "bin") / "memeater"
    if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
        return out
    gcc = shutil.which("gcc")
    if gcc is None:
        raise VMError("gcc not found: install gcc and libc6-dev (needed to build workloads/memeater.c)")
    out.parent.mkdir(parents=True, exist_ok=True)
    p = subprocess.run([gcc, "-O2", "-static", "-Wall", "-o", str(out) + ".tmp", str(src)],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise VMError(f"building {src} failed (gcc -O2 -static; is libc6-dev installed?):\n{p.stderr[-2000:]}")
    os.replace(str(out) + ".tmp", out)
    return out


def find_assets(kernel: str | None = None) -> Assets:
    """Locate everything a VM run needs; raise VMError naming what is missing and how to get it.

    ``kernel`` is a named kernel of :mod:`zswaplab.vm.kernels` (default: ``$ZSWAPLAB_VM_KERNEL`` or the first of
    ``$ZSWAPLAB_VM_KERNELS``, else linux-6.12.117) or a path to any kernel image (named after its file)."""
    if shutil.which("qemu-system-x86_64") is None:
        raise VMError("qemu-system-x86_64 not found: run `make vm-test` (or `apt-get install qemu-system-x86`)")
    kernel = kernel or os.environ.get("ZSWAPLAB_VM_KERNEL") or \
        (os.environ.get("ZSWAPLAB_VM_KERNELS", "").split() or [kernels.DEFAULT_KERNELS[0]])[0]
    if kernel in kernels.KERNELS:
        spec = kernels.KERNELS[kernel]
        vmlinuz = kernels.vmlinuz(spec)
        if vmlinuz is None:
            how = "scripts/build-kernel.sh" if spec.suite == "build" else \
                f"`python -m zswaplab.vm.kernels fetch {kernel}` (or `make vm-test`)"
            raise VMError(f"kernel {kernel} is not under {kernels.root(spec)}: run {how}")
        name, package = kernel, " ".join(spec.packages) or f"built by scripts/build-kernel.sh ({spec.description})"
        release = spec.release
    elif Path(kernel).is_file():
        vmlinuz = Path(kernel).resolve()
        name, package, release = vmlinuz.name, f"file {vmlinuz}", ""
    else:
        raise VMError(f"unknown kernel {kernel!r}: a name of {', '.join(kernels.KERNELS)} or a kernel image path")
    vng = cache_dir() / "vng-venv" / "bin" / "vng"
    if not vng.exists():
        which = shutil.which("vng")
        if which is None:
            raise VMError("virtme-ng (vng) not found: run `make vm-test` (it pip-installs virtme-ng into "
                          f"{cache_dir()}/vng-venv)")
        vng = Path(which)
    if kernel in kernels.KERNELS and kernels.KERNELS[kernel].modular and _busybox() is None:
        raise VMError("busybox not found: vng needs it for the initramfs of a modular kernel: run `make vm-test` "
                      "(or `apt-get install busybox-static`)")
    return Assets(vmlinuz=vmlinuz, kernel_release=release, kernel_package=package, kernel_name=name,
                  vng=vng, memeater=build_memeater(), python=sys.executable)


def _busybox() -> str | None:
    return shutil.which("busybox") or next((p for p in ("/bin/busybox", "/usr/bin/busybox") if os.path.exists(p)),
                                           None)


def vng_command(assets: Assets, rundir: Path, *, cpus: int, memory: str, append: str) -> list[str]:
    guest = (f"{assets.python} {GUEST_SCRIPT} --scenario {rundir}/scenario.json --out {rundir}/out.jsonl "
             f"--memeater {assets.memeater} --swap /dev/vda > {rundir}/guest.log 2>&1")
    return [
        str(assets.vng), "--run", str(assets.vmlinuz), "--disable-kvm", "--force-9p",
        "--memory", memory, "--cpus", str(cpus), f"--rwdir={rundir}",
        f"--qemu-opts=-drive file={rundir}/swap.img,if=virtio,format=raw,cache=unsafe",
        "--append", append, "--exec", guest,
    ]


def read_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a truncated last line (VM killed mid-write)
    return out


def run_scenario(scenario: dict[str, Any], *, timeout: float = 300, cpus: int = 1, memory: str = "1G",
                 swap_mb: int = 512, extra_append: str = "", assets: Assets | None = None) -> VMRun:
    """Boot a fresh VM, run ``scenario`` in it, return its records. Raises VMError on any failure."""
    assets = assets or find_assets()
    name = scenario.get("name", "scenario")
    rundir = cache_dir() / "runs" / f"{name}-{os.getpid()}-{time.time_ns() % 10**9}"
    rundir.mkdir(parents=True)
    (rundir / "scenario.json").write_text(json.dumps(scenario, indent=1))
    if any(step.get("op") == "exec" for step in scenario.get("steps", [])):
        _prepare_mplconfig(rundir / "mpl")
    with open(rundir / "swap.img", "wb") as f:
        f.truncate(swap_mb << 20)
    cmd = vng_command(assets, rundir, cpus=cpus, memory=memory,
                      append=f"{DEFAULT_CMDLINE} {extra_append}".strip())
    env = dict(os.environ, PATH=f"{assets.vng.parent}:{os.environ.get('PATH', '')}")
    t0 = time.monotonic()
    with open(rundir / "console.log", "w") as console:
        proc = subprocess.Popen(cmd, stdout=console, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=REPO, env=env, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # our own child's process group (vng + qemu)
            proc.wait()
            raise VMError(f"VM for scenario {name!r} timed out after {timeout:.0f}s and was killed; "
                          f"console: {rundir}/console.log, guest log: {rundir}/guest.log\n"
                          f"{_tail(rundir / 'guest.log')}") from None
    wall = time.monotonic() - t0
    (rundir / "swap.img").unlink(missing_ok=True)
    records = read_records(rundir / "out.jsonl")
    console_text = (rundir / "console.log").read_text(errors="replace")
    if not records:
        raise VMError(f"VM for scenario {name!r} produced no output (boot failure? vng exit {proc.returncode}); "
                      f"console: {rundir}/console.log\n{console_text[-3000:]}\n{_tail(rundir / 'guest.log')}")
    end = records[-1]
    if end.get("type") != "end":
        raise VMError(f"guest driver for {name!r} stopped early (last record: {end.get('type')} "
                      f"{end.get('step')}); guest log:\n{_tail(rundir / 'guest.log')}")
    if not end.get("ok"):
        raise VMError(f"scenario {name!r} failed in the guest: {end.get('error')}")
    if records[0].get("type") == "header":  # the host knows which package (and patches) the kernel came from
        records[0].update(kernel_name=assets.kernel_name, kernel_package=assets.kernel_package)
    return VMRun(scenario=name, records=records, wall_seconds=wall, rundir=rundir, console=console_text,
                 header=records[0] if records[0].get("type") == "header" else {})


def _prepare_mplconfig(dest: Path) -> None:
    """Give the guest a writable MPLCONFIGDIR with a font cache built on the host (building it under TCG
    takes about a minute; `zswaplab.cli` imports matplotlib through the lab's CLI)."""
    src = cache_dir() / "mplconfig"
    if not src.exists():
        src.mkdir(parents=True)
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=dict(os.environ,
                       MPLCONFIGDIR=str(src)), capture_output=True, timeout=300, check=False)
    shutil.copytree(src, dest)


def _tail(path: Path, n: int = 40) -> str:
    if not path.exists():
        return f"({path} missing)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
