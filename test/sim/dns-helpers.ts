/** A client and name servers on one simulated switch, for the resolver's simulation tests. */

import { DnsResolver, type ResolverOptions } from '../../src/apps/dns/resolver.ts';
import { DnsServer, type DnsServerOptions, rr } from '../../src/apps/dns/server.ts';
import type { Impairments } from '../../src/bindings/memory/impairments.ts';
import { VirtualNetwork } from '../../src/bindings/memory/network.ts';
import { Simulation } from '../../src/bindings/memory/simulation.ts';
import type { ErrnoError } from '../../src/core/errno.ts';
import type { Stack } from '../../src/core/stack.ts';
import type { DnsRecord } from '../../src/wire/dns.ts';
import { configure, type Host } from '../helpers/sim-hosts.ts';

/** The zone the servers answer from. */
export function testZone(): DnsRecord[] {
  return [
    rr.soa('example.test', 30, 600),
    rr.a('www.example.test', '10.0.0.80', 300),
    rr.a('www.example.test', '10.0.0.81', 300),
    rr.aaaa('www.example.test', '2001:db8::80', 300),
    rr.cname('alias.example.test', 'www.example.test', 120),
    rr.cname('alias2.example.test', 'alias.example.test', 60),
    rr.cname('outside.example.test', 'www.other.test', 60),
    rr.cname('loop1.example.test', 'loop2.example.test', 60),
    rr.cname('loop2.example.test', 'loop1.example.test', 60),
    rr.a('v4only.example.test', '10.0.0.44', 300),
    rr.txt('txt.example.test', ['hello', 'world'], 300),
    rr.txt('txt.example.test', ['v=spf1 -all'], 300),
    rr.srv('_sip._udp.example.test', 10, 60, 5060, 'sip.example.test', 300),
    rr.srv('_sip._udp.example.test', 20, 0, 5061, 'sip2.example.test', 300),
    rr.mx('example.test', 10, 'mail.example.test', 300),
    rr.ptr('80.0.0.10.in-addr.arpa', 'www.example.test', 300),
    rr.soa('10.in-addr.arpa', 30, 600),
    rr.a('short', '10.9.9.9', 300),
    rr.soa('short', 30, 600),
    rr.a('host.corp.test', '10.0.0.99', 300),
    rr.soa('corp.test', 30, 600),
    // 40 TXT strings of 200 octets: too large for UDP.
    rr.txt(
      'big.example.test',
      Array.from({ length: 40 }, (_, i) => `${i}`.padEnd(200, 'x')),
      300,
    ),
  ];
}

export interface DnsLan {
  sim: Simulation;
  client: Host;
  servers: Host[];
  resolver: DnsResolver;
  dns: DnsServer[];
}

/**
 * A client 10.0.0.1 and `n` server hosts 10.0.0.2, .3, ... on a switch; each server host runs a
 * DnsServer with `serverOptions(i)` unless it returns undefined (the host then has no DNS server
 * and answers port unreachable). The resolver asks every server host in order.
 */
export function dnsLan(
  seed: number,
  options: {
    servers?: number;
    serverOptions?: (i: number) => Partial<DnsServerOptions> | undefined;
    resolver?: ResolverOptions;
    impairments?: Impairments;
  } = {},
): DnsLan {
  const sim = new Simulation({ seed });
  const net = new VirtualNetwork(sim);
  const sw = net.switch();
  const host = (name: string, n: number): Host => {
    const stack = sim.createStack({ name });
    const iface = sw.attach(stack, 'eth0', options.impairments ? { impairments: options.impairments } : {});
    return { stack, iface, ip: configure(stack, iface, `10.0.0.${n}/24`) };
  };
  const client = host('client', 1);
  const servers: Host[] = [];
  const dns: DnsServer[] = [];
  const count = options.servers ?? 1;
  for (let i = 0; i < count; i++) {
    const h = host(`ns${i}`, 2 + i);
    servers.push(h);
    const o = options.serverOptions ? options.serverOptions(i) : {};
    if (o !== undefined) dns.push(new DnsServer(h.stack, { records: testZone(), ...o }));
  }
  const resolver = new DnsResolver(client.stack, {
    servers: servers.map((_, i) => `10.0.0.${2 + i}`),
    ...options.resolver,
  });
  return { sim, client, servers, resolver, dns };
}

export type Outcome<T> = { err: ErrnoError | undefined; value: T | undefined; at: number };

/** Runs `start` (which calls back once) on the simulation until it called back; the outcome and when. */
export function run<T>(
  sim: Simulation,
  start: (cb: (err: ErrnoError | undefined, value?: T) => void) => void,
  timeout = 120_000,
): Outcome<T> {
  let out: Outcome<T> | undefined;
  start((err, value) => {
    if (out !== undefined) throw new Error('called back twice');
    out = { err, value, at: sim.now };
  });
  if (!sim.runUntil(() => out !== undefined, timeout)) throw new Error(`no callback within ${timeout} ms`);
  return out!;
}

/** Counter value on a stack. */
export function counter(stack: Stack, name: string): number {
  return stack.counters.value(name);
}
