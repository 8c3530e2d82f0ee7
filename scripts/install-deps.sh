#!/usr/bin/env bash
# Installs the Debian packages a make target needs, only those that are missing.
#   scripts/install-deps.sh run|test|bench
set -euo pipefail
case "${1:-run}" in
  run)   packages=(libqrencode-dev zlib1g-dev libcairo2-dev libturbojpeg0-dev fonts-noto-cjk pkg-config) ;;
  test)  packages=(libqrencode-dev zlib1g-dev libcairo2-dev libturbojpeg0-dev fonts-noto-cjk pkg-config chromium curl zbar-tools) ;;
  bench) packages=(libqrencode-dev zlib1g-dev libcairo2-dev libturbojpeg0-dev fonts-noto-cjk pkg-config wrk curl) ;;
  *) echo "usage: $0 run|test|bench" >&2; exit 2 ;;
esac
command -v swift >/dev/null || { echo "Swift 6 is required (https://swift.org/install)" >&2; exit 1; }
missing=()
# The browser and API tests run in a virtualenv; Debian's own python3 needs python3-venv for that.
if [ "${1:-run}" = test ] && ! python3 -c 'import venv, ensurepip' 2>/dev/null; then packages+=(python3-venv); fi
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "Installing: ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
