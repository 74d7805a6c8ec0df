#!/usr/bin/env bash
# apt-get against Debian's unstable suite (sid) with a private apt state directory: the system's apt sources,
# lists and cache are never touched. The mirror is the one the machine's own Debian sources already use.
#
#   scripts/apt-sid.sh update                 # refresh the private lists (also done on first use)
#   scripts/apt-sid.sh download PKG[=VER] ... # .deb files into the current directory
#   scripts/apt-sid.sh policy PKG | show PKG | search REGEX
#
# Environment: ZSWAPLAB_APT_SID_DIR (state directory; default ${XDG_CACHE_HOME:-$HOME/.cache}/zswaplab/apt-sid),
# ZSWAPLAB_DEBIAN_MIRROR (override the mirror URI).
set -euo pipefail
DIR=${ZSWAPLAB_APT_SID_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/zswaplab/apt-sid}
die() { echo "apt-sid: ERROR: $*" >&2; exit 1; }

mirror() {
  [ -n "${ZSWAPLAB_DEBIAN_MIRROR:-}" ] && { echo "$ZSWAPLAB_DEBIAN_MIRROR"; return; }
  # the first main-archive URI of the system's sources (deb822 .sources or one-line .list), not -security
  local uri
  uri=$( { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{for(i=2;i<=NF;i++) print $i}';
           grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
             | sed -E 's/\[[^]]*\]//' | awk '{print $2}'; } | grep -v -- '-security' | grep -m1 '/debian/\?$' || true)
  [ -n "$uri" ] || die "no Debian mirror found in /etc/apt/sources.list{,.d}; set ZSWAPLAB_DEBIAN_MIRROR"
  echo "${uri%/}"
}

mkdir -p "$DIR/lists/partial" "$DIR/cache/archives/partial" "$DIR/etc"
echo "deb $(mirror) sid main" > "$DIR/etc/sources.list"
OPTS=(-o "Dir::Etc::sourcelist=$DIR/etc/sources.list" -o Dir::Etc::sourceparts=/dev/null
      -o "Dir::State::Lists=$DIR/lists" -o "Dir::Cache=$DIR/cache" -o Dir::Cache::pkgcache=
      -o Dir::Cache::srcpkgcache= -o Debug::NoLocking=1 -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root)

update() { timeout 900 apt-get "${OPTS[@]}" -q update >/dev/null || die "apt-get update of sid failed"; }

cmd=${1:-}; shift || true
case "$cmd" in
  update) update ;;
  download)
    ls "$DIR"/lists/*_sid_*Packages* >/dev/null 2>&1 || update
    timeout 1800 apt-get "${OPTS[@]}" -q download "$@" || { update; timeout 1800 apt-get "${OPTS[@]}" -q download "$@"; } \
      || die "apt-get download $* failed" ;;
  policy|show|search)
    ls "$DIR"/lists/*_sid_*Packages* >/dev/null 2>&1 || update
    apt-cache "${OPTS[@]}" "$cmd" "$@" ;;
  *) die "usage: $0 update | download PKG... | policy|show|search ARGS" ;;
esac
