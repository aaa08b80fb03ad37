#!/usr/bin/env bash
# e2e/setup.sh: prepare this machine for the e2e suite (make e2e), idempotently.
#
#   e2e/setup.sh [--no-apt] [--no-buildkit] [--no-base]
#
# 1. installs the Debian packages the harness runs (only those missing; apt-get update only then),
#    and Node.js with npm when missing (the sidecar's tests run the openai npm client),
# 2. builds buildkitd and buildctl from the buildkit version in go.mod into the e2e cache,
# 3. builds the Debian base image with CPython into the e2e cache (debootstrap, as root).
# The cache is $HFPACK_E2E_CACHE, else ~/.cache/hfpack-e2e; steps 2 and 3 are no-ops when cached.
# Prints how long each step took. Needs root for steps 1 and 3.
set -euo pipefail

PACKAGES=(docker-registry debootstrap runc skopeo umoci ca-certificates python3 python3-pip)

apt=1 buildkit=1 base=1
for arg in "$@"; do
	case "$arg" in
	--no-apt) apt=0 ;;
	--no-buildkit) buildkit=0 ;;
	--no-base) base=0 ;;
	-h | --help) sed -n '2,11p' "$0"; exit 0 ;;
	*) echo "e2e/setup.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
	esac
done

cd "$(dirname "$0")/.."

step() { # step NAME COMMAND...: run COMMAND and print its duration
	local name=$1 start=$SECONDS
	shift
	echo "==> $name"
	"$@"
	echo "==> $name: $((SECONDS - start)) s"
}

install_packages() {
	local missing=()
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		echo "all installed: ${PACKAGES[*]}"
		return
	fi
	local sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Node.js and npm run the official openai client against the sidecar
# (cmd/hfpack-sidecar/sidecar/openai_client_test.go, which runs npm ci).
# Installed only when missing: a NodeSource nodejs bundles npm, Debian's does not.
install_node() {
	if command -v node >/dev/null && command -v npm >/dev/null; then
		echo "node $(node --version), npm $(npm --version)"
		return
	fi
	local sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends nodejs npm
}

[ $apt -eq 1 ] && step "apt packages (${PACKAGES[*]})" install_packages
[ $apt -eq 1 ] && step "node and npm" install_node
prepare=()
[ $buildkit -eq 1 ] || prepare+=(-buildkit=false)
[ $base -eq 1 ] || prepare+=(-base=false)
if [ $buildkit -eq 1 ] || [ $base -eq 1 ]; then
	step "buildkit binaries and base image" go run ./e2e/cmd/e2e-prepare "${prepare[@]}"
fi
