#!/usr/bin/env bash
# Fetch and build a Kamailio release other than the installed Debian package,
# into the build folder, never over the system Kamailio:
#
#   scripts/kamailio-src.sh 6.0
#
# The source comes from Debian 13 (trixie) with apt-get source. The deb-src
# entry it needs lives in a private apt state under build/ (its own
# sources file and package lists), so the system's apt configuration and
# Debian 12's own packages are never affected. Then the core and the
# modules the tests, the example config and the demo load are built in the
# tree; the binary runs from there with mpath pointing at src/modules/.
# Idempotent: a second run only checks.
set -euo pipefail

series=${1:?usage: kamailio-src.sh SERIES (e.g. 6.0)}
BUILD_DIR=${BUILD_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build}
# shellcheck source=apt-lib.sh
. "$(dirname "$0")/apt-lib.sh"

case "$series" in
6.0)
	suite=trixie
	pkgver=6.0.1-1+deb13u1
	;;
*)
	echo "kamailio-src: unknown Kamailio series '$series' (known: 6.0)" >&2
	exit 1
	;;
esac
upver=${pkgver%%-*}
tree="$BUILD_DIR/kamailio-$upver"
# What the integration tests, cfg/kamailio.cfg, the demo and the benchmarks
# load (besides gwfailover), and kamcmd's own tree.
MODULES=(tm tmx sl rr pv xlog maxfwd textops siputils dispatcher ctl kex
	corex jsonrpcs xhttp xhttp_prom cfgutils async app_lua tls)
# app_lua needs Lua's headers; the core needs bison and flex (deps.sh).
mapfile -t missing < <(apt_missing liblua5.1-0-dev bison flex)
if [ ${#missing[@]} -gt 0 ]; then
	echo "kamailio-src: installing ${missing[*]}"
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

built() {
	local m
	[ -x "$tree/src/kamailio" ] || return 1
	for m in "${MODULES[@]}"; do
		[ -f "$tree/src/modules/$m/$m.so" ] || return 1
	done
	[ -x "$tree/utils/kamcmd/kamcmd" ]
}
if built; then
	echo "kamailio-src: ok (kamailio $upver in $tree)"
	exit 0
fi

mkdir -p "$BUILD_DIR"
if [ ! -d "$tree/src" ]; then
	state="$BUILD_DIR/apt-$suite"
	mkdir -p "$state/lists/partial"
	# The first deb stanza of the system's debian.sources, as deb-src of
	# $suite: same URI and keyring.
	src=/etc/apt/sources.list.d/debian.sources
	uri=$(awk '/^URIs:/ {print $2; exit}' "$src" 2>/dev/null || true)
	key=$(awk '/^Signed-By:/ {print $2; exit}' "$src" 2>/dev/null || true)
	cat >"$state/sources.sources" <<-EOF
		Types: deb-src
		URIs: ${uri:-http://deb.debian.org/debian}
		Suites: $suite
		Components: main
		Signed-By: ${key:-/usr/share/keyrings/debian-archive-keyring.gpg}
	EOF
	aptopts=(-q -o Dir::Etc::SourceList=/dev/null
		-o Dir::Etc::SourceParts=/dev/null
		-o Dir::Etc::sourcelist="$state/sources.sources"
		-o Dir::State::Lists="$state/lists")
	echo "kamailio-src: fetching kamailio source $pkgver ($suite) into $BUILD_DIR"
	apt-get "${aptopts[@]}" update >/dev/null
	# The upstream signature (.asc) is not in the archive: the .dsc's
	# checksums, checked by apt against the signed Sources index, are.
	(cd "$BUILD_DIR" && apt-get "${aptopts[@]}" source --download-only \
		"kamailio=$pkgver" >/dev/null 2>&1 || true)
	dsc="$BUILD_DIR/kamailio_$pkgver.dsc"
	[ -f "$dsc" ] && [ -f "$BUILD_DIR/kamailio_$upver.orig.tar.gz" ] ||
		{ echo "kamailio-src: cannot fetch kamailio $pkgver source" >&2; exit 1; }
	(cd "$BUILD_DIR" && dpkg-source -x --no-check "$dsc" "kamailio-$upver" >/dev/null)
fi

echo "kamailio-src: building kamailio $upver (core, ${#MODULES[@]} modules, kamcmd)"
log="$BUILD_DIR/make-$upver.log"
{
	make -C "$tree" cfg &&
		# The parser first, alone: its rule "core/cfg.tab.c core/cfg.tab.h:
		# core/cfg.y" runs bison once per target under -j, two bisons
		# writing one header ("unterminated #ifndef" once in a clean CI).
		make -C "$tree/src" core/cfg.tab.c core/lex.yy.c &&
		make -C "$tree/src" -j"$(nproc)" kamailio &&
		for m in "${MODULES[@]}"; do
			make -C "$tree/src/modules/$m" -j"$(nproc)" || exit 1
		done &&
		make -C "$tree/utils/kamcmd"
} >"$log" 2>&1 || { tail -40 "$log" >&2; echo "kamailio-src: build failed, see $log" >&2; exit 1; }
built || { echo "kamailio-src: build incomplete, see $log" >&2; exit 1; }
echo "kamailio-src: ok (kamailio $upver in $tree)"
