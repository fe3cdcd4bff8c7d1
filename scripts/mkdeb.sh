#!/usr/bin/env bash
# Build the binary Debian package of the module for the installed Kamailio,
# laid out like Debian's own kamailio-*-modules packages:
#
#   scripts/mkdeb.sh OUTDIR
#
# needs modules/gwfailover/gwfailover.so built for the installed Kamailio
# (make module). Writes OUTDIR/kamailio-gwfailover-modules_<ver>_<arch>.deb
# and prints its path. Built with dpkg-deb from a staging tree; the
# library dependencies come from dpkg-shlibdeps, the kamailio dependency
# is pinned to the exact installed version (the core refuses a module
# built from other sources).
set -euo pipefail

out=${1:?usage: mkdeb.sh OUTDIR}
top=$(cd "$(dirname "$0")/.." && pwd)
so="$top/modules/gwfailover/gwfailover.so"
[ -f "$so" ] || { echo "mkdeb: $so not built (make module)" >&2; exit 1; }

pkg=kamailio-gwfailover-modules
kamver=$(dpkg-query -W -f='${Version}' kamailio 2>/dev/null) ||
	{ echo "mkdeb: the kamailio package is not installed" >&2; exit 1; }
# The module must have been built from that version's source.
built_for=$(cat "$top/modules/gwfailover/.built-for" 2>/dev/null || true)
case "$built_for" in
*" SANITIZE=1")
	echo "mkdeb: gwfailover.so is a sanitizer build (make module SANITIZE=1)," \
		"not for a package: run 'make module' first" >&2
	exit 1
	;;
*/kamailio-"${kamver%%-*}") ;;
*)
	echo "mkdeb: gwfailover.so was built for '${built_for:-?}', not the" \
		"installed kamailio $kamver: run 'make module' first" >&2
	exit 1
	;;
esac
modver=$(sed -n 's/^#define GWF_VERSION "\(.*\)"$/\1/p' \
	"$top/modules/gwfailover/gwfailover.h")
arch=$(dpkg --print-architecture)
triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
# Debian revision 1, plus the Kamailio it is built for: a rebuild for
# another Kamailio is another version of this package.
version="$modver-1+kamailio${kamver%%-*}"
moddir=$(dirname "$(dpkg -L kamailio | grep '/modules/tm.so$')")

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
doc="$root/usr/share/doc/$pkg"
install -d "$root/DEBIAN" "$root$moddir" "$doc/examples" \
	"$root/usr/share/doc/kamailio/modules"
install -m 0644 "$so" "$root$moddir/gwfailover.so"
# as Debian's packages ship modules: no debug symbols, no build notes
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
	"$root$moddir/gwfailover.so"
gzip -9n <"$top/modules/gwfailover/README" \
	>"$root/usr/share/doc/kamailio/modules/README.gwfailover.gz"
install -m 0644 "$top/cfg/kamailio.cfg" "$top/cfg/dispatcher.list" \
	"$doc/examples/"
cat >"$doc/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: gwfailover
Comment: gateway failover for calls routed with Kamailio's dispatcher

Files: *
Copyright: 2026 gwfailover authors
License: GPL-2+ with OpenSSL exception
 This program is free software; you can redistribute it and/or modify it
 under the terms of the GNU General Public License as published by the Free
 Software Foundation; either version 2 of the License, or (at your option)
 any later version.
 .
 In addition, as a special exception, the copyright holders give permission
 to link the code of portions of this program with the OpenSSL library.
 .
 This program is distributed in the hope that it will be useful, but
 WITHOUT ANY WARRANTY; without even the implied warranty of MERCHANTABILITY
 or FITNESS FOR A PARTICULAR PURPOSE. See the GNU General Public License for
 more details.
 .
 On Debian systems, the complete text of the GNU General Public License
 version 2 can be found in "/usr/share/common-licenses/GPL-2".
EOF
# the time and author of the commit it is built from: the same tree, the
# same package; the project's maintainers are who commit to it
when=$(git -C "$top" log -1 --format=%cD 2>/dev/null || date -R)
maint=$(git -C "$top" log -1 --format='%an <%ae>' 2>/dev/null ||
	echo "gwfailover maintainers <gwfailover@users.noreply.github.com>")
cat <<EOF | gzip -9n >"$doc/changelog.Debian.gz"
$pkg ($version) unstable; urgency=medium

  * gwfailover $modver built for kamailio $kamver.

 -- $maint  $when
EOF

# Library dependencies, as debhelper would compute them.
mkdir -p "$stage/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$pkg" "$pkg" \
	>"$stage/debian/control"
shlibs=$(cd "$stage" && dpkg-shlibdeps -O -e"root$moddir/gwfailover.so" 2>/dev/null |
	sed -n 's/^shlibs:Depends=//p')
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: $pkg
Source: gwfailover
Version: $version
Architecture: $arch
Maintainer: $maint
Installed-Size: $size
Depends: kamailio (= $kamver), $shlibs
Section: net
Priority: optional
Description: gateway failover module for Kamailio (gwfailover)
 gwfailover classifies the failures of calls routed with the dispatcher
 module, keeps a circuit breaker per gateway in shared memory (marked in the
 dispatcher), and re-forwards a call to the next healthy gateway after a
 jittered backoff delay without blocking a SIP worker. It has RPC commands,
 statistics, event routes, KEMI exports and JSON webhooks.
 .
 This package is built for kamailio $kamver only: Kamailio refuses a module
 built from another version's source.
EOF
(cd "$root" && find usr -type f -exec md5sum {} + | sort -k2) \
	>"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
mkdir -p "$out"
deb="$out/${pkg}_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
