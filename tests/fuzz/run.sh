#!/usr/bin/env bash
# Run fuzz targets for a set time each: run.sh SECONDS TARGET...
#
# Each target starts from a copy of its seed corpus (corpus/<target>/) in
# $FUZZ_WORK/<target>/corpus, so the repository's corpus changes only when
# someone copies an input back on purpose. $FUZZ_JOBS targets (default 2)
# run at a time. Every target runs even after a finding; the run fails if
# any target found something (a crash, a failed check, a sanitizer report,
# a leak, a timeout), printing the file that reproduces it and the command
# that does.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
secs=${1:?usage: run.sh SECONDS TARGET...}
shift
work=${FUZZ_WORK:-$here/../../build/fuzz}
jobs=${FUZZ_JOBS:-2}
mkdir -p "$work"
work=$(cd "$work" && pwd)

# libFuzzer stops once more than -max_total_time whole seconds have
# passed since it started: a run of N seconds asks for N - 1.
max_time=$((secs > 1 ? secs - 1 : 1))
# ASan keeps 256 MB of freed memory in quarantine by default, so targets
# that allocate on every input (srjson, OpenSSL) spend most of their time
# faulting in fresh pages; 64 MB still holds thousands of inputs' worth.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=64}

# Run target $1; its verdict goes to $work/$1/result (first line "ok" or
# "fail"), its libFuzzer output to $work/$1/log.
run_one() {
	local t=$1 bin=$here/bin/$1 dir=$work/$1 opts seeds start rc took runs
	local found total seed f
	rm -rf "$dir"
	mkdir -p "$dir/corpus" "$dir/artifacts"
	if [ -d "$here/corpus/$t" ]; then
		cp "$here/corpus/$t"/* "$dir/corpus/" 2>/dev/null
	fi
	seeds=$(find "$dir/corpus" -type f | wc -l)
	opts=(-max_total_time="$max_time" -timeout=10 -rss_limit_mb=2048
		-max_len=4096 -print_final_stats=1 -artifact_prefix="$dir/artifacts/")
	[ -f "$here/$t.dict" ] && opts+=(-dict="$here/$t.dict")
	start=$(date +%s%N)
	"$bin" "${opts[@]}" "$dir/corpus" >"$dir/log" 2>&1
	rc=$?
	took=$(awk -v a="$start" -v b="$(date +%s%N)" \
		'BEGIN { printf "%.1f", (b - a) / 1e9 }')
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
	found=$(find "$dir/artifacts" -type f | sort)
	total=$(find "$dir/corpus" -type f | wc -l)
	if [ $rc -ne 0 ] || [ -n "$found" ]; then
		{
			echo fail
			printf 'FUZZ FAIL %-18s exit %d after %s s; log: %s\n' "$t" "$rc" \
				"$took" "$dir/log"
			grep -m 3 -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|FUZZ CHECK)' \
				"$dir/log" | sed 's/^/    /'
			seed=$(sed -n 's/^INFO: Seed: \([0-9]*\).*/\1/p' "$dir/log" | head -1)
			[ -n "$seed" ] && echo "    libFuzzer seed $seed (-seed=$seed)"
			for f in $found; do
				echo "    finding: $f"
				echo "    reproduce: $bin $f"
			done
		} >"$dir/result"
	else
		{
			echo ok
			printf 'fuzz ok   %-18s %9s runs in %4s s, corpus %d -> %d\n' \
				"$t" "${runs:-?}" "$took" "$seeds" "$total"
		} >"$dir/result"
	fi
}

echo "fuzzing $# targets for ${secs} s each, $jobs at a time (scratch: $work)"
running=0
for t in "$@"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	run_one "$t" &
	running=$((running + 1))
done
wait

fail=0
for t in "$@"; do
	r=$work/$t/result
	if [ "$(head -1 "$r" 2>/dev/null)" = ok ]; then
		tail -n +2 "$r"
	else
		fail=1
		if [ -f "$r" ]; then
			tail -n +2 "$r" >&2
		else
			echo "FUZZ FAIL $t: no result (see $work/$t/log)" >&2
		fi
	fi
done
exit $fail
