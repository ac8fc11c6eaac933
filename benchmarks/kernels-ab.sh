#!/usr/bin/env bash
# The matrix kernels of the work tree against those of a git revision, in one process:
#   benchmarks/kernels-ab.sh [REV] [M,K,N,KIND ...]     (REV defaults to HEAD; KIND 0 A·B, 1 Aᵀ·B, 2 A·Bᵀ)
# Both versions are compiled for the widest instruction set this CPU runs (avx512 or avx2) and timed
# in alternating 20 ms slices on core 0 (a VM's clock drifts too much between separate runs to
# see a few per cent). Also prints whether the two give the same bits.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-HEAD}; [ $# -gt 0 ] && shift
shapes=("$@"); [ ${#shapes[@]} -gt 0 ] || shapes=(64,256,256,0 64,256,256,1 64,256,256,2 64,256,2,2 128,512,512,0)
cc=${CC:-$(command -v clang || echo /opt/swift/usr/bin/clang)}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
git show "$rev:Sources/CKernels/kernels_body.h" > "$work/body_old.h"
cp Sources/CKernels/kernels_body.h "$work/body_new.h"
if grep -q avx512f /proc/cpuinfo; then
    isa='#define SD_LANES 16
#define SD_TARGET __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define SD_DOT_COLUMNS 4'
else
    isa='#define SD_LANES 8
#define SD_TARGET __attribute__((target("avx2,fma")))
#define SD_DOT_COLUMNS 3'
fi
for v in old new; do
    printf '#define SD_ISA %s\n%s\n#include "body_%s.h"\n' "$v" "$isa" "$v" > "$work/k_$v.c"
    "$cc" -O3 -ffp-contract=off -fno-math-errno -Wno-psabi -I Sources/CKernels -c "$work/k_$v.c" -o "$work/k_$v.o"
done
"$cc" -O2 benchmarks/kernels-ab/ab.c "$work/k_old.o" "$work/k_new.o" -lm -o "$work/ab"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); old = $rev, new = work tree"
for s in "${shapes[@]}"; do taskset -c 0 "$work/ab" ${s//,/ }; done
