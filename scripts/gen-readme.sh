#!/usr/bin/env bash
# Regenerate modules/gwfailover/README from the DocBook sources in
# modules/gwfailover/doc/, the way Kamailio does it for its own modules:
#
#   make modules-readme modules=modules/gwfailover
#
# run in a Kamailio source tree (xsltproc + docbook-xsl, then lynx -dump).
# The module's Makefile and doc/ are copied into
# <tree>/src/modules/gwfailover/ for the run and removed afterwards; the
# result is copied back to modules/gwfailover/README.
#
# Usage: scripts/gen-readme.sh      (KAMAILIO_SRC=<tree> to choose the tree)
#
# Installs xsltproc, docbook-xsl, docbook-xml and lynx if they are missing
# (apt-get, with sudo when not root). Needs a configured Kamailio tree; if
# there is none it runs scripts/deps.sh (as `make deps` does). Not part of
# `make test`.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
MOD_DIR="$TOP/modules/gwfailover"
PKGS=(xsltproc docbook-xsl docbook-xml lynx make)
# shellcheck source=apt-lib.sh
. "$(dirname "$0")/apt-lib.sh"
mapfile -t missing < <(apt_missing "${PKGS[@]}")
if [ ${#missing[@]} -gt 0 ]; then
	echo "gen-readme: installing ${missing[*]}"
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The Kamailio tree: KAMAILIO_SRC, else the one `make deps` prepares for the
# installed kamailio.
if [ -z "${KAMAILIO_SRC:-}" ]; then
	ver=$(/usr/sbin/kamailio -v 2>/dev/null |
		sed -n 's/^version: kamailio \([0-9.]*\).*/\1/p' || true)
	if [ -z "$ver" ] || [ ! -f "$TOP/build/kamailio-$ver/src/config.mak" ]; then
		BUILD_DIR="$TOP/build" bash "$TOP/scripts/deps.sh"
		ver=$(/usr/sbin/kamailio -v | sed -n 's/^version: kamailio \([0-9.]*\).*/\1/p')
	fi
	KAMAILIO_SRC="$TOP/build/kamailio-$ver"
fi
for f in src/Makefile src/config.mak doc/docbook/Makefile.module; do
	if [ ! -f "$KAMAILIO_SRC/$f" ]; then
		echo "gen-readme: $KAMAILIO_SRC/$f missing: not a configured Kamailio tree" >&2
		exit 1
	fi
done

# Work on a copy inside the tree: the docs reference ../../../../doc/docbook,
# which only resolves there (a symlinked doc/ would resolve from the repo).
work="$KAMAILIO_SRC/src/modules/gwfailover"
if [ -e "$work" ] && [ ! -f "$work/.gen-readme" ]; then
	echo "gen-readme: $work exists and was not made by this script; move it away" >&2
	exit 1
fi
rm -rf "$work"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/doc"
touch "$work/.gen-readme"
cp "$MOD_DIR/Makefile" "$work/"
cp "$MOD_DIR/doc/Makefile" "$MOD_DIR"/doc/*.xml "$work/doc/"

# UTF-8 output (as in Kamailio's own READMEs), whatever the caller's locale.
# modules-readme ignores errors of single modules, so check the result.
LC_ALL=C.UTF-8 make -C "$KAMAILIO_SRC/src" --no-print-directory modules-readme \
	modules=modules/gwfailover
if [ ! -s "$work/README" ]; then
	echo "gen-readme: no README produced (see the output above)" >&2
	exit 1
fi
cp "$work/README" "$MOD_DIR/README"
echo "gen-readme: wrote $MOD_DIR/README ($(wc -l <"$MOD_DIR/README") lines)"
