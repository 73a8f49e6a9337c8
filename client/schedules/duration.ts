/** Schedule files read durations with the one parser retention inputs use too (common/duration.ts). */
export { formatDuration, parseDuration } from '../../common/duration';
