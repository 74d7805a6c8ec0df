#!/usr/bin/env bash
# Build the zswaplab guest kernel: Linux 7.2.13 (Debian sid's linux-source-7.2) + the project's patch series
# kernel/patches/7.2 (quilt order in its `series` file) + `make tinyconfig` merged with kernel/config/*.config.
# One bzImage serves every variant: the series is selected at run time by zswap module parameters that default
# to the unpatched behaviour (docs/series-on-real-kernel.md).
#
#   scripts/build-kernel.sh                 # build (or reuse) the patched kernel; prints the bzImage path
#   scripts/build-kernel.sh --series none   # the same tree and config without the patches (stock 7.2.13)
#   scripts/build-kernel.sh --key           # print the cache key only (no build)
#   scripts/build-kernel.sh --path          # print the cached bzImage path, exit 1 when not built yet
#
# The result is cached OUTSIDE the clone under $KCACHE/<key>/ (bzImage, .config, patches, build.log, meta.json),
# key = linux-<version>-p<patch hash>-c<config hash>, so a rebuild happens only when one of them changes.
# Building happens in $KCACHE/tree-<version> (hard-linked copy of the pristine source; patched files are
# unlinked copies) with objects in $KCACHE/obj-<version>; switching patch sets only rebuilds what changed.
#
# Environment: XDG_CACHE_HOME (cache root, default ~/.cache), ZSWAPLAB_KCACHE (default
# $XDG_CACHE_HOME/zswaplab/kbuild), ZSWAPLAB_KSRC (pristine source tree; default
# $XDG_CACHE_HOME/zswaplab/src/linux-7.2.13-pristine, extracted from linux-source-7.2_7.2.13-*.deb when
# missing), ZSWAPLAB_KDEB_DIR (where the .deb is looked for; default $XDG_CACHE_HOME/zswaplab/debs; fetched
# with scripts/apt-sid.sh when absent), JOBS (make -j, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
KVER=7.2.13
KSERIES=7.2
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/zswaplab
KCACHE=${ZSWAPLAB_KCACHE:-$CACHE_ROOT/kbuild}
KSRC=${ZSWAPLAB_KSRC:-$CACHE_ROOT/src/linux-$KVER-pristine}
KDEB_DIR=${ZSWAPLAB_KDEB_DIR:-$CACHE_ROOT/debs}
JOBS=${JOBS:-2}
PATCHDIR=$REPO/kernel/patches/$KSERIES
FRAGMENTS=("$REPO"/kernel/config/*.config)
SERIES=patched
MODE=build

die() { echo "build-kernel: ERROR: $*" >&2; exit 1; }
say() { echo "build-kernel: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --series) SERIES=${2:?--series needs patched|none}; shift 2 ;;
    --key) MODE=key; shift ;;
    --path) MODE=path; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
case "$SERIES" in patched|none) ;; *) die "--series must be 'patched' or 'none', not '$SERIES'" ;; esac

# --- the patch list and the cache key -------------------------------------------------------------------------
patches=()
if [ "$SERIES" = patched ]; then
  [ -f "$PATCHDIR/series" ] || die "$PATCHDIR/series not found"
  while read -r line; do
    line=${line%%#*}; line=$(echo "$line" | xargs)
    [ -n "$line" ] || continue
    [ -f "$PATCHDIR/$line" ] || die "$PATCHDIR/series names $line, which does not exist"
    patches+=("$PATCHDIR/$line")
  done < "$PATCHDIR/series"
fi
if [ ${#patches[@]} -gt 0 ]; then
  phash=$(cat "${patches[@]}" | sha256sum | cut -c1-12)
else
  phash=none
fi
chash=$( { echo "tinyconfig"; cat "${FRAGMENTS[@]}"; } | sha256sum | cut -c1-12)
KEY=linux-$KVER-p$phash-c$chash
OUT=$KCACHE/$KEY
if [ "$MODE" = key ]; then echo "$KEY"; exit 0; fi
if [ "$MODE" = path ]; then
  [ -f "$OUT/bzImage" ] || { echo "build-kernel: $KEY not built yet" >&2; exit 1; }
  echo "$OUT/bzImage"; exit 0
fi
if [ -f "$OUT/bzImage" ]; then
  say "cached: $KEY"
  echo "$OUT/bzImage"
  exit 0
fi

# --- build dependencies ---------------------------------------------------------------------------------------
need=()
for t in make:make bc:bc bison:bison flex:flex cpio:cpio gcc:gcc perl:perl; do
  command -v "${t%%:*}" >/dev/null 2>&1 || need+=("${t#*:}")
done
[ -e /usr/include/libelf.h ] || need+=(libelf-dev)
[ -e /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
command -v xz >/dev/null 2>&1 || need+=(xz-utils)
if [ ${#need[@]} -gt 0 ]; then
  say "installing build dependencies: ${need[*]} (apt)"
  if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo -n); fi
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
    --no-install-recommends "${need[@]}" >/dev/null \
    || { "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null &&
         "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
           --no-install-recommends "${need[@]}" >/dev/null; } \
    || die "apt-get install ${need[*]} failed"
fi

mkdir -p "$KCACHE"
exec 9>"$KCACHE/.lock"
flock 9   # one build at a time per cache directory

# --- pristine source (from the Debian source package when missing) -------------------------------------------
if [ ! -f "$KSRC/Makefile" ]; then
  deb=$(ls "$KDEB_DIR"/linux-source-${KSERIES}_${KVER}-*_all.deb 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$deb" ]; then
    mkdir -p "$KDEB_DIR"
    say "fetching linux-source-$KSERIES from Debian sid (scripts/apt-sid.sh, ~164 MB)"
    (cd "$KDEB_DIR" && bash "$REPO/scripts/apt-sid.sh" download "linux-source-$KSERIES") \
      || die "could not download linux-source-$KSERIES"
    deb=$(ls "$KDEB_DIR"/linux-source-${KSERIES}_${KVER}-*_all.deb 2>/dev/null | sort -V | tail -1 || true)
    [ -n "$deb" ] || die "Debian sid no longer has linux-source-$KSERIES $KVER; put the .deb in $KDEB_DIR"
  fi
  say "extracting $deb"
  tmp=$(mktemp -d "$CACHE_ROOT/src.XXXXXX")
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './usr/src/linux-source-*.tar.*'
  tarball=$(ls "$tmp"/usr/src/linux-source-*.tar.* | head -1)
  mkdir -p "$tmp/x" && tar -xf "$tarball" -C "$tmp/x"
  mkdir -p "$(dirname "$KSRC")"
  mv "$tmp"/x/linux-source-* "$KSRC" && rm -rf "$tmp"
fi
[ "$(make -s -C "$KSRC" kernelversion 2>/dev/null)" = "$KVER" ] || die "$KSRC is not Linux $KVER"

# --- the working tree: hard links to the pristine tree, patched files are private copies ---------------------
TREE=$KCACHE/tree-$KVER
OBJ=$KCACHE/obj-$KVER
STATE=$KCACHE/state-$KVER          # applied.list + copies of the files as last built (for their mtimes)
if [ ! -f "$TREE/Makefile" ]; then
  say "creating the build tree $TREE (hard links to $KSRC)"
  rm -rf "$TREE" "$STATE"
  cp -al "$KSRC" "$TREE"
fi
mkdir -p "$STATE/files"
touch "$STATE/applied.list"
# undo the previous patch set: every file it touched becomes a fresh (new-mtime) copy of the pristine file, or
# disappears when the patch created it
while read -r f; do
  [ -n "$f" ] || continue
  rm -f "$TREE/$f"
  if [ -e "$KSRC/$f" ]; then cp "$KSRC/$f" "$TREE/$f"; fi
done < "$STATE/applied.list"
: > "$STATE/applied.list.new"
for p in "${patches[@]}"; do
  say "applying $(basename "$p")"
  grep -E '^\+\+\+ b/' "$p" | sed -E 's#^\+\+\+ b/##; s#\t.*$##' >> "$STATE/applied.list.new"
  # patch(1) writes a new file and renames it over the old one, so the hard-linked pristine file is untouched
  patch -d "$TREE" -p1 -s -N --no-backup-if-mismatch -r - < "$p" || die "$(basename "$p") does not apply"
done
sort -u -o "$STATE/applied.list.new" "$STATE/applied.list.new"
# a file whose content equals what the last build used keeps that build's mtime: no needless recompiles
while read -r f; do
  [ -n "$f" ] || continue
  if [ -f "$STATE/files/$f" ] && cmp -s "$STATE/files/$f" "$TREE/$f"; then
    touch -r "$STATE/files/$f" "$TREE/$f"
  else
    mkdir -p "$(dirname "$STATE/files/$f")"; cp -p "$TREE/$f" "$STATE/files/$f"
  fi
done < "$STATE/applied.list.new"
mv "$STATE/applied.list.new" "$STATE/applied.list"

# --- configuration: tinyconfig + fragments, written only when it changed ------------------------------------
export KBUILD_BUILD_USER=zswaplab KBUILD_BUILD_HOST=zswaplab
export KBUILD_BUILD_TIMESTAMP="$(date -u -d @0 '+%a %b %e %H:%M:%S UTC %Y')"
mkdir -p "$OBJ"
cfgtmp=$(mktemp -d "$KCACHE/cfg.XXXXXX")
make -s -C "$TREE" O="$cfgtmp" tinyconfig >/dev/null
"$TREE/scripts/kconfig/merge_config.sh" -m -O "$cfgtmp" "$cfgtmp/.config" "${FRAGMENTS[@]}" >/dev/null
make -s -C "$TREE" O="$cfgtmp" olddefconfig >/dev/null
for sym in ZSWAP MEMCG SWAP ZSMALLOC PSI DEBUG_FS LRU_GEN LRU_GEN_ENABLED VIRTIO_BLK VIRTIO_PCI NET_9P_VIRTIO \
           9P_FS OVERLAY_FS TMPFS DEVTMPFS SERIAL_8250_CONSOLE VIRTIO_CONSOLE CRYPTO_LZO BINFMT_ELF; do
  grep -q "^CONFIG_$sym=y" "$cfgtmp/.config" || die "the merged config lacks CONFIG_$sym=y (kernel/config)"
done
if ! cmp -s "$cfgtmp/.config" "$OBJ/.config"; then cp "$cfgtmp/.config" "$OBJ/.config"; fi
rm -rf "$cfgtmp"

# --- build ------------------------------------------------------------------------------------------------------
say "building $KEY with make -j$JOBS (log: $OBJ/build.log)"
t0=$(date +%s)
if ! make -C "$TREE" O="$OBJ" -j"$JOBS" bzImage > "$OBJ/build.log" 2>&1; then
  grep -E 'error|Error' "$OBJ/build.log" | head -30 >&2
  die "make bzImage failed (see $OBJ/build.log)"
fi
secs=$(( $(date +%s) - t0 ))
release=$(make -s -C "$TREE" O="$OBJ" kernelrelease)
tmpout=$(mktemp -d "$KCACHE/out.XXXXXX")
cp "$OBJ/arch/x86/boot/bzImage" "$tmpout/bzImage"
cp "$OBJ/.config" "$tmpout/config"
cp "$OBJ/build.log" "$tmpout/build.log"
mkdir -p "$tmpout/patches"
for p in "${patches[@]}"; do cp "$p" "$tmpout/patches/"; done
patch_names=$(for p in "${patches[@]}"; do printf '"%s",' "$(basename "$p")"; done)
cat > "$tmpout/meta.json" <<EOF
{"key": "$KEY", "version": "$KVER", "release": "$release", "series": "$SERIES",
 "patch_hash": "$phash", "config_hash": "$chash", "patches": [${patch_names%,}],
 "build_seconds": $secs, "jobs": $JOBS}
EOF
rm -rf "$OUT" && mv "$tmpout" "$OUT"
say "built $KEY in ${secs}s"
echo "$OUT/bzImage"
