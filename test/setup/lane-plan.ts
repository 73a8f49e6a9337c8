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
 * Longest file first, each to the lane with the least work so far (LPT scheduling: within 4/3 of the best split).
 * Ties go to the lower lane, so the plan is the same for the same input. Lanes left without files are dropped.
 */
export function planLanes(files: string[], recorded: Record<string, number>, laneCount: number): Lane[] {
  const lanes: Lane[] = Array.from({ length: laneCount }, () => ({ files: [], seconds: 0 }));
  const weighted = files.map((file) => ({ file, seconds: recorded[file] ?? DEFAULT_SECONDS }));
  weighted.sort((a, b) => b.seconds - a.seconds || a.file.localeCompare(b.file));
  for (const { file, seconds } of weighted) {
    const lane = lanes.reduce((least, l) => (l.seconds < least.seconds ? l : least));
    lane.files.push(file);
    lane.seconds += seconds;
  }
  return lanes.filter((l) => l.files.length > 0);
}
