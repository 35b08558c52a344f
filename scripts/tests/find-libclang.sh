#!/usr/bin/env bash
# Tests scripts/find-libclang.sh on fake file systems: a machine with only the C++ interface
# (libclang-cpp.so.14, what a fresh Debian 12 may have) has no usable libclang; each name
# bindgen's loader accepts is found, in the llvm directories and in the multiarch lib dir.
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
find_libclang="$here/find-libclang.sh"
passed=0
failed=0

check() { # description, expected (found|missing), files to create under the fake root...
  local what="$1" want="$2"
  shift 2
  local root
  root="$(mktemp -d)"
  for f in "$@"; do
    mkdir -p "$root$(dirname "$f")"
    : >"$root$f"
  done
  local out got
  if out="$(env -u LIBCLANG_PATH -u LD_LIBRARY_PATH -u LIBRARY_PATH HEIMSIGHT_LIBCLANG_ROOT="$root" bash "$find_libclang")"; then
    got="found"
  else
    got="missing"
  fi
  if [ "$got" = "$want" ] && { [ "$want" = missing ] || [[ "$out" == "$root"/* ]]; }; then
    passed=$((passed + 1))
  else
    echo "FAILED: $what: wanted $want, got $got ($out)"
    failed=$((failed + 1))
  fi
  rm -rf "$root"
}

check "only libclang-cpp.so.14 (Debian's libclang-cpp14)" missing \
  /usr/lib/x86_64-linux-gnu/libclang-cpp.so.14 /usr/lib/llvm-14/lib/libclang-cpp.so.14
check "only LLVM itself" missing /usr/lib/llvm-14/lib/libLLVM-14.so
check "nothing at all" missing
check "libclang-14.so.1 in the multiarch dir (libclang1-14)" found \
  /usr/lib/x86_64-linux-gnu/libclang-cpp.so.14 /usr/lib/x86_64-linux-gnu/libclang-14.so.1
check "libclang.so in llvm's lib dir (libclang-14-dev)" found /usr/lib/llvm-14/lib/libclang.so
check "libclang.so.1 in llvm's lib dir" found /usr/lib/llvm-14/lib/libclang.so.1
check "libclang-15.so under /usr/local/llvm" found /usr/local/llvm15/lib/libclang-15.so

# LIBCLANG_PATH naming a file is taken as it is, and a -cpp file is refused there too.
tmp="$(mktemp -d)"
: >"$tmp/libclang.so.16"
: >"$tmp/libclang-cpp.so.16"
if out="$(HEIMSIGHT_LIBCLANG_ROOT="$tmp/none" LIBCLANG_PATH="$tmp/libclang.so.16" bash "$find_libclang")" && [ "$out" = "$tmp/libclang.so.16" ]; then
  passed=$((passed + 1))
else
  echo "FAILED: LIBCLANG_PATH naming a library"; failed=$((failed + 1))
fi
if ! HEIMSIGHT_LIBCLANG_ROOT="$tmp/none" LIBCLANG_PATH="$tmp/libclang-cpp.so.16" bash "$find_libclang" >/dev/null; then
  passed=$((passed + 1))
else
  echo "FAILED: LIBCLANG_PATH naming libclang-cpp"; failed=$((failed + 1))
fi
rm -rf "$tmp"

echo "find-libclang: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
