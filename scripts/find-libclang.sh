#!/usr/bin/env bash
# Prints the path of a libclang shared library that the RocksDB crate's bindgen can load, and
# exits 1 when there is none. It looks where bindgen's loader (the clang-sys crate, with its
# `runtime` feature) looks, for the file names it accepts:
#   directories: $LIBCLANG_PATH (a directory or a file), `llvm-config --prefix`/{bin,lib,lib64},
#                $LD_LIBRARY_PATH, $LIBRARY_PATH, then /usr/local/llvm*/lib*, /usr/local/lib*/*/*,
#                /usr/local/lib*/*, /usr/local/lib*, /usr/lib*/*/*, /usr/lib*/*, /usr/lib*
#   file names:  libclang.so, libclang-N.so, libclang.so.N…, libclang-N.so.M…
# but never libclang-cpp.so.N (the C++ interface, package libclang-cppN), which bindgen cannot
# load although its name looks alike. $HEIMSIGHT_LIBCLANG_ROOT (tests only) is put in front
# of the fixed directories, so a test can lay out a fake file system.
set -uo pipefail
root="${HEIMSIGHT_LIBCLANG_ROOT:-}"

accepts() {
  local name="$1"
  case "$name" in
    *-cpp.*) return 1 ;;
    libclang.so | libclang-*.so | libclang.so.* | libclang-*.so.*) return 0 ;;
    *) return 1 ;;
  esac
}

search() {
  local dir="$1" f
  [ -d "$dir" ] || return 1
  for f in "$dir"/libclang*; do
    [ -e "$f" ] || continue
    if accepts "$(basename "$f")"; then
      echo "$f"
      return 0
    fi
  done
  return 1
}

dirs=()
if [ -n "${LIBCLANG_PATH:-}" ]; then
  if [ -f "$LIBCLANG_PATH" ]; then
    accepts "$(basename "$LIBCLANG_PATH")" && { echo "$LIBCLANG_PATH"; exit 0; }
  else
    dirs+=("$LIBCLANG_PATH")
  fi
fi
if [ -z "$root" ] && prefix="$(${LLVM_CONFIG_PATH:-llvm-config} --prefix 2>/dev/null)"; then
  dirs+=("$prefix/bin" "$prefix/lib" "$prefix/lib64")
fi
for var in "${LD_LIBRARY_PATH:-}" "${LIBRARY_PATH:-}"; do
  IFS=: read -r -a parts <<<"$var"
  for d in "${parts[@]}"; do [ -n "$d" ] && dirs+=("$d"); done
done
shopt -s nullglob
for pattern in "/usr/local/llvm*/lib*" "/usr/local/lib*/*/*" "/usr/local/lib*/*" "/usr/local/lib*" \
  "/usr/lib*/*/*" "/usr/lib*/*" "/usr/lib*"; do
  # shellcheck disable=SC2206 # the pattern is meant to expand
  expanded=($root$pattern)
  for d in "${expanded[@]}"; do dirs+=("$d"); done
done

for d in "${dirs[@]}"; do
  search "$d" && exit 0
done
exit 1
