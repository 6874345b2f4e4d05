#!/bin/sh
# check.sh - compare the x86-64 jit's generated code with the golden
# listings in tests/golden/expect (see tests/golden/README.md).
#
# Usage: check.sh BT86_GOLDEN [--accept]
#   BT86_GOLDEN  the built bt86-golden (build/bt86-golden)
#   --accept     rewrite expect/ from the current jit instead of comparing
# Exits 0 when every listing matches (or was accepted), 1 on a difference
# (printed as a unified diff, - expected, + now), 77 on hosts without the jit.
set -u
bin=${1:?usage: check.sh BT86_GOLDEN [--accept]}
mode=${2:-check}
here=$(cd "$(dirname "$0")" && pwd)
expect=$here/expect
now=$(mktemp -d "${TMPDIR:-/tmp}/bt86-golden.XXXXXX") || exit 1
trap 'rm -rf "$now"' EXIT

"$bin" "$now"
rc=$?
if [ $rc -eq 77 ]; then exit 77; fi
if [ $rc -ne 0 ]; then
    echo "golden-jit: $bin failed (exit $rc)" >&2
    exit 1
fi

if [ "$mode" = --accept ]; then
    mkdir -p "$expect"
    rm -f "$expect"/*.txt
    cp "$now"/*.txt "$expect"/
    echo "golden-jit: accepted $(find "$now" -name "*.txt" | wc -l) listings into $expect (review and commit them)"
    exit 0
fi

status=0
for name in $( (ls "$expect"; ls "$now") | sort -u); do
    a=$expect/$name
    b=$now/$name
    [ -e "$a" ] || a=/dev/null
    [ -e "$b" ] || b=/dev/null
    if ! diff -u --label "expect/$name" --label "now/$name" "$a" "$b"; then
        status=1
    fi
done
if [ $status -ne 0 ]; then
    echo
    echo "golden-jit: the jit's code differs from tests/golden/expect (diff above: - expected, + now)."
    echo "If the change is intended, accept the new listings and commit them with the change:"
    echo "    $0 $bin --accept"
    echo "(or: cmake --build BUILD_DIR --target golden-accept)"
    exit 1
fi
echo "golden-jit: $(find "$now" -name "*.txt" | wc -l) listings match tests/golden/expect"
exit 0
