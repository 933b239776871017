#!/bin/sh
# tests/unit/lint-paths.sh — no file of the project names a path on one
# developer's machine (its workspace, root or home folders): the notes beside
# the repository are ../shared/notes/..., everything else is relative to
# the repository. Run by `make unit`.
cd "$(dirname "$0")/../.." || exit 2
files=$(git ls-files 2>/dev/null) || files=$(find . -type f ! -path './build/*' ! -path './.git/*')
# shellcheck disable=SC2086 # one word per file
hits=$(grep -nE '(^|[^.[:alnum:]_])/(work|home)/[[:alnum:]]' $files 2>/dev/null | grep -v '^tests/unit/lint-paths.sh:')
if [ -n "$hits" ]; then
	echo "lint-paths: machine paths in the tree (say ../shared/notes/... or a path in the repository):"
	echo "$hits"
	exit 1
fi
echo "lint-paths: no machine paths"
