/**
 * A busy dual-stack world to throw hostile frames at, and the invariants that must survive them.
 *
 * a -- router -- b over IPv4 (10.0.1.0/24, 10.0.2.0/24) and IPv6 (SLAAC on 2001:db8:1::/64 and
 * 2001:db8:2::/64 plus link-local), forwarding on in the router. a (the victim host) has a TCP
 * listener, a UDP socket, IPv4 and IPv6 multicast memberships, a DHCP client that never gets an
 * answer, a DNS resolver whose server swallows the queries, and two established connections to b
 * (IPv4 and IPv6) with data streaming both ways. The router (the victim router) has a listener
 * and a UDP socket too. Frames are injected as if they came off the victim's wire.
 */
import assert from 'node:assert/strict';
import { DhcpClient } from '../../src/apps/dhcp/client.ts';
import { DnsResolver } from '../../src/apps/dns/resolver.ts';
import type { NetworkInterface } from '../../src/core/device/interface.ts';
import type { IpAddr } from '../../src/core/ip-address.ts';
import type { Stack } from '../../src/core/stack.ts';
import type { TcpListener } from '../../src/core/tcp/listener.ts';
import type { TcpSocket } from '../../src/core/tcp/tcp-socket.ts';
import { type Ipv6Addr, parseIpv6 } from '../../src/wire/address.ts';
import { globalAddress, linkLocal, routed6 } from '../sim/ipv6-helpers.ts';
import { hex } from './fixtures.ts';
import { configure, ip } from './sim-hosts.ts';

/** Deterministic stream bytes: byte i of stream `seed` (cheap to check at any offset). */
function streamByte(seed: number, i: number): number {
  return (Math.imul(i ^ seed, 2654435761) >>> 24) & 0xff;
}

/** One direction of a connection: writes the stream, checks every byte the reader gets. */
class Stream {
  written = 0;
  received = 0;
  corrupt = -1;
  ended = false;
  constructor(
    readonly name: string,
    readonly seed: number,
    readonly stack: Stack,
    readonly from: TcpSocket<IpAddr>,
    readonly to: TcpSocket<IpAddr>,
    /** Bytes to keep ahead of the reader (data in flight). */
    readonly window = 8 * 1024,
  ) {
    const pump = () => this.pump();
    from.onWritable = pump;
    to.onReadable = () => {
      for (let c = to.read(); c; c = to.read()) {
        for (let k = 0; k < c.length; k++) {
          if (this.corrupt < 0 && c[k] !== streamByte(seed, this.received + k))
            this.corrupt = this.received + k;
        }
        this.received += c.length;
      }
      pump();
    };
    to.onEnd = () => {
      this.ended = true;
    };
  }

  pump(): void {
    if (this.from.state !== 'ESTABLISHED' && this.from.state !== 'CLOSE-WAIT') return;
    while (this.written < this.received + this.window) {
      const chunk = new Uint8Array(Math.min(8192, this.received + this.window - this.written));
      for (let k = 0; k < chunk.length; k++) chunk[k] = streamByte(this.seed, this.written + k);
      const n = this.stack.run(() => this.from.write(chunk));
      this.written += n;
      if (n < chunk.length) return;
    }
  }
}

/** A connection between a and b with a checked stream each way. */
export interface Connection {
  name: string;
  client: TcpSocket<IpAddr>;
  server: TcpSocket<IpAddr>;
  streams: [Stream, Stream];
}

export interface Victim {
  name: string;
  stack: Stack;
  iface: NetworkInterface;
  /** The MAC, IPv4 and global IPv6 address of the victim's interface, as octets. */
  mac: Uint8Array;
  ip4: Uint8Array;
  ip6: Uint8Array;
  listener: TcpListener<IpAddr>;
}

function octets(value: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = n - 1, v = value; i >= 0; i--, v = Math.floor(v / 256)) out[i] = v % 256;
  return out;
}

export function hostileWorld(seed: number) {
  const w = routed6(seed, { impairments1: { delay: 1 }, impairments2: { delay: 1 } });
  const { sim, router, r1, r2, a, ia, b, ib } = w;
  configure(router, r1, '10.0.1.1/24');
  configure(router, r2, '10.0.2.1/24');
  router.ipv4.forwarding = true;
  configure(a, ia, '10.0.1.2/24', '10.0.1.1');
  configure(b, ib, '10.0.2.2/24', '10.0.2.1');

  // Every frame sent on any link: the raw material of mutations.
  const sent: Uint8Array[] = [];
  // The latest frames the router sent to a (current sequence numbers for forged segments).
  const recent: Uint8Array[] = [];
  for (const i of [ia, r1, r2, ib]) {
    i.addObserver((dir, f) => {
      if (dir === 'tx' && sent.length < 4000) sent.push(f.slice());
      if (dir === 'tx' && i === r1) {
        recent.push(f.slice());
        if (recent.length > 256) recent.shift();
      }
    });
  }

  const listenA = a.tcp.listen({ port: 22, family: 6 });
  const listenR = router.tcp.listen({ port: 179, family: 6 });
  const listenB = b.tcp.listen({ port: 80, family: 6 });
  const accepted: TcpSocket<IpAddr>[] = [];
  listenB.onConnection = () => {
    for (let s = listenB.accept(); s; s = listenB.accept()) accepted.push(s);
  };
  for (const l of [listenA, listenR]) {
    l.onConnection = () => {
      for (let s = l.accept(); s; s = l.accept()) s.close();
    };
  }
  const udpA = a.udp.open({ family: 6 });
  udpA.bind(5000);
  udpA.onReadable = () => {
    while (udpA.recv()) {}
  };
  const udpA4 = a.udp.open();
  udpA4.bind(5001);
  a.run(() => {
    udpA4.addMembership(ip('239.1.2.3'), ia);
    udpA.addMembership(parseIpv6('ff15::1234')!, ia);
  });
  const udpR = router.udp.open({ family: 6 });
  udpR.bind(520);
  udpR.onReadable = () => {
    while (udpR.recv()) {}
  };

  // DNS: b swallows queries on port 53, so the resolver stays busy retrying.
  const sink = b.udp.open();
  sink.bind(53);
  sink.onReadable = () => {
    while (sink.recv()) {}
  };
  const resolver = new DnsResolver(a, { servers: ['10.0.2.2'] });
  let lookups = 0;
  const lookup = () => {
    lookups++;
    resolver.lookup(`host${lookups}.example.test`, 0, () => lookup());
  };
  a.run(lookup);
  // DHCP: nobody serves, so the client keeps discovering (without touching a's addresses).
  const dhcp = new DhcpClient(a, ia, { startDelay: [0, 0], configure: false });
  a.run(() => dhcp.start());

  const aAddr = globalAddress(a, ia)!;
  const bAddr = globalAddress(b, ib)!;
  const c4 = a.tcp.connect({ address: ip('10.0.2.2'), port: 80 }) as TcpSocket<IpAddr>;
  assert.ok(
    sim.runUntil(() => c4.state === 'ESTABLISHED' && accepted.length === 1, 30_000),
    'v4 connect',
  );
  const c6 = a.tcp.connect({ address: bAddr, port: 80 }) as TcpSocket<IpAddr>;
  assert.ok(
    sim.runUntil(() => c6.state === 'ESTABLISHED' && accepted.length === 2, 30_000),
    'v6 connect',
  );
  const connection = (
    name: string,
    client: TcpSocket<IpAddr>,
    server: TcpSocket<IpAddr>,
    s: number,
  ): Connection => {
    const streams: [Stream, Stream] = [
      new Stream(`${name} a->b`, s, a, client, server),
      new Stream(`${name} b->a`, s + 1, b, server, client),
    ];
    for (const st of streams) st.pump();
    return { name, client, server, streams };
  };
  const connections = [connection('tcp4', c4, accepted[0]!, 11), connection('tcp6', c6, accepted[1]!, 22)];
  sim.advance(200);

  const victimOf = (
    name: string,
    stack: Stack,
    iface: NetworkInterface,
    v4: string,
    v6: Ipv6Addr,
    listener: TcpListener<IpAddr>,
  ): Victim => ({
    name,
    stack,
    iface,
    mac: octets(iface.mac, 6),
    ip4: octets(ip(v4), 4),
    ip6: v6,
    listener,
  });
  const host = victimOf('host a', a, ia, '10.0.1.2', aAddr, listenA);
  const gateway = victimOf('router', router, r1, '10.0.1.1', parseIpv6('2001:db8:1::1')!, listenR);
  return {
    ...w,
    sent,
    recent,
    connections,
    host,
    gateway,
    resolver,
    dhcp,
    aAddr,
    bAddr,
    aLinkLocal: linkLocal(a, ia)!,
    lookups: () => lookups,
  };
}

export type HostileWorld = ReturnType<typeof hostileWorld>;

/**
 * Hands `frames` to the victim as received off its wire, one by one; a throw fails the test with
 * the seed and the frame in hex (the stack must count and drop, never throw).
 */
export function inject(victim: Victim, frames: readonly Uint8Array[], seed: number): void {
  for (const f of frames) {
    try {
      victim.iface.receive([f]);
    } catch (e) {
      assert.fail(`seed ${seed}: ${victim.name} threw ${(e as Error).stack}\non frame ${hex(f)}`);
    }
  }
}

/** The sum of every drop counter of a stack. */
export function dropTotal(stack: Stack): number {
  let total = 0;
  for (const [name, v] of Object.entries(stack.counters.snapshot())) if (name.includes('.drop')) total += v;
  return total;
}

/** Bounds every table of a victim must keep, whatever it was sent. */
export function assertBounded(w: HostileWorld, seed: number): void {
  for (const v of [w.host, w.gateway]) {
    const s = v.stack;
    const where = `seed ${seed}, ${v.name}`;
    assert.ok(s.arp.table.size <= 1024, `${where}: ARP table ${s.arp.table.size}`);
    assert.ok(s.ipv6!.ndp.table.size <= 1024, `${where}: neighbour cache ${s.ipv6!.ndp.table.size}`);
    for (const r of [s.ipv4.reassembly, s.ipv6!.reassembly]) {
      assert.ok(r.datagrams <= 1024 && r.bytes <= 4 << 20, `${where}: reassembly ${JSON.stringify(r)}`);
    }
    assert.ok(v.listener.pending <= 1024, `${where}: SYN queue ${v.listener.pending}`);
    assert.ok(s.tcp.connectionCount <= 2100, `${where}: ${s.tcp.connectionCount} connections`);
  }
  assert.ok(w.sim.timers.size < 20_000, `seed ${seed}: ${w.sim.timers.size} timers`);
}

/**
 * Runs the world until every connection that was not legitimately reset moved `bytes` more in
 * each direction, intact; returns the names of the connections found reset.
 */
export function assertStillTransfers(
  w: HostileWorld,
  seed: number,
  bytes = 64 * 1024,
  mayReset = false,
): string[] {
  const live = w.connections.filter(
    (c) => c.client.state === 'ESTABLISHED' && c.server.state === 'ESTABLISHED',
  );
  const gone = w.connections.filter((c) => !live.includes(c)).map((c) => c.name);
  if (!mayReset) assert.deepEqual(gone, [], `seed ${seed}: connections ${gone} not established any more`);
  const targets = live.flatMap((c) => c.streams.map((s) => ({ s, until: s.received + bytes })));
  for (const t of targets) t.s.pump();
  const ok = w.sim.runUntil(() => targets.every((t) => t.s.received >= t.until || t.s.corrupt >= 0), 120_000);
  for (const t of targets) {
    assert.equal(t.s.corrupt, -1, `seed ${seed}: ${t.s.name} delivered a wrong byte at ${t.s.corrupt}`);
  }
  assert.ok(
    ok,
    `seed ${seed}: streams stalled: ${targets.map((t) => `${t.s.name} ${t.s.received}/${t.until}`).join(', ')}`,
  );
  return gone;
}
