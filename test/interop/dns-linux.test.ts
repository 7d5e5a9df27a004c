/**
 * Interop: the stub resolver against dnsmasq in a network namespace. dnsmasq serves A, AAAA,
 * CNAME, PTR, TXT and SRV records from its command line; the stack, on a TAP at the other end of
 * the link, resolves every type through `stack.dns`, falls back to TCP for an answer too big for
 * UDP (TC bit), maps NXDOMAIN and SERVFAIL to Node's codes, and Node's own `http` connects by name
 * over `stack.net` to a server in the namespace. Then the `netstack` command resolves names with
 * `--dns` (ping, fetch, the errors of the real tools) and with the DNS server and domain a DHCP
 * lease gave (`--dhcp`).
 *
 * Needs Linux, root, /dev/net/tun, the native addon and dnsmasq; skipped with a loud warning
 * otherwise (CI installs dnsmasq-base).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import '../../src/api/install.ts';
import type { Stack } from '../../src/core/stack.ts';
import { NetnsHarness, type NsProcess, waitFor } from '../helpers/netns.ts';
import { cliInteropSkipReason, kernelTap, NetstackRunner } from '../helpers/netstack-cli.ts';
import { type StackInNamespace, stackInNamespace } from '../helpers/stack-in-namespace.ts';

const SKIP = cliInteropSkipReason(['dnsmasq']);
if (SKIP !== undefined) console.warn(`\n!!! SKIPPING the DNS interop tests against dnsmasq: ${SKIP} !!!\n`);

/** The link of the in-process stack, and the link of the `netstack` commands. */
const KERNEL = '10.221.0.1';
const STACK = '10.221.0.2';
const KERNEL2 = '10.222.0.1';
const CLI = '10.222.0.2';
/** Twelve TXT records of 200 octets: beyond the 1232 octets of EDNS, so truncated over UDP. */
const BIG = Array.from({ length: 12 }, (_, i) => `${i}`.padStart(3, '0').padEnd(200, 'x'));

/** A name server that answers every query with SERVFAIL (dnsmasq forwards fail.test to it). */
const SERVFAIL_SERVER = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => { const a = Buffer.from(m); a[2] = 0x80 | (m[2] & 0x79); a[3] = 0x82; a.writeUInt16BE(0, 6); a.writeUInt16BE(0, 8); a.writeUInt16BE(0, 10); s.send(a, r.port, r.address); });
s.bind(5300, '127.0.0.1', () => console.log('ready'));`;

/** An http server on every address of the namespace: GET /n answers n bytes. */
const HTTP_SERVER = `
require('node:http').createServer((req, res) => res.end(Buffer.alloc(Number(req.url.slice(1)), 'dns'))).listen(8081, () => console.log('ready'));`;

describe('the resolver against dnsmasq', { skip: SKIP }, () => {
  let netns: NetnsHarness;
  let runner: NetstackRunner;
  let ns: string;
  let world: StackInNamespace | undefined;
  let stack: Stack;
  let cliTap: string;
  let dir: string;
  let dnsmasq: NsProcess;

  before(async () => {
    netns = new NetnsHarness();
    runner = new NetstackRunner();
    dir = mkdtempSync(join(tmpdir(), 'netstack-dns-'));
    world = await stackInNamespace(netns, {
      name: 'dns-interop',
      ipv6: 'off',
      stack4: `${STACK}/24`,
      kernel4: `${KERNEL}/24`,
    });
    const { dev } = world;
    ({ ns, stack } = world);
    cliTap = await kernelTap(netns, ns, `${KERNEL2}/24`);
    const upstream = netns.spawn(ns, process.execPath, ['-e', SERVFAIL_SERVER]);
    const web = netns.spawn(ns, process.execPath, ['-e', HTTP_SERVER]);
    await waitFor(() => upstream.stdout.includes('ready') && web.stdout.includes('ready'), {
      timeout: 20_000,
      what: 'the SERVFAIL server and the http server',
    });
    dnsmasq = netns.spawn(ns, 'dnsmasq', [
      '--no-daemon',
      '--conf-file=/dev/null',
      '--user=root',
      '--log-facility=-',
      '--no-resolv',
      '--no-hosts',
      '--bind-interfaces',
      `--interface=${dev}`,
      `--interface=${cliTap}`,
      '--edns-packet-max=1232',
      '--local=/interop.test/',
      '--server=/fail.test/127.0.0.1#5300',
      `--host-record=www.interop.test,${KERNEL},2001:db8::1`,
      `--host-record=web2.interop.test,${KERNEL2}`,
      '--cname=alias.interop.test,www.interop.test',
      // No shell here: the strings are not quoted.
      '--txt-record=txt.interop.test,v=spf1 -all,second string',
      ...BIG.map((t) => `--txt-record=big.interop.test,${t}`),
      '--srv-host=_http._tcp.interop.test,www.interop.test,8081,10,20',
      '--ptr-record=9.0.221.10.in-addr.arpa,printer.interop.test',
      // DHCP on the commands' link only (the range is in its subnet).
      '--dhcp-range=10.222.0.100,10.222.0.150,255.255.255.0,2m',
      `--dhcp-option=option:dns-server,${KERNEL2}`,
      '--dhcp-option=option:domain-name,interop.test',
      `--dhcp-leasefile=${join(dir, 'leases')}`,
    ]);
    let exited: number | string | undefined;
    void dnsmasq.exited.then((code) => {
      exited = code;
    });
    await waitFor(() => /started, version/.test(dnsmasq.stderr) || exited !== undefined, {
      timeout: 20_000,
      what: 'dnsmasq to start',
    });
    assert.equal(exited, undefined, `dnsmasq exited: ${dnsmasq.stderr}`);
    stack.dns.setServers([KERNEL]);
  });

  after(async () => {
    await runner?.cleanup();
    world?.close();
    await netns?.cleanup();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('every record type through stack.dns: lookup, resolve4/6/Cname/Ptr/Txt/Srv, reverse', async () => {
    const dns = stack.dns;
    assert.deepEqual(await dns.lookup('www.interop.test', { all: true }), [
      { address: KERNEL, family: 4 },
      { address: '2001:db8::1', family: 6 },
    ]);
    assert.deepEqual(await dns.lookup('alias.interop.test', 4), { address: KERNEL, family: 4 });
    assert.deepEqual(await dns.resolve4('www.interop.test'), [KERNEL]);
    const [withTtl] = (await dns.resolve4('web2.interop.test', { ttl: true })) as Array<{ ttl: number }>;
    assert.ok(withTtl!.ttl >= 0);
    assert.deepEqual(await dns.resolve6('www.interop.test'), ['2001:db8::1']);
    assert.deepEqual(await dns.resolveCname('alias.interop.test'), ['www.interop.test']);
    assert.deepEqual(await dns.resolve4('alias.interop.test'), [KERNEL]);
    assert.deepEqual(await dns.resolveTxt('txt.interop.test'), [['v=spf1 -all', 'second string']]);
    assert.deepEqual(await dns.resolveSrv('_http._tcp.interop.test'), [
      { name: 'www.interop.test', port: 8081, priority: 10, weight: 20 },
    ]);
    assert.deepEqual(await dns.resolvePtr('9.0.221.10.in-addr.arpa'), ['printer.interop.test']);
    assert.deepEqual(await dns.reverse(KERNEL), ['www.interop.test']);
    assert.deepEqual(await dns.reverse('10.221.0.9'), ['printer.interop.test']);
  });

  test('an answer too big for UDP: truncated (TC), asked again over TCP', async () => {
    const before = stack.counters.value('dns.queries.tcp');
    const txt = (await stack.dns.resolveTxt('big.interop.test')).map((strings) => strings.join(''));
    assert.deepEqual(txt.sort(), [...BIG].sort());
    assert.equal(stack.counters.value('dns.queries.tcp'), before + 1);
  });

  test("NXDOMAIN and SERVFAIL with Node's codes", async () => {
    await assert.rejects(stack.dns.resolve4('nosuch.interop.test'), {
      code: 'ENOTFOUND',
      syscall: 'queryA',
      hostname: 'nosuch.interop.test',
    });
    await assert.rejects(stack.dns.lookup('nosuch.interop.test'), {
      code: 'ENOTFOUND',
      syscall: 'getaddrinfo',
      errno: -3008,
    });
    await assert.rejects(stack.dns.resolve6('web2.interop.test'), { code: 'ENODATA' });
    await assert.rejects(stack.dns.resolve4('www.fail.test'), { code: 'ESERVFAIL', syscall: 'queryA' });
    await assert.rejects(stack.dns.lookup('www.fail.test'), { code: 'EAI_AGAIN', syscall: 'getaddrinfo' });
  });

  test("Node's own http connects by name over stack.net (the name through stack.dns)", async () => {
    const looked: string[] = [];
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.get(
        {
          host: 'www.interop.test',
          port: 8081,
          path: '/5000',
          createConnection: (o) => stack.net.createConnection(o as Parameters<typeof stack.net.connect>[0]),
        },
        (res) => {
          res.setEncoding('utf8');
          let text = '';
          res.on('data', (d: string) => {
            text += d;
          });
          res.on('end', () => resolve(text));
          res.on('error', reject);
        },
      );
      req.on('socket', (s) => s.on('lookup', (_e: unknown, address: string) => looked.push(address)));
      req.on('error', reject);
    });
    assert.equal(body, 'dns'.repeat(5000).slice(0, 5000));
    assert.ok(looked.includes(KERNEL), `lookups: ${looked.join(', ')}`);
  });

  test('netstack ping, fetch and nc by name with --dns; unknown names as ping and curl report them', async () => {
    const iface = ['--tap', cliTap, '--ipv4', `${CLI}/24`, '--dns', KERNEL2];
    const ping = runner.start(ns, ['ping', ...iface, '-c', '2', '-i', '0.2', 'web2.interop.test']);
    assert.equal(await ping.exited, 0, ping.stderr);
    assert.match(ping.stdout, /^PING web2\.interop\.test \(10\.222\.0\.1\) 56\(84\) bytes of data\./m);
    assert.match(ping.stdout, /^64 bytes from 10\.222\.0\.1: icmp_seq=1 ttl=64/m);
    assert.match(ping.stdout, /^--- web2\.interop\.test ping statistics ---$/m);
    const fetch = runner.start(ns, ['fetch', ...iface, '-q', 'http://web2.interop.test:8081/3000']);
    assert.equal(await fetch.exited, 0, fetch.stderr);
    assert.equal(fetch.stdout, 'dns'.repeat(1000));
    const nc = runner.start(ns, ['nc', ...iface, 'web2.interop.test', '8081'], { stdin: true });
    nc.write('GET /6 HTTP/1.0\r\n\r\n');
    nc.child.stdin!.end();
    assert.equal(await nc.exited, 0, nc.stderr);
    assert.match(nc.stdout, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\ndnsdns$/);
    const unknown = runner.start(ns, ['ping', ...iface, '-c', '1', 'nosuch.interop.test']);
    assert.equal(await unknown.exited, 2);
    assert.match(unknown.stderr, /^netstack ping: nosuch\.interop\.test: Name or service not known$/m);
    const unknownUrl = runner.start(ns, ['fetch', ...iface, 'http://nosuch.interop.test/']);
    assert.equal(await unknownUrl.exited, 6);
    assert.match(unknownUrl.stderr, /^netstack fetch: \(6\) Could not resolve host: nosuch\.interop\.test$/m);
  });

  test('netstack ping --dhcp: the lease gives the DNS server and the search domain', async () => {
    const ping = runner.start(ns, ['ping', '--tap', cliTap, '--dhcp', '-c', '1', 'web2']);
    assert.equal(await ping.exited, 0, `${ping.stdout}\n${ping.stderr}`);
    assert.match(ping.stdout, /^PING web2 \(10\.222\.0\.1\) /m);
    assert.match(
      ping.stdout,
      /^dhcp: \S+ bound 10\.222\.0\.1\d\d\/24 router 10\.222\.0\.1 dns 10\.222\.0\.1 from 10\.222\.0\.1 /m,
    );
    assert.match(ping.stdout, /^64 bytes from 10\.222\.0\.1: icmp_seq=1/m);
  });
});
