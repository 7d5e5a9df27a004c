/**
 * `netstack ping`: ICMP echo (IPv4, or ICMPv6 for an IPv6 HOST such as `fe80::1%tap0`) from the
 * stack, with the output of iputils ping(8). A HOST name is resolved over the stack (`--dns`, or
 * the servers DHCP gave): A records, AAAA too (the first address the resolver gives, IPv4 first;
 * `-4`/`-6` choose). Replies show addresses, as `ping -n` does (no reverse lookups).
 * A name that does not resolve: `netstack ping: NAME: Name or service not known`, exit 2 (iputils'
 * words and status; `Temporary failure in name resolution` when no server answered).
 *
 *   PING 10.0.0.1 (10.0.0.1) 56(84) bytes of data.
 *   64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time=0.123 ms
 *
 *   --- 10.0.0.1 ping statistics ---
 *   3 packets transmitted, 3 received, 0% packet loss, time 2003ms
 *   rtt min/avg/max/mdev = 0.101/0.123/0.140/0.016 ms
 *
 * Exits 0 when any reply came, 1 when none did (like ping). Without `-c` it runs until SIGINT or
 * SIGTERM and then prints the statistics.
 */
import { ECHO_IPV4, ECHO_IPV6, type EchoAddr } from '../core/icmp-echo/echo-family.ts';
import { Pinger, type PingSummary } from '../core/icmp-echo/pinger.ts';
import { ipv6IsLinkLocal } from '../wire/address.ts';
import {
  ICMPV4_DEST_UNREACHABLE,
  ICMPV4_TIME_EXCEEDED,
  TIME_EXCEEDED_TTL,
  UNREACH_FRAG_NEEDED,
} from '../wire/icmpv4.ts';
import {
  ICMPV6_DEST_UNREACHABLE,
  ICMPV6_PACKET_TOO_BIG,
  ICMPV6_PARAMETER_PROBLEM,
  ICMPV6_TIME_EXCEEDED,
} from '../wire/icmpv6.ts';
import { type FlagSpec, parseArgs, UsageError } from './args.ts';
import { leased } from './dhcp.ts';
import { interfaceFlags, parseInterfaceOptions, Session, untilSignal } from './interface-options.ts';
import { type HostArg, parseHostArg, zoneInterface } from './ipv6-options.ts';
import {
  familyFlags,
  familyOf,
  isLiteral,
  ResolveError,
  resolveHost,
  sessionIpv6Settled,
} from './resolve-host.ts';

/** 65535 minus the IPv4 (20) and ICMP echo (8) headers (65527 over IPv6). */
const MAX_PING_SIZE = ECHO_IPV4.maxData;

export const pingFlags: Record<string, FlagSpec> = {
  count: {
    type: 'number',
    short: 'c',
    help: 'stop after N replies or timeouts (default: until SIGINT)',
    value: 'N',
  },
  interval: { type: 'number', short: 'i', help: 'seconds between requests (default 1)', value: 'SECONDS' },
  size: {
    type: 'number',
    short: 's',
    help: `data bytes per request, 0 to ${MAX_PING_SIZE} (${ECHO_IPV6.maxData} over IPv6; default 56)`,
    value: 'SIZE',
  },
  timeout: {
    type: 'number',
    short: 'W',
    help: 'seconds to wait for each reply (default 10)',
    value: 'SECONDS',
  },
  ttl: {
    type: 'number',
    short: 't',
    help: 'IP time to live of the requests, 1 to 255 (default 64)',
    value: 'TTL',
  },
  quiet: { type: 'boolean', short: 'q', help: 'print only the first line and the statistics' },
  outstanding: { type: 'boolean', short: 'O', help: 'report each request that got no answer in time' },
  ...familyFlags,
  ...interfaceFlags,
};

export interface PingPlan {
  host: string;
  /** The family `-4`/`-6` asked for (0: either). */
  family: 0 | 4 | 6;
  /**
   * An IPv4 address, or an IPv6 address (with `zone`, the device of a link-local one); undefined
   * when HOST is a name, resolved once the stack is up.
   */
  dst?: EchoAddr;
  zone?: string;
  count: number | undefined;
  interval: number;
  size: number;
  timeout: number;
  ttl: number | undefined;
  quiet: boolean;
  outstanding: boolean;
}

/** Checks ping's own flags and its HOST. */
export function parsePingPlan(flags: Record<string, unknown>, positionals: string[]): PingPlan {
  if (positionals.length === 0) throw new UsageError('needs a HOST (a name, an IPv4 or an IPv6 address)');
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${positionals[1]}`);
  const host = positionals[0]!;
  const num = (name: string, fallback: number | undefined, ok: (v: number) => boolean, rule: string) => {
    const v = flags[name] as number | undefined;
    if (v !== undefined && !ok(v)) throw new UsageError(`--${name} must be ${rule}`);
    return v ?? fallback;
  };
  const int = (min: number, max: number) => (v: number) => Number.isInteger(v) && v >= min && v <= max;
  const family = familyOf(flags);
  // A literal now (a malformed one is a usage error); a name after the stack is up.
  const dst = isLiteral(host) ? parseHostArg(host, 'HOST') : undefined;
  const maxSize = maxData(dst?.family ?? family);
  return {
    host,
    family,
    ...(dst !== undefined ? { dst: dst.addr } : {}),
    ...(dst?.zone !== undefined ? { zone: dst.zone } : {}),
    count: num('count', undefined, int(1, 1_000_000_000), 'an integer from 1'),
    interval: num('interval', 1, (v) => v > 0 && v <= 3600, 'between 0 and 3600 seconds (not 0)')! * 1000,
    size: num('size', 56, int(0, maxSize), `an integer from 0 to ${maxSize}`)!,
    timeout: num('timeout', 10, (v) => v > 0 && v <= 3600, 'between 0 and 3600 seconds (not 0)')! * 1000,
    ttl: num('ttl', undefined, int(1, 255), 'an integer from 1 to 255'),
    quiet: flags.quiet === true,
    outstanding: flags.outstanding === true,
  };
}

/** The largest echo data over `family` (0: either, so IPv6's). */
function maxData(family: 0 | 4 | 6): number {
  return family === 4 ? ECHO_IPV4.maxData : ECHO_IPV6.maxData;
}

/** HOST as an address: the literal, or the name resolved over the stack with the plan's family. */
async function destination(session: Session, plan: PingPlan): Promise<HostArg> {
  const dst = await Promise.race([
    resolveHost(session.stack, plan.host, plan.family, 'HOST'),
    session.failed,
  ]);
  if (plan.size > maxData(dst.family))
    throw new UsageError(`--size must be an integer from 0 to ${maxData(dst.family)}`);
  return dst;
}

/** A round-trip time as ping prints a reply's: three significant digits, at most three decimals. */
export function formatRtt(ms: number): string {
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

/** The statistics block: the header line, the counts, and the rtt line when a reply came. */
export function formatStatistics(host: string, s: PingSummary): string[] {
  const extras = [
    ...(s.duplicates > 0 ? [`+${s.duplicates} duplicates`] : []),
    ...(s.errors > 0 ? [`+${s.errors} errors`] : []),
  ];
  const lines = [
    '',
    `--- ${host} ping statistics ---`,
    [
      `${s.transmitted} packets transmitted`,
      `${s.received} received`,
      ...extras,
      `${Number(s.loss.toPrecision(6))}% packet loss`,
      `time ${Math.round(s.time)}ms`,
    ].join(', '),
  ];
  if (s.rtt !== undefined) {
    const { min, avg, max, mdev } = s.rtt;
    lines.push(`rtt min/avg/max/mdev = ${[min, avg, max, mdev].map((v) => v.toFixed(3)).join('/')} ms`);
  }
  return lines;
}

/** What ping(8) prints for an ICMPv6 error (RFC 4443 types and codes). */
export function describeIcmpv6Error(type: number, code: number, mtu: number): string {
  if (type === ICMPV6_DEST_UNREACHABLE) {
    const what = [
      'No route',
      'Administratively prohibited',
      'Beyond scope',
      'Address unreachable',
      'Port unreachable',
      'Source address failed ingress/egress policy',
      'Reject route to destination',
    ][code];
    return `Destination unreachable: ${what ?? `Unknown code ${code}`}`;
  }
  if (type === ICMPV6_PACKET_TOO_BIG) return `Packet too big: mtu=${mtu}`;
  if (type === ICMPV6_TIME_EXCEEDED)
    return code === 0 ? 'Time exceeded: Hop limit' : 'Time exceeded: Defragmentation failure';
  if (type === ICMPV6_PARAMETER_PROBLEM) return `Parameter problem: code ${code}`;
  return `Bad ICMP type: ${type}`;
}

/** What ping(8) prints for an ICMP error (RFC 792 types and codes). */
export function describeIcmpError(type: number, code: number): string {
  if (type === ICMPV4_DEST_UNREACHABLE) {
    const what = ['Net', 'Host', 'Protocol', 'Port'][code];
    if (what !== undefined) return `Destination ${what} Unreachable`;
    if (code === UNREACH_FRAG_NEEDED) return 'Frag needed and DF set';
    return `Dest Unreachable, Bad Code: ${code}`;
  }
  if (type === ICMPV4_TIME_EXCEEDED)
    return code === TIME_EXCEEDED_TTL ? 'Time to live exceeded' : 'Frag reassembly time exceeded';
  return `Bad ICMP type: ${type}`;
}

export async function runPing(argv: string[]): Promise<number> {
  const args = parseArgs(argv, pingFlags);
  const plan = parsePingPlan(args.flags, args.positionals);
  const config = parseInterfaceOptions(args);
  const session = new Session(config, 'netstack-ping');
  try {
    await leased(session, args);
    let host: HostArg;
    try {
      host = await destination(session, plan);
    } catch (e) {
      if (!(e instanceof ResolveError)) throw e;
      // iputils: `ping: NAME: Name or service not known`, exit 2.
      process.stderr.write(`netstack ping: ${e.message}\n`);
      return 2;
    }
    return await pingHost(session, plan, host);
  } finally {
    session.close();
  }
}

/** Pings `host` (HOST resolved) until the count is reached or a signal comes. */
async function pingHost(session: Session, plan: PingPlan, host: HostArg): Promise<number> {
  const zone = host.zone;
  const family = host.family === 4 ? ECHO_IPV4 : ECHO_IPV6;
  const iface = zone !== undefined ? zoneInterface(session.stack, zone) : undefined;
  // A link-local address is shown with its zone, as ping(8) shows it.
  const format = (a: EchoAddr) => {
    const text = family.format(a as never);
    return typeof a !== 'number' && ipv6IsLinkLocal(a) && zone !== undefined ? `${text}%${zone}` : text;
  };
  const dst = format(host.addr);
  session.event('ping', { host: plan.host, dst, size: plan.size }, () =>
    family === ECHO_IPV4
      ? `PING ${plan.host} (${dst}) ${plan.size}(${plan.size + 28}) bytes of data.`
      : `PING ${plan.host} (${dst}) ${plan.size} data bytes`,
  );
  // IPv6 requests need a source address that passed duplicate address detection.
  if (family === ECHO_IPV6) await sessionIpv6Settled(session);
  let finish: (summary: PingSummary) => void = () => {};
  const finished = new Promise<PingSummary>((resolve) => {
    finish = resolve;
  });
  const pinger = new Pinger(session.stack, host.addr, {
    count: plan.count ?? Number.POSITIVE_INFINITY,
    interval: plan.interval,
    size: plan.size,
    timeout: plan.timeout,
    ...(plan.ttl !== undefined ? { ttl: plan.ttl } : {}),
    ...(iface !== undefined ? { iface } : {}),
  });
  const report = (event: string, fields: Record<string, unknown>, line: string) => {
    if (!plan.quiet) session.event(event, fields, () => line);
  };
  pinger.onReply = (r) => {
    const from = format(r.from);
    report(
      'reply',
      { ...r, from },
      `${r.bytes} bytes from ${from}: icmp_seq=${r.seq} ttl=${r.ttl} time=${formatRtt(r.rtt)} ms` +
        (r.duplicate ? ' (DUP!)' : ''),
    );
  };
  pinger.onTimeout = (seq) => {
    if (plan.outstanding) report('timeout', { seq }, `no answer yet for icmp_seq=${seq}`);
  };
  pinger.onError = (e) => {
    const from = format(e.reporter);
    const what =
      family === ECHO_IPV4 ? describeIcmpError(e.type, e.code) : describeIcmpv6Error(e.type, e.code, e.mtu);
    report(
      'icmp-error',
      { seq: e.seq, from, type: e.type, code: e.code, message: what },
      `From ${from} icmp_seq=${e.seq} ${what}`,
    );
  };
  pinger.onSendError = (seq, err) =>
    report(
      'send-error',
      { seq, code: err.code, message: err.message },
      `ping: icmp_seq=${seq}: ${err.message}`,
    );
  pinger.onDone = (summary) => finish(summary);
  session.stack.run(() => pinger.start());
  const signalled = untilSignal();
  const summary = await Promise.race([finished, signalled.then(() => pinger.summary()), session.failed]);
  pinger.onDone = undefined;
  pinger.stop();
  session.event('statistics', { ...summary, dst }, () => formatStatistics(plan.host, summary));
  return summary.received > 0 ? 0 : 1;
}
