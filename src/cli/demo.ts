/**
 * `netstack demo` (what `npm start` runs): a tour of the stack on a simulated network, on virtual
 * time, with no root and no devices. It grows with the stack. Today:
 *
 *     client (DHCP) ── clean wire ── router 192.0.2.1 ── lossy wire ── server 198.51.100.10
 *     client (SLAAC)        2001:db8:1::1 (advertised)     2001:db8:2::1      2001:db8:2::10
 *
 * The client gets its address, router and DNS server from the router's DHCP server (the lease's
 * server and domain go to the client's resolver, `stack.dns`), resolves the server by name (the
 * server answers DNS for `example`), fetches a page with Node's own `http` module over stack.net
 * (an `http.Server` on the server, fed by stack.net too), then pings it across the router (with the
 * loss on one link), probes the router TTL 1, sends fragmented pings, exchanges UDP datagrams and
 * downloads over HTTP/TCP through the loss; a pcapng records both wires. The network is dual
 * stack: the router advertises an IPv6 prefix on the client's side (RFC 4861 6.2), the client
 * configures an address from it (SLAAC, RFC 4862), resolves the server's AAAA record, pings it and
 * fetches a page over TCP/IPv6 across the router.
 *
 * Node's `http` needs Node's event loop: that step steps the simulation one event per macrotask
 * (`pump`), so Node's callbacks run between the stack's events; the rest runs straight on virtual
 * time. Both are deterministic: the same seed prints the same report.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import '../api/install.ts';
import type { ConnectOptions } from '../api/net/index.ts';
import { DhcpClient } from '../apps/dhcp/client.ts';
import { type DhcpLease, leaseDnsConfig } from '../apps/dhcp/client-state.ts';
import { DhcpServer } from '../apps/dhcp/server.ts';
import { DnsServer, rr } from '../apps/dns/server.ts';
import { HttpGet } from '../apps/http/client.ts';
import { HttpServer } from '../apps/http/server.ts';
import { VirtualNetwork } from '../bindings/memory/network.ts';
import { Simulation } from '../bindings/memory/simulation.ts';
import { captureInterfaces } from '../bindings/pcap/capture.ts';
import { openCaptureFile } from '../bindings/pcap/pcap-file.ts';
import { LINKTYPE_ETHERNET } from '../bindings/pcap/pcap-format.ts';
import type { NetworkInterface } from '../core/device/interface.ts';
import { Pinger, type PingSummary } from '../core/icmp-echo/pinger.ts';
import { type IpAddr, ipToString } from '../core/ip-address.ts';
import type { Stack } from '../core/stack.ts';
import type { TcpInfo } from '../core/tcp/tcp-info.ts';
import type { TcpSocket } from '../core/tcp/tcp-socket.ts';
import {
  type Ipv4Addr,
  type Ipv6Addr,
  ipv4ToString,
  ipv6IsLinkLocal,
  ipv6ToString,
  parseIpv4,
  parseIpv4Cidr,
  parseIpv6,
} from '../wire/address.ts';
import { describeIcmpError, describeIcmpv6Error, formatRtt, formatStatistics } from './ping.ts';

export interface DemoOptions {
  seed: number;
  /** UDP datagrams in the echo exchange. */
  frames: number;
  /** Bytes of the HTTP download. */
  httpBytes: number;
  pcap: string | undefined;
  /** Loss probability on the router–server wire, each way. */
  loss: number;
  /** One-way delay of the router–server wire, ms. */
  delay: number;
  log: (line: string) => void;
}

const ECHO_PORT = 7;

/** The IPv6 plan: the router advertises CLIENT_PREFIX on the client's side; the server is static. */
const CLIENT_PREFIX = '2001:db8:1::';
const ROUTER_IP6 = ['2001:db8:1::1', '2001:db8:2::1'] as const;
const SERVER_IP6 = '2001:db8:2::10';

interface Host {
  stack: Stack;
  iface: NetworkInterface;
  ip: Ipv4Addr;
}

function ip6(text: string): Ipv6Addr {
  return parseIpv6(text)!;
}

function ipv6Of(stack: Stack) {
  const ip = stack.ipv6;
  if (ip === undefined) throw new Error('the demo needs IPv6 in its stacks');
  return ip;
}

function addHost(stack: Stack, iface: NetworkInterface, cidr: string, gateway?: Ipv4Addr): Ipv4Addr {
  const c = parseIpv4Cidr(cidr)!;
  stack.ipv4.addAddress(iface, c.addr, c.prefixLen);
  if (gateway !== undefined) {
    stack.ipv4.routes.add({ dest: 0, prefixLen: 0, gateway, iface, metric: 0, origin: 'static' });
  }
  return c.addr;
}

function buildNetwork(options: DemoOptions) {
  const sim = new Simulation({ seed: options.seed });
  const net = new VirtualNetwork(sim);
  const clean = net.wire({ name: 'clean', impairments: { delay: 1 } });
  const lossy = net.wire({
    name: 'lossy',
    impairments: {
      loss: options.loss,
      delay: options.delay,
      jitter: options.delay / 5,
      reorder: 0.02,
      duplicate: 0.01,
      corrupt: 0.005,
      rateBitsPerSecond: 100e6,
    },
  });
  const router = sim.createStack({ name: 'router' });
  const r0 = clean.attach(router, 'eth0');
  const r1 = lossy.attach(router, 'eth1');
  const rIp0 = addHost(router, r0, '192.0.2.1/24');
  const rIp1 = addHost(router, r1, '198.51.100.1/24');
  router.ipv4.forwarding = true;
  const rv6 = ipv6Of(router);
  rv6.addAddress(r0, ip6(ROUTER_IP6[0]), 64);
  rv6.addAddress(r1, ip6(ROUTER_IP6[1]), 64);
  rv6.forwarding = true;
  // Router advertisements on the client's side (RFC 4861 6.2): hosts there configure addresses
  // from the prefix (SLAAC) and take the router as their default router.
  rv6.advertise(r0, { prefixes: [{ prefix: ip6(CLIENT_PREFIX), prefixLength: 64 }] });
  // The router serves addresses on the clean side and names the server as the DNS server.
  new DhcpServer(router, r0, {
    start: parseIpv4('192.0.2.100')!,
    end: parseIpv4('192.0.2.199')!,
    routers: [rIp0],
    dnsServers: [parseIpv4('198.51.100.10')!],
    domainName: 'example',
  }).start();
  const cStack = sim.createStack({ name: 'client' });
  const client: Host = { stack: cStack, iface: clean.attach(cStack, 'eth0'), ip: 0 };
  const sStack = sim.createStack({ name: 'server' });
  const sIface = lossy.attach(sStack, 'eth0');
  const server: Host = {
    stack: sStack,
    iface: sIface,
    ip: addHost(sStack, sIface, '198.51.100.10/24', rIp1),
  };
  // The server's IPv6 side is static, as its IPv4 side: an address and a default route.
  const sv6 = ipv6Of(sStack);
  sv6.addAddress(sIface, ip6(SERVER_IP6), 64);
  sv6.routes.add({
    dest: new Uint8Array(16),
    prefixLen: 0,
    gateway: ip6(ROUTER_IP6[1]),
    iface: sIface,
    metric: 0,
    origin: 'static',
  });
  // The server answers DNS for the `example` zone.
  new DnsServer(sStack, {
    records: [
      rr.soa('example'),
      rr.a('www.example', ipv4ToString(server.ip)),
      rr.cname('server.example', 'www.example'),
      rr.aaaa('server6.example', SERVER_IP6),
    ],
  });
  return { sim, clean, lossy, router, routerIfaces: [r0, r1], client, server };
}

/** Runs the client's DHCP exchange until it holds a lease; returns the lease. */
function dhcp(sim: Simulation, client: Host, log: (line: string) => void): DhcpLease {
  let lease: DhcpLease | undefined;
  const states: string[] = [];
  const dhcpClient = new DhcpClient(client.stack, client.iface, {
    hostName: 'client',
    startDelay: [0, 0],
    onLease: (l) => {
      lease = l;
    },
    onStateChange: (state) => states.push(state),
  });
  dhcpClient.start();
  sim.runUntil(() => lease !== undefined, 120_000);
  if (lease === undefined) throw new Error('the demo client got no DHCP lease');
  client.ip = lease.address;
  log(
    `  ${states.join(' → ')} in ${sim.now.toFixed(0)} ms (the client probed the address with ARP first, RFC 5227)`,
  );
  log(
    `  address ${ipv4ToString(lease.address)}/${lease.prefixLen}, router ${lease.routers.map(ipv4ToString).join(', ')}, DNS ${lease.dnsServers.map(ipv4ToString).join(', ')}, domain ${lease.domainName}, lease ${lease.leaseTime} s`,
  );
  return lease;
}

/** Gives the client's resolver the lease's DNS server and domain, as a DHCP client does. */
function useLease(client: Host, lease: DhcpLease): void {
  // What a DHCP client on a command line does (src/cli/dhcp.ts): the lease is a source of servers.
  client.stack.dns.resolver.setSource(`dhcp4:${client.iface.name}`, leaseDnsConfig(lease));
}

/** Looks `name` up (A or AAAA) with the client's resolver; returns the first address's text. */
function lookup(sim: Simulation, client: Host, name: string, family: 4 | 6): string {
  let result: string | undefined;
  client.stack.dns.resolver.lookup(name, family, (err, list) => {
    result = err !== undefined ? `error ${err.code}` : (list?.[0]?.address ?? 'no address');
  });
  sim.runUntil(() => result !== undefined, 60_000);
  return result ?? 'timed out';
}

/** Resolves `name` with the client's resolver, given the lease's DNS server and domain. */
function resolve(
  sim: Simulation,
  client: Host,
  lease: DhcpLease,
  name: string,
  log: (line: string) => void,
): Ipv4Addr {
  useLease(client, lease);
  const result = lookup(sim, client, name, 4);
  const address = parseIpv4(result);
  if (address === undefined) throw new Error(`the demo could not resolve ${name}: ${result}`);
  log(`  ${name} → ${result} (search domain ${lease.domainName}, CNAME server.example → www.example)`);
  return address;
}

/**
 * Steps the simulation one event per macrotask until `done` settles, so Node's own code (streams,
 * http) runs between the stack's events. Rejects after `limit` ms of virtual time.
 */
async function pump<T>(sim: Simulation, done: Promise<T>, limit: number): Promise<T> {
  let settled = false;
  const watched = done.finally(() => {
    settled = true;
  });
  const deadline = sim.now + limit;
  while (!settled) {
    if (sim.now > deadline) throw new Error(`the demo waited ${limit} ms of virtual time`);
    sim.step();
    await new Promise((r) => setImmediate(r));
  }
  return watched;
}

const PAGE =
  '<!doctype html><title>netstack-ts</title><h1>Hello from a Node http.Server on netstack-ts</h1>\n';

/**
 * Node's own `http`, unchanged, over netstack-ts: an `http.Server` on the server fed by the server
 * stack's `net.createServer`, and `http.get` on the client with `createConnection` from the client
 * stack's `net`, which resolves `server` through `stack.dns` (the lease's server and domain).
 */
async function nodeHttp(
  sim: Simulation,
  client: Host,
  server: Host,
  log: (line: string) => void,
): Promise<void> {
  const httpServer = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(req.url === '/' ? PAGE : '');
  });
  const listener = server.stack.net.createServer((socket) => httpServer.emit('connection', socket));
  listener.listen(8080);
  const start = sim.now;
  const page = new Promise<string>((resolve, reject) => {
    const req = http.get(
      {
        host: 'server',
        port: 8080,
        path: '/',

        // Node's own options go to stack.net as they would go to net.createConnection.
        createConnection: (o) => client.stack.net.createConnection(o as ConnectOptions),
      },
      (res) => {
        const socket = res.socket;
        log(
          `  connected from ${socket.localAddress}:${socket.localPort} to ${socket.remoteAddress}:${socket.remotePort}`,
        );
        log(
          `  HTTP/${res.httpVersion} ${res.statusCode} ${res.statusMessage}, ${res.headers['content-type']}, ${res.headers['content-length']} bytes`,
        );
        res.setEncoding('utf8');
        let body = '';
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve(body));
        res.on('error', reject);
      },
    );
    req.on('socket', (socket) =>
      socket.on('lookup', (err: Error | null, address: string) => {
        if (err === null)
          log(`  lookup server → ${address} (stack.dns, with the lease's DNS server and domain)`);
      }),
    );
    req.on('error', reject);
  });
  try {
    const body = await pump(sim, page, 60_000);
    log(`  ${body.trimEnd()}`);
    log(`  in ${(sim.now - start).toFixed(0)} ms of virtual time`);
  } finally {
    listener.close();
    httpServer.close();
  }
}

/** Runs a Pinger to completion on virtual time, printing ping(8)-style lines. */
function ping(
  sim: Simulation,
  from: Host,
  dst: IpAddr,
  options: { count: number; interval: number; size?: number; ttl?: number },
  log: (line: string) => void,
): PingSummary {
  const pinger = new Pinger(from.stack, dst, { ...options, timeout: 1000 });
  let summary: PingSummary | undefined;
  pinger.onReply = (r) =>
    log(
      `  ${r.bytes} bytes from ${ipToString(r.from)}: icmp_seq=${r.seq} ${typeof dst === 'number' ? 'ttl' : 'hlim'}=${r.ttl} time=${formatRtt(r.rtt)} ms${r.duplicate ? ' (DUP!)' : ''}`,
    );
  pinger.onTimeout = (seq) => log(`  no answer yet for icmp_seq=${seq}`);
  pinger.onError = (e) => {
    const what =
      typeof dst === 'number'
        ? describeIcmpError(e.type, e.code)
        : describeIcmpv6Error(e.type, e.code, e.mtu);
    log(`  From ${ipToString(e.reporter)} icmp_seq=${e.seq} ${what}`);
  };
  pinger.onDone = (s) => {
    summary = s;
  };
  pinger.start();
  sim.runUntil(() => summary !== undefined);
  for (const line of formatStatistics(ipToString(dst), summary!).slice(2)) log(`  ${line}`);
  return summary!;
}

/** The client sends numbered datagrams 1 ms apart to the server's echo service. */
function udpEcho(
  sim: Simulation,
  client: Host,
  server: Host,
  count: number,
  log: (line: string) => void,
): void {
  const service = server.stack.udp.open();
  service.bind(ECHO_PORT);
  service.onReadable = () => {
    for (let d = service.recv(); d !== undefined; d = service.recv()) service.send(d.data, d.address, d.port);
  };
  const socket = client.stack.udp.open();
  socket.connect(server.ip, ECHO_PORT);
  const sentAt: number[] = [];
  const echoed = new Set<number>();
  let duplicates = 0;
  let reordered = 0;
  let highest = -1;
  const rtts: number[] = [];
  socket.onReadable = () => {
    for (let d = socket.recv(); d !== undefined; d = socket.recv()) {
      const seq = new DataView(d.data.buffer, d.data.byteOffset).getUint32(0);
      if (echoed.has(seq)) {
        duplicates++;
        continue;
      }
      echoed.add(seq);
      if (seq < highest) reordered++;
      highest = Math.max(highest, seq);
      rtts.push(sim.now - sentAt[seq]!);
    }
  };
  const start = sim.now;
  for (let seq = 0; seq < count; seq++) {
    sim.at(start + seq, () => {
      const payload = new Uint8Array(64);
      new DataView(payload.buffer).setUint32(0, seq);
      sentAt[seq] = sim.now;
      socket.send(payload);
    });
  }
  sim.runUntil(() => echoed.size === count, count + 5000);
  rtts.sort((a, b) => a - b);
  const pct = (p: number) => rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))]?.toFixed(2) ?? '-';
  log(
    `  sent ${count}, echoed ${echoed.size} (${((echoed.size / count) * 100).toFixed(1)}%), duplicates ${duplicates}, reordered ${reordered}`,
  );
  log(`  rtt p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms`);
  const drops =
    server.stack.counters.value('udp.rx.drop.bad-checksum') +
    server.stack.counters.value('ipv4.rx.drop.bad-checksum');
  log(`  corrupted datagrams refused by checksums at the server: ${drops}`);
  socket.close();
  service.close();
}

/** The small HTTP service (src/apps/http/server.ts) on port 80 of `server`, over IPv4 or IPv6. */
function serveHttp(server: Host, family: 4 | 6) {
  const http = new HttpServer(server.stack, {
    createHash: () => {
      const h = createHash('sha256');
      return { update: (d) => h.update(d), digest: () => h.digest('hex') };
    },
  });
  const listener = server.stack.tcp.listen({ port: 80, family });
  const service = {
    /** The connection accepted last. */
    accepted: undefined as TcpSocket | undefined,
    close: () => listener.close(),
  };
  listener.onConnection = () => {
    for (let s = listener.accept(); s !== undefined; s = listener.accept()) {
      service.accepted = s;
      http.serve(s, () => {});
    }
  };
  return service;
}

/** The client downloads `/bytes/N` from the server's HTTP service across the lossy wire. */
function httpDownload(
  sim: Simulation,
  client: Host,
  server: Host,
  bytes: number,
  log: (line: string) => void,
): void {
  const service = serveHttp(server, 4);
  const get = new HttpGet(client.stack, {
    address: server.ip,
    port: 80,
    host: 'server',
    path: `/bytes/${bytes}`,
  });
  const start = sim.now;
  let received = 0;
  let status = 0;
  let info: TcpInfo | undefined;
  let outcome: string | undefined;
  get.onResponse = (head) => {
    status = head.status;
  };
  get.onData = (d) => {
    received += d.length;
  };
  get.onEnd = () => {
    info = service.accepted?.info();
    outcome = 'complete';
  };
  get.onError = (e) => {
    outcome = `failed: ${e.message}`;
  };
  sim.runUntil(() => outcome !== undefined, 3_600_000);
  const seconds = (sim.now - start) / 1000;
  log(
    `  HTTP ${status}, ${received} of ${bytes} bytes, ${outcome ?? 'timed out'} in ${seconds.toFixed(2)} s of virtual time`,
  );
  log(
    `  throughput ${((received * 8) / seconds / 1e6).toFixed(2)} Mbit/s through ${(100).toFixed(0)} Mbit/s with the loss above`,
  );
  if (info !== undefined) {
    const segments = (n: number) => (n / info!.sndMss).toFixed(1);
    log(
      `  server's TCP (${info.congestionControl}, MSS ${info.sndMss}, SACK ${info.sack ? 'on' : 'off'}, timestamps ${info.timestamps ? 'on' : 'off'}, window scale ${info.sndWscale}):`,
    );
    log(
      `    segments out ${info.dataSegsOut}, retransmitted ${info.totalRetrans} (${((info.bytesRetrans / Math.max(1, info.bytesSent)) * 100).toFixed(1)}% of bytes), loss events ${info.lost}, timeouts ${info.timeouts}, tail loss probes ${info.tlpProbes}`,
    );
    log(
      `    final cwnd ${Math.round(info.cwnd)} bytes (${segments(info.cwnd)} segments), ssthresh ${segments(info.ssthresh)} segments, srtt ${info.rtt?.toFixed(1) ?? '-'} ms, rto ${info.rto.toFixed(0)} ms`,
    );
  }
  service.close();
}

/** Waits for the client's address from the router's advertisement (SLAAC, DAD done); prints it. */
function slaac(sim: Simulation, client: Host, log: (line: string) => void): Ipv6Addr {
  const ip = ipv6Of(client.stack);
  const usable = (global: boolean) =>
    ip.listAddresses(client.iface).find((a) => ipv6IsLinkLocal(a.addr) !== global && a.state === 'preferred');
  sim.runUntil(() => usable(true) !== undefined, 60_000);
  const global = usable(true);
  const linkLocal = usable(false);
  const router = ip.routes.list().find((r) => r.prefixLen === 0 && r.origin === 'ra')?.gateway;
  if (global === undefined || linkLocal === undefined || router === undefined)
    throw new Error('the demo client configured no IPv6 address from the advertisement');
  log(
    `  address ${ipv6ToString(global.addr)}/${global.prefixLen} from the advertised prefix ${CLIENT_PREFIX}/64 (SLAAC, RFC 4862; duplicate address detection passed)`,
  );
  log(
    `  link-local ${ipv6ToString(linkLocal.addr)}, default router ${ipv6ToString(router)}%${client.iface.name} (the router's link-local address)`,
  );
  return global.addr;
}

/** The client fetches `/` from the server's HTTP service over TCP/IPv6 (HttpGet on the core's TCP). */
function httpGet6(sim: Simulation, client: Host, server: Host, log: (line: string) => void): void {
  const service = serveHttp(server, 6);
  const address = ip6(SERVER_IP6);
  const get = new HttpGet(client.stack, { address, port: 80, host: `[${SERVER_IP6}]`, path: '/' });
  const start = sim.now;
  const chunks: Uint8Array[] = [];
  let head = '';
  let outcome: string | undefined;
  get.onResponse = (h) => {
    head = `HTTP ${h.status} ${h.reason}, ${h.fields.get('content-type') ?? '-'}, ${h.length ?? '?'} bytes`;
  };
  get.onData = (d) => chunks.push(d.slice());
  get.onEnd = () => {
    outcome = 'complete';
  };
  get.onError = (e) => {
    outcome = `failed: ${e.message}`;
  };
  sim.runUntil(() => outcome !== undefined, 600_000);
  const peer = service.accepted;
  if (peer !== undefined)
    log(
      `  the server accepted [${ipToString(peer.remoteAddress)}]:${peer.remotePort} on [${ipToString(peer.localAddress)}]:${peer.localPort}`,
    );
  log(`  ${head}, ${outcome ?? 'timed out'} in ${(sim.now - start).toFixed(0)} ms of virtual time`);
  const body = new TextDecoder().decode(Buffer.concat(chunks));
  const line = /<p>(.*)<\/p>/.exec(body)?.[1];
  if (line !== undefined) log(`  ${line}`);
  service.close();
}

export async function runDemo(options: DemoOptions): Promise<void> {
  const { log } = options;
  const { sim, clean, lossy, router, routerIfaces, client, server } = buildNetwork(options);

  const stopCapture = (() => {
    if (options.pcap === undefined) return () => {};
    const file = openCaptureFile(options.pcap, {
      format: 'pcapng',
      interfaces: [
        { linkType: LINKTYPE_ETHERNET, name: 'clean (router eth0)' },
        { linkType: LINKTYPE_ETHERNET, name: 'lossy (router eth1)' },
      ],
    });
    const stop = captureInterfaces(routerIfaces, file, { toWallClock: (t) => sim.wallClock(t) });
    return () => {
      stop();
      file.close();
    };
  })();

  log(`netstack-ts demo (seed ${options.seed}): three stacks on a simulated network, virtual time`);
  log('');
  log(`  client ── clean wire ── router 192.0.2.1 ── lossy wire ── server ${ipv4ToString(server.ip)}`);
  log(
    `  and IPv6: router ${ROUTER_IP6[0]}/64 (advertised to the client) and ${ROUTER_IP6[1]}/64, server ${SERVER_IP6}/64`,
  );
  log(
    `  lossy wire: ${options.loss * 100}% loss, ${options.delay} ms ±${options.delay / 5} delay, 2% reorder, 1% duplicate, 0.5% corrupt, 100 Mbit/s`,
  );
  log('');
  log('DHCP: the client asks the router for an address:');
  const lease = dhcp(sim, client, log);
  log('');
  log('DNS: the client resolves the server by name with the DNS server from the lease:');
  const resolved = resolve(sim, client, lease, 'server', log);
  if (resolved !== server.ip) throw new Error('the demo resolved the wrong address');
  log('');
  log(`Node's own http module over netstack-ts: http.get('http://server:8080/') through stack.net:`);
  await nodeHttp(sim, client, server, log);
  log('');
  log(`IPv6: the router advertises ${CLIENT_PREFIX}/64 on the client's side (RFC 4861 6.2):`);
  slaac(sim, client, log);
  log(
    `  server6 → ${lookup(sim, client, 'server6', 6)} (AAAA, asked over IPv4 of the DNS server from the lease)`,
  );
  log(`ping ${SERVER_IP6} across the router:`);
  ping(sim, client, ip6(SERVER_IP6), { count: 5, interval: 100 }, log);
  log(`GET http://[${SERVER_IP6}]/ over TCP/IPv6 across the router:`);
  httpGet6(sim, client, server, log);
  log('');
  log(`ping server (${ipv4ToString(server.ip)}) across the router:`);
  ping(sim, client, server.ip, { count: 10, interval: 100 }, log);
  log('');
  log(`ping -t 1 ${ipv4ToString(server.ip)} (the router answers "time exceeded", as traceroute sees it):`);
  ping(sim, client, server.ip, { count: 1, interval: 100, ttl: 1 }, log);
  log('');
  log(
    `ping -s 4000 ${ipv4ToString(server.ip)} (fragmented by the client, reassembled by the server, and back):`,
  );
  ping(sim, client, server.ip, { count: 3, interval: 100, size: 4000 }, log);
  log('');
  log(`UDP echo (port ${ECHO_PORT}) from the client to the server, one datagram per millisecond:`);
  udpEcho(sim, client, server, options.frames, log);
  log('');
  log(`HTTP download of ${options.httpBytes} bytes from the server, over TCP across the lossy wire:`);
  httpDownload(sim, client, server, options.httpBytes, log);
  log('');
  for (const wire of [clean, lossy]) {
    for (const [dir, s] of Object.entries(wire.stats)) {
      log(
        `  wire ${wire.name} ${dir.padEnd(7)} sent ${s.sent}, delivered ${s.delivered}, lost ${s.lost}, duplicated ${s.duplicated}, corrupted ${s.corrupted}, reordered ${s.reordered}`,
      );
    }
  }
  log(
    `  router forwarded ${router.counters.value('ipv4.forwarded')} IPv4 and ${router.counters.value('ipv6.forwarded')} IPv6 packets in ${(sim.now / 1000).toFixed(2)} s of virtual time`,
  );
  log('');
  log('server counters (nstat style):');
  log(indent(server.stack.counters.format()));
  stopCapture();
  if (options.pcap !== undefined)
    log(`\ncapture of both wires written to ${options.pcap} (wireshark or tshark -r)`);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
