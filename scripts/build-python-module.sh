#!/usr/bin/env bash
# Builds the Swift core as a CPython extension module and puts it where the package finds it:
# python/swiftdistill/_core<EXT_SUFFIX> (e.g. _core.cpython-311-x86_64-linux-gnu.so). The module
# does not link libpython: it uses the interpreter that imports it. It links the Swift runtime
# from the toolchain (/opt/swift) through its RUNPATH.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-/usr/bin/python3.11}"
scripts/swift.sh build -c release --product SwiftDistillPython
suffix=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
rm -f python/swiftdistill/_core*.so
cp .build/release/libSwiftDistillPython.so "python/swiftdistill/_core$suffix"
echo "built python/swiftdistill/_core$suffix" >&2
