#!/bin/bash
# scripts/check-format.sh - checks, never rewrites, that every tracked C
# file is formatted as .clang-format says. For each file that is not it
# prints the start of the diff clang-format would apply and how to fix it.
# Exits 0 when all are formatted, 1 when any is not, 77 (skipped, for
# meson test) when clang-format 14 is not installed.
#
#   CLANG_FORMAT   the clang-format to use (default: clang-format-14, else
#                  clang-format if that is version 14)
#   DIFF_LINES     lines of diff shown per file (default 20)
#   DIFF_FILES     files a diff is shown for (default 20; the rest by name)
set -euo pipefail
cd "$(dirname "$0")/.."

# .clang-format is tuned for clang-format 14 (Debian 12): other versions
# lay out some constructs differently, so they would report files that
# are formatted as failures.
find_clang_format() {
	local c
	for c in ${CLANG_FORMAT:-} clang-format-14 clang-format; do
		command -v "$c" >/dev/null 2>&1 || continue
		if "$c" --version | grep -qE 'version 14\.'; then
			echo "$c"
			return 0
		fi
		echo "check-format: $c is not version 14 ($("$c" --version)); skipping it" >&2
	done
	return 1
}

if ! cf=$(find_clang_format); then
	echo "check-format: SKIP: clang-format 14 is not installed (apt-get install clang-format;" \
		"scripts/setup.sh installs it)"
	exit 77
fi

# A .clang-format clang-format cannot read would make every file "differ".
if ! err=$("$cf" --style=file --assume-filename=x.c --dump-config 2>&1 >/dev/null); then
	echo "check-format: FAILED: $cf cannot read .clang-format: $err"
	exit 1
fi

# The C files of the tree: git's list in a checkout, else every .c/.h
# under the source folders.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	mapfile -t files < <(git ls-files -- '*.c' '*.h' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
else
	mapfile -t files < <(find include base arch host guest tests bench -name '*.[ch]' | sort)
fi

# clang-format --dry-run -Werror names every place it would change as
# "FILE:LINE:COL: error: code should be clang-formatted", in one run.
rc=0
report=$("$cf" --dry-run -Werror "${files[@]}" 2>&1) || rc=$?
mapfile -t bad < <(sed -n \
	's/^\([^:]\+\):[0-9]\+:[0-9]\+: error: code should be clang-formatted.*/\1/p' \
	<<<"$report" | sort -u)
if [ "$rc" != 0 ] && [ "${#bad[@]}" = 0 ]; then
	echo "check-format: FAILED: $cf exited $rc naming no file to format:"
	head -n 20 <<<"$report"
	exit 1
fi

echo "check-format: $cf, ${#files[@]} files, ${#bad[@]} not formatted"
shown=0
for f in "${bad[@]}"; do
	echo
	echo "== $f"
	if [ "$shown" -lt "${DIFF_FILES:-20}" ]; then
		diff -u --label "$f" --label "$f (formatted)" "$f" <("$cf" "$f") |
			head -n "${DIFF_LINES:-20}" || true
		shown=$((shown + 1))
	fi
	echo "   fix: $cf -i $f"
done
if [ "${#bad[@]}" -gt 0 ]; then
	echo
	echo "check-format: FAILED: ${#bad[@]} of ${#files[@]} files are not formatted" \
		"(diffs shown for the first $shown); fix each with: $cf -i FILE"
	exit 1
fi
echo "check-format: every file is formatted"
