/** How run-lanes.ts deals spec files to lanes, and what each lane reports back. Pure, so it is unit-tested. */

/** What a lane's reporter (summary-reporter.js) writes when MZ_S3_EXPORT_TEST_STATS names a file. */
export interface SpecStats {
  passes: number;
  failures: number;
  pending: number;
  /** Seconds each spec file took, by its path relative to the project root. */
  seconds: Record<string, number>;
}

/** A file no run has recorded yet: assumed as long as a mid-sized real-stack suite, so it is dealt early. */
export const DEFAULT_SECONDS = 10;

export interface Lane {
  files: string[];
  seconds: number;
}

/**
 * Folders whose spec files share one fixture per process (the stubbed-workflow dev server of
 * test/workflow/harness.ts; the in-process mz-local and moto of test/mz-local/helpers.ts): their files ride in one
 * lane, so each fixture starts once per run instead of once per lane (about 5 s of CPU each).
 */
export const FIXTURE_FOLDERS = ['test/workflow/', 'test/mz-local/'];

/**
 * Longest item first, each to the lane with the least work so far (LPT scheduling: within 4/3 of the best split).
 * An item is a spec file, or all the files of one FIXTURE_FOLDERS folder. Ties go to the lower lane, so the plan
 * is the same for the same input. Lanes left without files are dropped.
 */
export function planLanes(files: string[], recorded: Record<string, number>, laneCount: number): Lane[] {
  const lanes: Lane[] = Array.from({ length: laneCount }, () => ({ files: [], seconds: 0 }));
  const items = new Map<string, { files: string[]; seconds: number }>();
  for (const file of [...files].sort()) {
    const key = FIXTURE_FOLDERS.find((folder) => file.startsWith(folder)) ?? file;
    const item = items.get(key) ?? { files: [], seconds: 0 };
    item.files.push(file);
    item.seconds += recorded[file] ?? DEFAULT_SECONDS;
    items.set(key, item);
  }
  const ordered = [...items.entries()].sort(([ka, a], [kb, b]) => b.seconds - a.seconds || ka.localeCompare(kb));
  for (const [, item] of ordered) {
    const lane = lanes.reduce((least, l) => (l.seconds < least.seconds ? l : least));
    lane.files.push(...item.files);
    lane.seconds += item.seconds;
  }
  return lanes.filter((l) => l.files.length > 0);
}
