#!/usr/bin/env bash
# Install everything gwfailover needs on Debian 12 and prepare a configured
# Kamailio source tree matching the installed binary. Idempotent: a second run
# only checks and returns.
set -euo pipefail

BUILD_DIR=${BUILD_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build}
PKGS=(kamailio kamailio-extra-modules kamailio-lua-modules kamailio-tls-modules
	sip-tester libcurl4-openssl-dev libssl-dev libcmocka-dev python3-pytest
	clang-format build-essential pkg-config dpkg-dev bison flex
	valgrind curl python3
	# make fuzz: clang with libFuzzer and the sanitizer runtimes
	clang libclang-rt-dev)
# shellcheck source=apt-lib.sh
. "$(dirname "$0")/apt-lib.sh"
mapfile -t missing < <(apt_missing "${PKGS[@]}")

has_deb_src() {
	grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list \
		/etc/apt/sources.list.d/ 2>/dev/null
}

updated=0
if ! has_deb_src; then
	# Mirror the first "Types: deb" stanza of debian.sources as deb-src.
	src=/etc/apt/sources.list.d/debian.sources
	[ -f "$src" ] || { echo "deps: no $src to copy a deb-src entry from" >&2; exit 1; }
	awk 'BEGIN{RS="";ORS="\n\n"} /Types:[ \t]*deb/ && !done {sub(/Types:[ \t]*deb/,"Types: deb-src"); print; done=1}' \
		"$src" | $SUDO tee /etc/apt/sources.list.d/gwfailover-deb-src.sources >/dev/null
	echo "deps: added deb-src entry /etc/apt/sources.list.d/gwfailover-deb-src.sources"
	$SUDO apt-get update -qq
	updated=1
fi

if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	[ $updated -eq 1 ] || $SUDO apt-get update -qq
	updated=1
	# Debian does not start the packaged service in a container without an
	# init system; the tests start their own kamailio processes.
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Source tree matching the installed binary.
pkgver=$(dpkg-query -W -f='${Version}' kamailio)
upver=${pkgver%%-*}
tree="$BUILD_DIR/kamailio-$upver"
if [ ! -f "$tree/src/config.mak" ]; then
	mkdir -p "$BUILD_DIR"
	if [ ! -d "$tree/src" ]; then
		[ $updated -eq 1 ] || $SUDO apt-get update -qq
		echo "deps: fetching kamailio source $pkgver into $BUILD_DIR"
		(cd "$BUILD_DIR" && apt-get source -qq --download-only "kamailio=$pkgver" &&
			dpkg-source -x --no-check kamailio_"$pkgver".dsc "kamailio-$upver" >/dev/null)
	fi
	echo "deps: configuring $tree (make cfg)"
	make -C "$tree" cfg >"$BUILD_DIR/make-cfg.log" 2>&1 ||
		{ cat "$BUILD_DIR/make-cfg.log" >&2; exit 1; }
fi
echo "deps: ok (kamailio $pkgver, source $tree)"
