#!/usr/bin/env bash
# Check a package built by mkdeb.sh with Debian's lintian (installed if
# missing). Fails on errors; the findings this project explains instead of
# fixing are listed in lintian.overrides beside this script, each with
# its reason.
set -euo pipefail
deb=${1:?usage: lint-deb.sh PACKAGE.deb}
# shellcheck source=apt-lib.sh
. "$(dirname "$0")/apt-lib.sh"
if [ -n "$(apt_missing lintian)" ]; then
	echo "lint-deb: installing lintian"
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends lintian >/dev/null
fi
explained=$({ grep -v '^#' "$(dirname "$0")/lintian.overrides" || true; } |
	cut -d' ' -f1 | paste -sd, -)
lintian --fail-on error,warning ${explained:+--suppress-tags "$explained"} \
	--info "$deb"
echo "lint-deb: $(basename "$deb"): no errors or warnings (explained:" \
	"${explained:-none})"
