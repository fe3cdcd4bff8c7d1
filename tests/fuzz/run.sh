#!/usr/bin/env bash
# Run fuzz targets for a set time each: run.sh SECONDS TARGET...
#
# Each target starts from a copy of its seed corpus (corpus/<target>/) in
# $FUZZ_WORK/<target>/corpus, so the repository's corpus changes only when
# someone copies an input back on purpose. Every target runs even after a
# finding; the run fails if any target found something (a crash, a failed
# check, a sanitizer report, a leak, a timeout), printing the file that
# reproduces it and the command that does.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
secs=${1:?usage: run.sh SECONDS TARGET...}
shift
work=${FUZZ_WORK:-$here/../../build/fuzz}
mkdir -p "$work"
work=$(cd "$work" && pwd)

fail=0
for t in "$@"; do
	bin=$here/bin/$t
	dir=$work/$t
	rm -rf "$dir"
	mkdir -p "$dir/corpus" "$dir/artifacts"
	if [ -d "$here/corpus/$t" ]; then
		cp "$here/corpus/$t"/* "$dir/corpus/" 2>/dev/null
	fi
	seeds=$(find "$dir/corpus" -type f | wc -l)
	opts=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048
		-max_len=4096 -print_final_stats=1 -artifact_prefix="$dir/artifacts/")
	[ -f "$here/$t.dict" ] && opts+=(-dict="$here/$t.dict")
	start=$(date +%s%N)
	"$bin" "${opts[@]}" "$dir/corpus" >"$dir/log" 2>&1
	rc=$?
	took=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
	found=$(find "$dir/artifacts" -type f | sort)
	total=$(find "$dir/corpus" -type f | wc -l)
	if [ $rc -ne 0 ] || [ -n "$found" ]; then
		fail=1
		printf 'FUZZ FAIL %-18s exit %d after %s s; log: %s\n' "$t" "$rc" \
			"$took" "$dir/log" >&2
		grep -m 3 -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|FUZZ CHECK)' \
			"$dir/log" | sed 's/^/    /' >&2
		seed=$(sed -n 's/^INFO: Seed: \([0-9]*\).*/\1/p' "$dir/log" | head -1)
		[ -n "$seed" ] && echo "    libFuzzer seed $seed (-seed=$seed)" >&2
		for f in $found; do
			echo "    finding: $f" >&2
			echo "    reproduce: $bin $f" >&2
		done
	else
		printf 'fuzz ok   %-18s %9s runs in %4s s, corpus %d -> %d\n' \
			"$t" "${runs:-?}" "$took" "$seeds" "$total"
	fi
done
exit $fail
