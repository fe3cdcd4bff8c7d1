# Shared by the project's install scripts (sourced, not run): root or sudo,
# non-interactive apt, and which packages are still missing.
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

# Print, one per line, the packages among "$@" that are not installed.
apt_missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "install ok installed" || echo "$p"
	done
}
