/**
 * RFC 5227 2.1 address probing: before using an address (a DHCP lease, a configured address), a
 * host asks whether anyone else already uses it, with ARP probes (sender IP 0.0.0.0), and listens.
 * A DHCP client that hears of a conflict sends DHCPDECLINE (RFC 2131 3.1 step 5).
 */
import { type Ipv4Addr, ipv4ToString, type MacAddr } from '../../wire/address.ts';
import { ARP_REQUEST } from '../../wire/arp.ts';
import type { Counter } from '../counters.ts';
import { randomFloat } from '../rng.ts';
import type { Stack } from '../stack.ts';
import { SECOND } from '../time.ts';
import type { Timer } from '../timers.ts';
import type { NetworkInterface } from './interface.ts';

/** RFC 5227 1.1 "Constants". */
export const PROBE_WAIT = 1 * SECOND;
export const PROBE_NUM = 3;
export const PROBE_MIN = 1 * SECOND;
export const PROBE_MAX = 2 * SECOND;
export const ANNOUNCE_WAIT = 2 * SECOND;
/** Probes running at once, per stack. */
export const MAX_PROBES = 32;

/** A running probe; `cancel` stops it without calling back. */
export interface ArpProbeHandle {
  cancel(): void;
}

/** What the prober needs to know of a received ARP packet (already validated). */
export interface ObservedArp {
  operation: number;
  senderMac: MacAddr;
  senderIp: Ipv4Addr;
  targetIp: Ipv4Addr;
}

interface Probe {
  iface: NetworkInterface;
  addr: Ipv4Addr;
  sent: number;
  timer: Timer;
  done: (conflict: boolean) => void;
}

export class ArpProber {
  private readonly probes: Probe[] = [];
  private readonly conflicts: Counter;

  constructor(
    private readonly stack: Stack,
    /** Sends one probe: a broadcast request with sender IP 0 and target `addr`. */
    private readonly sendProbe: (iface: NetworkInterface, addr: Ipv4Addr) => void,
  ) {
    this.conflicts = stack.counters.get('arp.probe.conflicts');
  }

  /**
   * Probes `addr` on `iface`: waits a random time up to PROBE_WAIT, sends PROBE_NUM probes spaced
   * PROBE_MIN to PROBE_MAX apart, then waits ANNOUNCE_WAIT (RFC 5227 2.1.1). Calls `done(true)` as
   * soon as a conflict is heard, `done(false)` when the address is free to use.
   */
  start(iface: NetworkInterface, addr: Ipv4Addr, done: (conflict: boolean) => void): ArpProbeHandle {
    if (this.probes.some((p) => p.iface === iface && p.addr === addr)) {
      throw Object.assign(new Error(`already probing ${ipv4ToString(addr)} on ${iface.name}`), {
        code: 'EALREADY',
      });
    }
    if (this.probes.length >= MAX_PROBES) {
      throw Object.assign(new Error('too many address probes'), { code: 'ENOBUFS' });
    }
    const probe: Probe = {
      iface,
      addr,
      sent: 0,
      timer: this.stack.createTimer(() => this.step(probe)),
      done,
    };
    this.probes.push(probe);
    this.after(probe, 0, PROBE_WAIT);
    return { cancel: () => this.finish(probe) };
  }

  /**
   * RFC 5227 2.1.1: a conflict is any ARP packet whose sender IP is the probed address, or another
   * host's probe for the same address (both hosts then back off).
   */
  observe(iface: NetworkInterface, arp: ObservedArp): void {
    for (const p of [...this.probes]) {
      if (p.iface !== iface) continue;
      const probing = arp.operation === ARP_REQUEST && arp.senderIp === 0 && arp.targetIp === p.addr;
      if (arp.senderIp === p.addr || (probing && arp.senderMac !== iface.mac)) {
        this.conflicts.value++;
        this.finish(p);
        p.done(true);
      }
    }
  }

  private step(p: Probe): void {
    if (p.sent === PROBE_NUM) {
      this.finish(p);
      p.done(false);
      return;
    }
    this.sendProbe(p.iface, p.addr);
    p.sent++;
    if (p.sent < PROBE_NUM) this.after(p, PROBE_MIN, PROBE_MAX);
    else this.after(p, ANNOUNCE_WAIT, ANNOUNCE_WAIT);
  }

  /** Schedules the next step at a uniformly random delay in [lo, hi]. */
  private after(p: Probe, lo: number, hi: number): void {
    this.stack.schedule(p.timer, this.stack.now() + lo + (hi - lo) * randomFloat(this.stack.env.rng));
  }

  private finish(p: Probe): void {
    const i = this.probes.indexOf(p);
    if (i >= 0) this.probes.splice(i, 1);
    this.stack.cancel(p.timer);
  }
}
