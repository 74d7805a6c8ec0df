#!/usr/bin/env bash
# `make vm-test`: set up what the VM tests need (idempotent; a fresh machine has nothing) and run them.
#   1. apt: qemu-system-x86 (QEMU, software emulation only: /dev/kvm is never used), busybox-static (vng's
#      initramfs for a modular distribution kernel), gcc + libc6-dev (the static workload program), kmod and
#      util-linux (depmod/modprobe/mkswap/swapon); apt waits for the dpkg lock instead of failing
#   2. pip: virtme-ng (pinned) into .cache/vm/vng-venv (boots the kernel with the host filesystem as the root)
#   3. the kernels of ZSWAPLAB_VM_KERNELS (default: linux-6.12.117 linux-7.2.13), each pinned to exact Debian
#      package versions in zswaplab/vm/kernels.py and unpacked outside the clone (~/.cache/zswaplab/kernels);
#      3b. the patched 7.2 (scripts/build-kernel.sh, cached outside the clone; CI's lean set only when cached)
#   4. pytest -m vm tests/vm (every VM boot has its own hard time limit; the whole run has VM_TEST_TIMEOUT)
# Environment: ZSWAPLAB_VM_CACHE (default .cache/vm), ZSWAPLAB_VM_KERNELS, ZSWAPLAB_KERNEL_CACHE,
# VM_TEST_TIMEOUT (seconds, default 5400: the full set took 32-39 min at host load ~7), VM_TEST_ARGS (extra pytest arguments), PY (default .venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
CACHE=${ZSWAPLAB_VM_CACHE:-$PWD/.cache/vm}
export ZSWAPLAB_VM_CACHE=$CACHE
mkdir -p "$CACHE"
T0=$(date +%s)

die() { echo "vm-test: ERROR: $*" >&2; exit 1; }
say() { echo "vm-test: $*" >&2; }
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
  else die "root (or passwordless sudo) is needed to run: $*"; fi
}
APT_WAIT=(-o DPkg::Lock::Timeout=900)  # wait for another apt/dpkg instead of failing
apt_updated=0
apt_update() {
  [ $apt_updated = 1 ] && return 0
  say "apt-get update"
  as_root env DEBIAN_FRONTEND=noninteractive timeout 900 apt-get "${APT_WAIT[@]}" update -q >/dev/null \
    || die "apt-get update failed (network? apt sources?)"
  apt_updated=1
}

[ -x "$PY" ] || die "$PY not found: run \`make vm-test\` (it creates the venv) or set PY"

# 1. system packages ---------------------------------------------------------------------------------------
need=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
[ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || need+=(busybox-static)  # vng's initramfs (modular kernels)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || need+=(libc6-dev)
command -v modprobe >/dev/null 2>&1 || [ -x /sbin/modprobe ] || need+=(kmod)
{ command -v mkswap && command -v swapon; } >/dev/null 2>&1 || [ -x /sbin/mkswap ] || need+=(util-linux)
command -v dpkg-deb >/dev/null 2>&1 || need+=(dpkg)
if [ ${#need[@]} -gt 0 ]; then
  apt_update
  say "installing ${need[*]} (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive timeout 1800 apt-get "${APT_WAIT[@]}" install -y -q \
    --no-install-recommends "${need[@]}" >/dev/null || die "apt-get install ${need[*]} failed"
fi

# 2. virtme-ng ---------------------------------------------------------------------------------------------
if [ ! -x "$CACHE/vng-venv/bin/vng" ]; then
  say "installing virtme-ng into $CACHE/vng-venv (pip)"
  rm -rf "$CACHE/vng-venv"
  "$PY" -m venv "$CACHE/vng-venv" || die "cannot create $CACHE/vng-venv"
  timeout 600 "$CACHE/vng-venv/bin/pip" install -q 'virtme-ng==1.42' || die "pip install virtme-ng failed"
fi

# 3. the kernels: exact pinned packages (zswaplab/vm/kernels.py), unpacked outside the clone ------------------
KERNELS=${ZSWAPLAB_VM_KERNELS:-linux-6.12.117 linux-7.2.13}
export ZSWAPLAB_VM_KERNELS=$KERNELS
for k in $KERNELS; do
  "$PY" -m zswaplab.vm.kernels fetch "$k" >&2 || die "cannot fetch the pinned kernel $k (see above)"
done
say "kernels: $KERNELS; setup took $(( $(date +%s) - T0 ))s"

# 3b. Linux 7.2.13 with the project's patch series (built once, cached outside the clone; docs/series-on-real-kernel.md)
# A clean build took 3,453 s on a loaded 2-core machine: CI's lean set (ZSWAPLAB_VM_SCENARIOS set) boots the
# patched kernel only when its build is already cached (then one series scenario joins the set); otherwise it
# says so and its live tests stay deselected (its recorded runs are still held to the model by `make test`).
PATCHED_BZ="${XDG_CACHE_HOME:-$HOME/.cache}/zswaplab/kbuild/$(bash scripts/build-kernel.sh --key)/bzImage"
if [ -n "${ZSWAPLAB_VM_SCENARIOS:-}" ] && [ ! -f "$PATCHED_BZ" ] && [ "${ZSWAPLAB_VM_BUILD:-0}" != 1 ]; then
  say "the patched 7.2 kernel is not built ($PATCHED_BZ missing): the lean set does not build it;" \
      "its live tests are deselected (\`make vm-test\` or ZSWAPLAB_VM_BUILD=1 builds it)"
else
  bash scripts/build-kernel.sh >/dev/null || die "scripts/build-kernel.sh failed (the patched 7.2 kernel)"
  [ -n "${ZSWAPLAB_VM_SCENARIOS:-}" ] && export ZSWAPLAB_VM_SCENARIOS="$ZSWAPLAB_VM_SCENARIOS series_fairness_cursor_b32"
fi

# 4. the VM test suite ---------------------------------------------------------------------------------------
# A guest run on the emulated kernel occasionally dies mid-scenario (seen once in ~6 full runs: the
# global_pool_limit guest stopped after step 5 with an empty log). Failed tests get ONE more boot, said loudly;
# a test that fails twice fails the run.
set +e
PYT=("$PY" -m pytest -q -m vm -o "cache_dir=$CACHE/pytest-cache" ${VM_TEST_ARGS:-} tests/vm)
timeout --kill-after=30 "${VM_TEST_TIMEOUT:-5400}" "${PYT[@]}"
rc=$?
if [ $rc = 1 ]; then
  say "some VM tests failed; re-running only those once (--last-failed)"
  timeout --kill-after=30 "${VM_TEST_TIMEOUT:-5400}" "${PYT[@]}" --last-failed
  rc=$?
fi
set -e
[ $rc = 124 ] && die "the VM test suite exceeded VM_TEST_TIMEOUT=${VM_TEST_TIMEOUT:-5400}s"
say "finished in $(( $(date +%s) - T0 ))s (pytest exit $rc)"
exit $rc
