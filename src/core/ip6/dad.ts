/**
 * Duplicate address detection (RFC 4862 5.4): a new address stays tentative (or optimistic, RFC
 * 4429) while `DupAddrDetectTransmits` Neighbor Solicitations from :: go to its solicited-node group
 * RetransTimer apart, after a random delay (5.4.2). A solicitation from :: for it from another node
 * (5.4.3) or an advertisement for it (5.4.4) makes it a duplicate. Each probe carries a nonce
 * (RFC 7527 4.1): a probe that comes back with our own nonce is a loop, not a conflict.
 *
 * Counters: `ipv6.dad.probes`, `ipv6.dad.succeeded`, `ipv6.dad.conflicts`, `ipv6.dad.looped`.
 */
import { IPV6_UNSPECIFIED } from '../../wire/address.ts';
import type { Counter } from '../counters.ts';
import { randomFloat } from '../rng.ts';
import type { Stack } from '../stack.ts';
import { SECOND } from '../time.ts';
import type { Timer } from '../timers.ts';
import type { Ipv6InterfaceAddress } from './addresses6.ts';
import type { Ipv6Layer } from './ipv6.ts';

/** RFC 4861 10: MAX_RTR_SOLICITATION_DELAY, also the bound of DAD's initial delay (RFC 4862 5.4.2). */
export const MAX_DAD_DELAY = 1 * SECOND;
const NONCE_LEN = 6;

interface Run {
  readonly timer: Timer;
  readonly nonce: Uint8Array;
  sent: number;
}

export class Dad {
  /** Told when DAD of an address ends: `unique` false when another node has it. */
  readonly onResult: Array<(a: Ipv6InterfaceAddress, unique: boolean) => void> = [];
  private readonly runs = new Map<Ipv6InterfaceAddress, Run>();
  private readonly probes: Counter;
  private readonly succeeded: Counter;
  private readonly conflicts: Counter;
  private readonly looped: Counter;

  constructor(
    private readonly stack: Stack,
    private readonly ip: Ipv6Layer,
  ) {
    const c = stack.counters;
    this.probes = c.get('ipv6.dad.probes');
    this.succeeded = c.get('ipv6.dad.succeeded');
    this.conflicts = c.get('ipv6.dad.conflicts');
    this.looped = c.get('ipv6.dad.looped');
  }

  /** Starts DAD of a tentative or optimistic address. */
  start(a: Ipv6InterfaceAddress): void {
    const nonce = new Uint8Array(NONCE_LEN);
    this.stack.env.rng.fill(nonce);
    const run: Run = { timer: this.stack.createTimer(() => this.step(a, run)), nonce, sent: 0 };
    this.runs.set(a, run);
    this.stack.schedule(run.timer, this.stack.now() + MAX_DAD_DELAY * randomFloat(this.stack.env.rng));
  }

  /** Stops DAD of an address that went away. */
  stop(a: Ipv6InterfaceAddress): void {
    const run = this.runs.get(a);
    if (run === undefined) return;
    this.stack.cancel(run.timer);
    this.runs.delete(a);
  }

  /** True while DAD of `a` runs. */
  running(a: Ipv6InterfaceAddress): boolean {
    return this.runs.has(a);
  }

  /** RFC 4862 5.4.3: a probe from :: for our tentative address. */
  heardProbe(a: Ipv6InterfaceAddress, nonce: Uint8Array | undefined): void {
    const run = this.runs.get(a);
    if (run === undefined) return;
    if (nonce !== undefined && nonce.length === NONCE_LEN && nonce.every((b, i) => b === run.nonce[i])) {
      this.looped.value++;
      return;
    }
    this.fail(a);
  }

  /** RFC 4862 5.4.4: an advertisement for our tentative address. */
  heardAdvertisement(a: Ipv6InterfaceAddress): void {
    if (this.runs.has(a)) this.fail(a);
  }

  private step(a: Ipv6InterfaceAddress, run: Run): void {
    if (run.sent < this.ip.dupAddrDetectTransmits) {
      run.sent++;
      this.probes.value++;
      this.ip.ndp.sendSolicitation(a.iface, a.addr, undefined, IPV6_UNSPECIFIED, run.nonce);
      this.stack.schedule(run.timer, this.stack.now() + this.ip.ndp.table.params.retransTimer);
      return;
    }
    this.runs.delete(a);
    this.succeeded.value++;
    this.ip.addresses.setState(a, 'preferred');
    for (const l of this.onResult) l(a, true);
  }

  private fail(a: Ipv6InterfaceAddress): void {
    this.stop(a);
    this.conflicts.value++;
    this.ip.addresses.setState(a, 'duplicate');
    for (const l of this.onResult) l(a, false);
  }
}
