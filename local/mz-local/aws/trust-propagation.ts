/**
 * Simulates IAM's eventual consistency for trust policies. moto applies changes at once; AWS takes seconds
 * to minutes. mz-local remembers, per role, the last trust policy it saw and when it changed, and refuses
 * assumption for `delay` seconds after a change.
 *
 * Change times come from two observers: every assumption reads the role (GetRole) and compares, and a
 * poller re-reads the roles of known connections every `pollMs` while a delay is configured, so a change
 * made long before the next assumption is dated close to when it happened. A role seen for the first
 * time counts as changed at its CreateDate (a new role also takes time to propagate).
 */
import type { Logger } from '../log';
import type { IamDirectory } from './iam-directory';
import { parseRoleArn } from './iam-directory';

interface Seen {
  text: string;
  changedAt: number;
}

export class TrustPropagation {
  private readonly seen = new Map<string, Seen>();
  private readonly watched = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;

  constructor(
    private readonly iam: IamDirectory,
    private readonly delaySeconds: () => number,
    private readonly log: Logger,
    private readonly pollMs = 500,
  ) {}

  /** Records the trust policy seen for `roleArn` now; returns when it last changed (epoch ms). */
  observe(roleArn: string, text: string, createDate: Date | undefined, now = Date.now()): number {
    const prev = this.seen.get(roleArn);
    if (!prev) {
      const changedAt = createDate ? Math.min(createDate.getTime(), now) : 0;
      this.seen.set(roleArn, { text, changedAt });
      return changedAt;
    }
    if (prev.text !== text) {
      prev.text = text;
      prev.changedAt = now;
      if (this.delaySeconds() > 0) this.log.info(`trust policy of ${roleArn} changed; assumption is refused for ${this.delaySeconds()}s while it propagates`);
    }
    return prev.changedAt;
  }

  /** Seconds left before the last change of `roleArn` has propagated (0 when it has). */
  remainingSeconds(roleArn: string, now = Date.now()): number {
    const s = this.seen.get(roleArn);
    if (!s) return 0;
    return Math.max(0, s.changedAt + this.delaySeconds() * 1000 - now) / 1000;
  }

  /** Starts following a role (a connection names it). */
  watch(roleArn: string): void {
    if (!parseRoleArn(roleArn)) return;
    if (!this.watched.has(roleArn)) {
      this.watched.add(roleArn);
      void this.pollOne(roleArn);
    }
    if (!this.timer) {
      this.timer = setInterval(() => void this.poll(), this.pollMs);
      this.timer.unref();
    }
  }

  private async poll(): Promise<void> {
    if (this.polling || this.delaySeconds() <= 0) return;
    this.polling = true;
    try {
      for (const arn of this.watched) await this.pollOne(arn);
    } finally {
      this.polling = false;
    }
  }

  private async pollOne(arn: string): Promise<void> {
    const parsed = parseRoleArn(arn);
    if (!parsed) return;
    try {
      const role = await this.iam.getRole(parsed.name);
      if (role) this.observe(arn, role.trustPolicyText, role.createDate);
    } catch (e) {
      this.log.debug(`trust poll of ${arn}: ${(e as Error).message}`);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
