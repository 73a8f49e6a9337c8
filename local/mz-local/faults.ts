/**
 * Runtime fault and delay knobs, global to the server (any session's ALTER SYSTEM SET changes them for all):
 *
 *   mz_local_fail_after_files           -1 (off) | N: the next COPYs fail after N data files are written
 *   mz_local_batch_delay_ms             0 | D: each output batch of a COPY is slowed by D ms
 *   mz_local_drop_session_mid_copy      false | true: the server drops the client's connection mid-COPY
 *   mz_local_propagation_delay_seconds  N: IAM trust-policy changes take N seconds to be honoured
 *   mz_local_ignore_cancel_requests     false | true: CancelRequests are dropped, as by an endpoint that accepts
 *                                       only TLS; a statement then stops only when its session closes
 *   mz_local_batches                    0 (the server's --workers) | N: COPYs split their rows into N batches, as
 *                                       on a replica with N workers: up to N files, for tests of many-file exports
 */
import { MzError, SqlState } from './errors';

export interface KnobValues {
  mz_local_fail_after_files: number;
  mz_local_batch_delay_ms: number;
  mz_local_drop_session_mid_copy: boolean;
  mz_local_propagation_delay_seconds: number;
  mz_local_ignore_cancel_requests: boolean;
  mz_local_batches: number;
}

export type KnobName = keyof KnobValues;

const KNOB_KINDS: Record<KnobName, true> = {
  mz_local_fail_after_files: true,
  mz_local_batch_delay_ms: true,
  mz_local_drop_session_mid_copy: true,
  mz_local_propagation_delay_seconds: true,
  mz_local_ignore_cancel_requests: true,
  mz_local_batches: true,
};

export class Faults {
  private values: KnobValues;

  constructor(private readonly defaults: KnobValues) {
    this.values = { ...defaults };
  }

  static isKnob(name: string): name is KnobName {
    // Own keys only: `in` would also accept inherited names such as toString.
    return Object.hasOwn(KNOB_KINDS, name);
  }

  get<K extends KnobName>(name: K): KnobValues[K] {
    return this.values[name];
  }

  /** The value as SHOW prints it. */
  show(name: KnobName): string {
    return String(this.values[name]);
  }

  set(name: KnobName, text: string): void {
    const raw = text.trim().replace(/^'(.*)'$/, '$1');
    const bad = (what: string) =>
      new MzError(SqlState.InvalidParameterValue, `parameter "${name}" requires ${what} value`, {
        detail: `got ${JSON.stringify(raw)}`,
      });
    switch (name) {
      case 'mz_local_drop_session_mid_copy':
      case 'mz_local_ignore_cancel_requests': {
        const v = raw.toLowerCase();
        if (['true', 'on', 't', '1', 'yes'].includes(v)) this.values[name] = true;
        else if (['false', 'off', 'f', '0', 'no'].includes(v)) this.values[name] = false;
        else throw bad('a Boolean');
        return;
      }
      case 'mz_local_fail_after_files': {
        if (!/^-?\d+$/.test(raw) || Number(raw) < -1) throw bad('an integer (-1 for off, or N >= 0)');
        this.values[name] = Number(raw);
        return;
      }
      default: {
        if (!/^\d+(\.\d+)?$/.test(raw)) throw bad('a non-negative numeric');
        this.values[name] = Number(raw);
      }
    }
  }

  reset(name: KnobName): void {
    (this.values as unknown as Record<string, unknown>)[name] = this.defaults[name];
  }

  resetAll(): void {
    this.values = { ...this.defaults };
  }
}
