#!/bin/bash
# gwfailover core benchmark (issue 6, figure 5): builds core_bench, runs it
# natively (wall clock) and under callgrind (instructions), and prints the
# results as markdown tables.
#
#   bench/core/run.sh [-v]
#
#   -v          also print core_bench's own report (paths taken, probes)
#   OPT=-O3     compiler optimisation (default -O2)
#   NS="..."    gateway counts (default "10 1000 100000")
#   REPS, OPS   native repetitions and failed attempts per repetition
#   CG_OPS      failed attempts measured under callgrind
#   OUT=dir     keep the raw outputs there (default: a temporary directory)
#
# Takes about 20 s on a 2-core EPYC VM.

set -euo pipefail

cd "$(dirname "$0")"
VERBOSE=0
[ "${1:-}" = "-v" ] && VERBOSE=1
NS=${NS:-"10 1000 100000"}
REPS=${REPS:-7}
OPS=${OPS:-200000}
CG_OPS=${CG_OPS:-20000}
OPT=${OPT:--O2}
if [ -n "${OUT:-}" ]; then
	mkdir -p "$OUT"
else
	OUT=$(mktemp -d /tmp/gwf-core-bench.XXXXXX)
	trap 'rm -rf "$OUT"' EXIT
fi

make -s core_bench OPT="$OPT" >&2

# Instruction counts: perf stat where the PMU is reachable, else callgrind.
# Even where perf works it counts the whole process (setup included), so
# callgrind, which counts only the measured functions, gives the table.
perf_note="perf: not installed"
if command -v perf >/dev/null 2>&1; then
	p=$(perf stat -x, -e instructions:u true 2>&1 >/dev/null || true)
	case "$p" in
	*"not supported"* | *"not counted"* | *rror* | "")
		perf_note="perf stat: no instructions counter here (<not supported>), so callgrind only"
		;;
	*) perf_note="perf stat works here but counts the whole process; callgrind used" ;;
	esac
fi
if ! command -v valgrind >/dev/null 2>&1; then
	echo "valgrind not installed: instructions/op will be empty" >&2
fi

echo "running natively: N = $NS, $REPS reps x $OPS failed attempts" >&2
./core_bench -r "$REPS" -o "$OPS" $NS >"$OUT/native.txt"
if command -v valgrind >/dev/null 2>&1; then
	echo "running under callgrind: $CG_OPS failed attempts per N" >&2
	make -s callgrind NS="$NS" CG_OPS="$CG_OPS" CG_DIR="$OUT/cg" \
		2>"$OUT/callgrind.err" >"$OUT/callgrind.txt"
fi
[ "$VERBOSE" = 1 ] && grep -v '^ROW' "$OUT/native.txt" >&2

# field <line> <key>: the value of key=value in a ROW/CGROW line
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
row() { grep "^ROW n=$1 " "$OUT/native.txt" || true; }
cgrow() { grep "^CGROW n=$1 " "$OUT/callgrind.txt" 2>/dev/null || true; }
fmt() { [ -n "$1" ] && printf "%.0f" "$1" || printf "n/a"; }

echo
echo "Core alone, one failed attempt (gwf_gwtab_get + gwf_brk_acquire +"
echo "gwf_cls_classify + gwf_brk_record/eject + gwf_backoff_ms), $(${CC:-cc} --version | head -1), $OPT:"
echo
echo "| N | ns/op (median, min–max) | instructions/op | bytes/gateway |"
echo "|---:|---|---:|---|"
for n in $NS; do
	r=$(row "$n")
	c=$(cgrow "$n")
	printf "| %s | %s (%s–%s) | %s | %s (entry) / %s (table) |\n" \
		"$n" "$(field "$r" ns_med)" "$(field "$r" ns_min)" \
		"$(field "$r" ns_max)" "$(fmt "$(field "$c" fail_ir)")" \
		"$(field "$r" gw_bytes)" "$(field "$r" tab_bytes_per_gw)"
done

echo
echo "Breakdown and expiry (ns: median; instructions from callgrind;"
echo "LL misses: callgrind's simulated 32 MiB last-level cache):"
echo
echo "| N | slots | lookup alone ns (instr) | LL misses / failed attempt | refused by breaker | expire, nothing due ns (instr) | expire, one due µs (instr) |"
echo "|---:|---:|---|---:|---:|---|---|"
for n in $NS; do
	r=$(row "$n")
	c=$(cgrow "$n")
	printf "| %s | %s | %s (%s) | %s | %s%% | %s (%s) | %s (%s) |\n" \
		"$n" "$(field "$r" nslots)" "$(field "$r" lookup_med)" \
		"$(fmt "$(field "$c" lookup_ir)")" "$(field "$c" fail_llmiss)" \
		"$(field "$c" refused_pct)" "$(field "$r" expire_idle_ns)" \
		"$(fmt "$(field "$c" expire_idle_ir)")" \
		"$(awk -v x="$(field "$r" expire_due_ns)" 'BEGIN { printf "%.2f", x / 1000 }')" \
		"$(fmt "$(field "$c" expire_due_ir)")"
done

h=$(field "$(row "$(echo $NS | cut -d' ' -f1)")" harness_med)
echo
echo "ns/op: wall clock (clock_gettime) over timed chunks of 16 failed"
echo "attempts on uniformly random gateways, minus the harness (${h} ns/op:"
echo "random draws, URI formatting, clock reads), median of $REPS reps of"
echo "$OPS; one untimed success per failed attempt keeps breakers closing."
echo "instructions/op: callgrind, only gwfb_fail() (resp. gwf_gwtab_find,"
echo "gwf_gwtab_expire) collected, $CG_OPS ops after warm-up. $perf_note."
echo "bytes/gateway: sizeof(gwf_gw_t) / gwf_gwtab_bytes(N) / N."
errs=$(grep -ho 'errors=[0-9]*' "$OUT/native.txt" "$OUT/callgrind.txt" 2>/dev/null | grep -v '=0$' || true)
if [ -n "$errs" ]; then
	echo "ERRORS in the runs: $errs" >&2
	exit 1
fi
