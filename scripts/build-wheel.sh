#!/usr/bin/env bash
# Builds dist/swiftdistill-<version>-cp311-cp311-manylinux_<glibc>_x86_64.whl: the Python package
# with the Swift core linked statically against the Swift runtime (-static-stdlib), so the wheel
# needs only the C and C++ runtimes of the machine, not the Swift toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-/usr/bin/python3.11}"
say() { printf '\033[1m[wheel]\033[0m %s\n' "$*" >&2; }
say "building the extension with the Swift runtime linked in (scratch path .build-wheel)"
scripts/swift.sh build -c release --product SwiftDistillPython --scratch-path .build-wheel -Xswiftc -static-stdlib
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -r python/pyproject.toml python/setup.py python/swiftdistill "$stage/"
rm -f "$stage"/swiftdistill/_core*.so
suffix=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
cp .build-wheel/release/libSwiftDistillPython.so "$stage/swiftdistill/_core$suffix"
strip --strip-unneeded "$stage/swiftdistill/_core$suffix"
dynamic=$(readelf -d "$stage/swiftdistill/_core$suffix")  # captured: `| grep -q` under pipefail can SIGPIPE
if grep -E 'NEEDED|R(UN)?PATH' <<<"$dynamic" | grep 'swift\|Foundation\|dispatch' >/dev/null; then
  say "the extension still needs the Swift toolchain's libraries"; exit 1
fi
say "packaging"
.venv/bin/python -m pip wheel -q --no-deps --no-build-isolation -w "$stage/dist" "$stage"
# getconf, not `ldd --version | head -1`: under pipefail, head closing the pipe early kills ldd
# with SIGPIPE (exit 141) on some runs.
glibc=$(getconf GNU_LIBC_VERSION | grep -oE '[0-9]+\.[0-9]+$' | tr . _)
mkdir -p dist
# Re-tag linux_<arch> as manylinux_<this glibc>_<arch>: the extension needs only glibc (≥ this
# version), libstdc++ and libgcc, which `readelf` confirms above.
for whl in "$stage"/dist/*.whl; do
  .venv/bin/python -m wheel unpack -d "$stage/unpacked" "$whl" >/dev/null
  sed -i "s/-linux_$(uname -m)\$/-manylinux_${glibc}_$(uname -m)/" "$stage"/unpacked/*/*.dist-info/WHEEL
  .venv/bin/python -m wheel pack -d dist "$stage"/unpacked/* >/dev/null
done
say "built $(ls dist/*manylinux*.whl | tail -1)"
