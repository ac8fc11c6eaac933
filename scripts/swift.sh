#!/usr/bin/env bash
# Runs `swift "$@"` linked against $PYTHON's libpython (default Debian's /usr/bin/python3.11):
# its pkg-config directory goes first, and when its library is not in a system directory the
# binaries get an rpath to it (otherwise the loader would silently pick Debian's libpython, which
# has the same soname).
set -euo pipefail
PYTHON="${PYTHON:-/usr/bin/python3.11}"
export PATH="/opt/swift/usr/bin:$PATH"
libpc=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_config_var("LIBPC") or "")')
libdir=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR") or "")')
export PKG_CONFIG_PATH="${libpc}${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
flags=()
case "$libdir" in
  /usr/lib|/usr/lib/x86_64-linux-gnu|/usr/lib/aarch64-linux-gnu|"") ;;
  *) flags=(-Xlinker -rpath -Xlinker "$libdir") ;;
esac
cmd="$1"; shift
exec swift "$cmd" ${flags[@]+"${flags[@]}"} "$@"
