#!/usr/bin/env bash
# Checks that every file or directory path ARCHITECTURE.md names in backticks exists in the
# repository: `heimsight-store/src/rocks/mod.rs`, `rocks/bloom_cache.rs` (a path may start
# below a crate's src/ or tests/: it must be the end of some tracked path), `examples/http/`.
# A token counts as a path when it contains no space and ends in a file extension of the
# project's sources and documents, or in `/`.
set -euo pipefail
cd "$(dirname "$0")/.."
doc="${1:-ARCHITECTURE.md}"
files="$(git ls-files; git ls-files --others --exclude-standard)"
missing=0
checked=0
while IFS= read -r token; do
  path="${token%/}"
  checked=$((checked + 1))
  # Some tracked path holds it as whole components (a fixed string, not a pattern).
  if awk -v p="/$path/" 'index("/" $0 "/", p) { found = 1; exit } END { exit !found }' <<<"$files"; then
    continue
  fi
  echo "ARCHITECTURE.md names \`$token\`, which does not exist"
  missing=$((missing + 1))
done < <(grep -oE '`[^` ]+`' "$doc" | tr -d '`' |
  grep -E '(\.(rs|md|sh|toml|py|pest|json|js|css|txt|yml|yaml)|/)$' | grep -vE '^(https?:|/)' | sort -u)
echo "architecture paths: $checked checked, $missing missing"
[ "$missing" -eq 0 ]
