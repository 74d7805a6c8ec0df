"""The kernels the VM harness boots, each pinned to an exact package (or to a build recipe).

A *named kernel* is what a recorded run names in its header and the directory its records live in
(``zswaplab/vm/data/<name>/``). Its packages are pinned to exact Debian versions: ``make vm-test`` fetches exactly
those, so that a boot today is comparable with the recorded boots. When Debian drops a pinned version from its
archive the fetch fails with a message that says how to re-record (``docs/validation.md``, "Re-recording").

Kernels live outside the clone, under :func:`kernels_dir` (``$ZSWAPLAB_KERNEL_CACHE`` or
``${XDG_CACHE_HOME:-~/.cache}/zswaplab/kernels/<name>``), so a fresh clone on the same machine (CI) reuses them.

``python -m zswaplab.vm.kernels fetch NAME...`` fetches and unpacks; ``... path NAME`` prints the vmlinuz path;
``... list`` lists the names.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class KernelFetchError(RuntimeError):
    """A pinned kernel could not be fetched or unpacked (the message says what to do)."""


@dataclass(frozen=True)
class KernelSpec:
    """One bootable kernel. ``suite`` says where its packages come from: ``system`` (the machine's own apt
    sources, e.g. bookworm-security), ``sid`` (Debian unstable through ``scripts/apt-sid.sh``, a private apt
    state directory) or ``build`` (``scripts/build-kernel.sh``; ``packages`` is empty)."""

    name: str
    release: str  # `uname -r` in the guest
    suite: str
    packages: tuple[str, ...]  # "package=version", exact
    profile: str  # the model profile this kernel is compared with
    description: str
    modular: bool = True  # a distribution kernel: virtio/9p are modules, vng builds an initramfs with busybox

    @property
    def recorded_dir(self) -> Path:
        return Path(__file__).with_name("data") / self.name


KERNELS: dict[str, KernelSpec] = {k.name: k for k in (
    KernelSpec("linux-6.12.117", "6.12.117+deb12-amd64", "system",
               ("linux-image-6.12.117+deb12-amd64-unsigned=6.12.117-1~deb12u1",),
               "6.12", "Debian bookworm-security's Linux 6.12.117 (amd64, unsigned)"),
    KernelSpec("linux-7.2.13", "7.2.13+deb14-amd64", "sid",
               ("linux-binary-7.2.13+deb14-amd64=7.2.13-1", "linux-modules-7.2.13+deb14-amd64=7.2.13-1"),
               "7.2", "Debian sid's Linux 7.2.13 (amd64), today's mainline stable"),
)}
DEFAULT_KERNELS = ("linux-6.12.117", "linux-7.2.13")


def get(name: str) -> KernelSpec:
    try:
        return KERNELS[name]
    except KeyError:
        raise KernelFetchError(f"unknown kernel {name!r}; known: {', '.join(KERNELS)}") from None


def kernels_dir() -> Path:
    env = os.environ.get("ZSWAPLAB_KERNEL_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "zswaplab" / "kernels"


def root(spec: KernelSpec) -> Path:
    return kernels_dir() / spec.name


def vmlinuz(spec: KernelSpec) -> Path | None:
    """The unpacked kernel image, or None when it has not been fetched."""
    r = root(spec)
    for cand in (r / "boot" / f"vmlinuz-{spec.release}", r / "usr" / "lib" / "modules" / spec.release / "vmlinuz",
                 r / "bzImage"):  # the last: a kernel built by scripts/build-kernel.sh, installed here
        if cand.exists() and (r / ".complete").exists():
            return cand
    return None


def modules_dir(spec: KernelSpec) -> Path | None:
    r = root(spec)
    for cand in (r / "lib" / "modules" / spec.release, r / "usr" / "lib" / "modules" / spec.release):
        if cand.is_dir():
            return cand
    return None


def rerecord_hint(spec: KernelSpec) -> str:
    return ("re-record with a kernel the archive has: add a KernelSpec for it in zswaplab/vm/kernels.py, then "
            "`zswaplab vm-run --kernel <new-name> --boots 3 --out zswaplab/vm/data/<new-name>` and see "
            "docs/validation.md, \"Re-recording\"")


def _apt_download(spec: KernelSpec, dest: Path) -> None:
    if spec.suite == "system":
        cmd = ["apt-get", "-q", "download", *spec.packages]
    elif spec.suite == "sid":
        cmd = ["bash", str(REPO / "scripts" / "apt-sid.sh"), "download", *spec.packages]
    else:
        raise KernelFetchError(f"{spec.name}: no packages to download (suite {spec.suite!r})")
    p = subprocess.run(cmd, cwd=dest, capture_output=True, text=True, timeout=1800, check=False)
    if p.returncode != 0 and spec.suite == "system":
        # the system lists may be stale or missing (a fresh machine): update them once and retry
        subprocess.run(["apt-get", "-q", "-o", "DPkg::Lock::Timeout=600", "update"], capture_output=True,
                       timeout=900, check=False)
        p = subprocess.run(cmd, cwd=dest, capture_output=True, text=True, timeout=1800, check=False)
    if p.returncode != 0:
        raise KernelFetchError(
            f"{spec.name}: cannot download the pinned package(s) {' '.join(spec.packages)} "
            f"({spec.suite} apt sources): {p.stderr.strip()[-600:]}\n"
            f"If Debian no longer carries this version, {rerecord_hint(spec)}.")


def fetch(spec: KernelSpec) -> Path:
    """Download and unpack ``spec``'s pinned packages (idempotent); return its vmlinuz."""
    have = vmlinuz(spec)
    if have is not None:
        return have
    if spec.suite == "build":
        raise KernelFetchError(f"{spec.name} is built, not fetched: run scripts/build-kernel.sh")
    r = root(spec)
    tmp = r.with_name(r.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    debs = tmp / "debs"
    debs.mkdir(parents=True)
    _apt_download(spec, debs)
    for deb in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], check=True, timeout=600)
    shutil.rmtree(debs)
    mods = next((p for p in (tmp / "lib" / "modules" / spec.release, tmp / "usr" / "lib" / "modules" / spec.release)
                 if p.is_dir()), None)
    if mods is None:
        raise KernelFetchError(f"{spec.name}: no modules directory for {spec.release} in the package(s)")
    # distribution packages leave modules.dep to the postinst's depmod; vng's initramfs needs it
    if not (mods / "modules.dep").exists():
        depmod = shutil.which("depmod") or "/sbin/depmod"
        base = mods.parents[1]  # .../lib/modules/<release> -> the tree depmod -b expects (…/lib/modules)
        subprocess.run([depmod, "-b", str(base.parent), spec.release], check=True, timeout=600)
    (tmp / ".complete").write_text("\n".join(spec.packages) + "\n")
    shutil.rmtree(r, ignore_errors=True)
    tmp.rename(r)
    found = vmlinuz(spec)
    if found is None:
        raise KernelFetchError(f"{spec.name}: no vmlinuz for {spec.release} in the package(s)")
    return found


def main(argv: list[str]) -> int:
    if len(argv) < 1 or argv[0] not in ("fetch", "path", "list"):
        print("usage: python -m zswaplab.vm.kernels fetch|path NAME... | list", file=sys.stderr)
        return 2
    if argv[0] == "list":
        for k in KERNELS.values():
            print(f"{k.name}\t{k.suite}\t{' '.join(k.packages) or '(built)'}\t{k.description}")
        return 0
    try:
        for name in argv[1:] or DEFAULT_KERNELS:
            spec = get(name)
            path = fetch(spec) if argv[0] == "fetch" else vmlinuz(spec)
            if path is None:
                print(f"{name}: not fetched", file=sys.stderr)
                return 1
            print(f"{name}\t{path}")
    except (KernelFetchError, subprocess.CalledProcessError) as e:
        print(f"zswaplab.vm.kernels: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
