/**
 * What mz-local reports as its version, shaped like Materialize's (src/build-info: `human_version` is
 * `v<version> (<sha, 9 characters>)`, `version_num` is `<major:02><minor:03><patch:02>`; `version()` is
 * `PostgreSQL 9.5 on <target triple> (Materialize <version>)`, from SERVER_MAJOR_VERSION/MINOR_VERSION in
 * src/sql/src/session/vars.rs and UnmaterializableFunc::Version in src/adapter).
 */

/** A pre-release of 0.0.0, so no version check mistakes mz-local for a real Materialize release. */
export const MZ_LOCAL_VERSION = '0.0.0-mz-local';
const SHA = '000000000';

export const HUMAN_VERSION = `v${MZ_LOCAL_VERSION} (${SHA})`;
export const VERSION_NUM = 0;

/** The Postgres version Materialize claims to be. */
export const SERVER_VERSION = '9.5.0';

function targetTriple(): string {
  const arch = process.arch === 'arm64' ? 'aarch64' : process.arch === 'x64' ? 'x86_64' : process.arch;
  if (process.platform === 'darwin') return `${arch}-apple-darwin`;
  if (process.platform === 'win32') return `${arch}-pc-windows-msvc`;
  return `${arch}-unknown-linux-gnu`;
}

export const VERSION_STRING = `PostgreSQL 9.5 on ${targetTriple()} (Materialize ${MZ_LOCAL_VERSION})`;
