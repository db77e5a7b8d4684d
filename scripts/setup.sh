#!/usr/bin/env bash
# Installs what Switchyard needs on a Debian machine with Node >= 20, then builds it.
# Idempotent and quiet when everything is already there. Usage: scripts/setup.sh [--for-tests]
set -euo pipefail
cd "$(dirname "$0")/.."

need_major=20
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt "$need_major" ]; then
  echo "setup: Node >= $need_major is required (found $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

apt_packages=()
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || apt_packages+=(nats-server)
if [ "${1:-}" = "--for-tests" ]; then
  # The tests check rules and scrapes with the real promtool/prometheus, and drive the fleet page
  # in Debian's chromium (playwright-core never downloads a browser).
  command -v promtool >/dev/null 2>&1 || apt_packages+=(prometheus)
  command -v chromium >/dev/null 2>&1 || apt_packages+=(chromium)
  # The TLS tests make their own CA and certificates with openssl.
  command -v openssl >/dev/null 2>&1 || apt_packages+=(openssl)
fi
if [ ${#apt_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${apt_packages[*]} (run as root, or: sudo apt-get install -y ${apt_packages[*]})" >&2
    exit 1
  fi
  echo "setup: installing ${apt_packages[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi

# npm ci when node_modules is missing or older than the lockfile.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  # node-llama-cpp ships prebuilt CPU binaries in its npm packages: never download or build at install.
  NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm ci --no-audit --no-fund --loglevel=error
fi

npx --no-install tsc -b
chmod +x cli/dist/main.js
