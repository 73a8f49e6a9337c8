#!/usr/bin/env bash
# Runs a command with the Node.js of the given major version from local/provision.sh first on PATH, so the
# command, every `node` it starts (bin/ scripts, mocha's shebang) and process.execPath are that Node.
#   bash local/with-node.sh 22 mocha 'test/unit/**/*.test.ts'
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
major="${1:?usage: with-node.sh MAJOR COMMAND...}"; shift
dir="$root/.venv/node$major/bin"
[ -x "$dir/node" ] || { echo "Node.js $major is not installed for the tests: run MZ_S3_EXPORT_INSTALL_TEST_NODES=1 bash local/provision.sh" >&2; exit 1; }
export PATH="$dir:$PATH"
echo "[with-node] $(node --version): $*"
exec "$@"
