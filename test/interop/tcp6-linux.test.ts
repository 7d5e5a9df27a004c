/**
 * Interop: TCP over IPv6 between the stack and Linux. `netstack up --ipv6 ... --serve http,echo`
 * on a TAP in a network namespace (the services listen dual-stack); the kernel's curl -6 downloads
 * a few MiB over the global and the link-local address (`%tap0`), OpenBSD nc -6 sends to the echo
 * service and gets it back, and an IPv4 nc still reaches the same listener (a mapped peer). As a
 * client, `netstack fetch` downloads from python's http.server over the global and the link-local
 * address (zone in the URL as RFC 6874 writes it) and `netstack nc -6` sends to a kernel nc. Every
 * transfer is checked by SHA-256; every TCP frame the stack sent must dissect cleanly in tshark.
 *
 * Needs Linux, root, /dev/net/tun, the addon, curl, nc (netcat-openbsd) and sha256sum; skipped with
 * a loud warning otherwise.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bytesSource } from '../../src/apps/http/bytes-body.ts';
import { NetnsHarness, waitFor } from '../helpers/netns.ts';
import {
  cliInteropSkipReason,
  kernelTap,
  type NetstackProcess,
  NetstackRunner,
} from '../helpers/netstack-cli.ts';
import { pythonHttpServer } from '../helpers/python-http-server.ts';
import { sentBy } from '../helpers/stack-capture.ts';
import { tsharkAvailable, tsharkExpert, tsharkFields } from '../helpers/tshark.ts';
import { payload } from '../sim/tcp-helpers.ts';

const SKIP = cliInteropSkipReason(['curl', 'nc', 'sha256sum', 'python3']);
if (SKIP !== undefined)
  console.warn(`\n!!! SKIPPING the TCP over IPv6 interop tests against Linux: ${SKIP} !!!\n`);

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function bytesDigest(n: number): string {
  const h = createHash('sha256');
  const next = bytesSource(n);
  for (let b = next(); b; b = next()) h.update(b);
  return h.digest('hex');
}

interface Ready {
  event: 'ready';
  interfaces: Array<{ name: string; mac: string; ipv6: string[] }>;
}

describe('TCP over IPv6 between the stack and Linux (curl -6, nc -6)', { skip: SKIP }, () => {
  const TAP = 'tap0';
  const STACK = '2001:db8:66::2';
  const STACK4 = '10.246.0.2';
  let netns: NetnsHarness;
  let runner: NetstackRunner;
  let ns: string;
  let dir: string;
  let pcap: string;
  let up: NetstackProcess;
  let ready: Ready;

  before(async () => {
    netns = new NetnsHarness();
    runner = new NetstackRunner();
    dir = mkdtempSync(join(tmpdir(), 'netstack-tcp6-'));
    pcap = join(dir, 'up.pcap');
    ns = await netns.createNamespace();
    // No DAD on the kernel's side: its addresses are usable at once.
    await netns.exec(ns, 'sysctl', [
      '-qw',
      'net.ipv6.conf.all.accept_dad=0',
      'net.ipv6.conf.default.accept_dad=0',
    ]);
    up = runner.start(ns, [
      'up',
      '--tap',
      TAP,
      '--ipv4',
      `${STACK4}/24`,
      '--ipv6',
      `${STACK}/64`,
      '--serve',
      'echo,http',
      '--pcap',
      pcap,
      '--json',
    ]);
    await up.ready();
    ready = up.events().find((e) => e.event === 'ready') as unknown as Ready;
    await netns.exec(ns, 'ip', ['-6', 'addr', 'add', '2001:db8:66::1/64', 'dev', TAP, 'nodad']);
    await netns.exec(ns, 'ip', ['addr', 'add', '10.246.0.1/24', 'dev', TAP]);
  });

  after(async () => {
    await runner?.cleanup();
    await netns?.cleanup();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const sh = (command: string, timeout = 90_000) => netns.exec(ns, 'sh', ['-c', command], { timeout });

  function file(name: string, data: Uint8Array): string {
    const path = join(dir, name);
    writeFileSync(path, data);
    return path;
  }

  test('curl -6 downloads 4 MiB from the global address: the SHA-256 of what the generator makes', async () => {
    const size = 4 << 20;
    const { stdout } = await sh(
      `curl -6 -sS --fail --max-time 80 http://[${STACK}]/bytes/${size} | sha256sum`,
    );
    assert.equal(stdout.split(' ')[0], bytesDigest(size));
  });

  test('curl -6 to the link-local address with the interface as scope (%tap0)', async () => {
    const linkLocal = ready.interfaces[0]!.ipv6.find((a) => a.startsWith('fe80'))!.split('/')[0]!;
    const size = 1 << 20;
    const { stdout } = await sh(
      `curl -6 -g -sS --fail --max-time 80 'http://[${linkLocal}%25${TAP}]/bytes/${size}' | sha256sum`,
    );
    assert.equal(stdout.split(' ')[0], bytesDigest(size));
    const { stdout: ss } = await sh(
      `nc -6 -N ${linkLocal}%${TAP} 7 < ${file('ll.bin', payload(100_000, 6))} | sha256sum`,
    );
    assert.equal(ss.split(' ')[0], sha(payload(100_000, 6)));
  });

  test('nc -6 to the echo service: 3 MB come back whole, then both sides close', async () => {
    const data = payload(3_000_000, 7);
    const { stdout } = await sh(`nc -6 -N ${STACK} 7 < ${file('echo6.bin', data)} | sha256sum`);
    assert.equal(stdout.split(' ')[0], sha(data));
  });

  test('the same dual-stack listener serves an IPv4 client', async () => {
    const data = payload(1_000_000, 8);
    const { stdout } = await sh(`nc -4 -N ${STACK4} 7 < ${file('echo4.bin', data)} | sha256sum`);
    assert.equal(stdout.split(' ')[0], sha(data));
  });

  test('netstack fetch and nc -6 as clients: global and link-local (zone in the URL) to Linux servers', async () => {
    const www = join(dir, 'www');
    mkdirSync(www);
    const data = payload(2_000_000, 9);
    writeFileSync(join(www, 'data.bin'), data);
    const k = await kernelTap(netns, ns, '2001:db8:67::1/64');
    await pythonHttpServer(netns, ns, { bind: '::', port: 8000, directory: www });
    const iface = ['--tap', k, '--ipv6', '2001:db8:67::2/64'];
    const got = join(dir, 'got6.bin');
    const global = runner.start(ns, [
      'fetch',
      ...iface,
      '-q',
      '-o',
      got,
      'http://[2001:db8:67::1]:8000/data.bin',
    ]);
    assert.equal(await global.exited, 0, global.stderr);
    assert.equal(sha(readFileSync(got)), sha(data));
    // The kernel's link-local address on its TAP; the stack's device has the TAP's name (the zone).
    const { stdout: addr } = await netns.exec(ns, 'ip', [
      '-6',
      '-o',
      'addr',
      'show',
      'dev',
      k,
      'scope',
      'link',
    ]);
    const linkLocal = /inet6 (fe80::[0-9a-f:]+)\//.exec(addr)![1]!;
    const got2 = join(dir, 'got6-ll.bin');
    const url = `http://[${linkLocal}%25${k}]:8000/data.bin`;
    const local = runner.start(ns, ['fetch', ...iface, '-q', '-o', got2, url]);
    assert.equal(await local.exited, 0, local.stderr);
    assert.equal(sha(readFileSync(got2)), sha(data));
    // nc -6 as a client of a kernel nc -l: what it sends arrives whole.
    const sink = netns.spawn(ns, 'sh', ['-c', `nc -6 -l 2001:db8:67::1 9000 | sha256sum`]);
    await waitFor(
      async () => (await netns.exec(ns, 'ss', ['-ltnH', 'sport = :9000'])).stdout.includes('9000'),
      {
        timeout: 15_000,
        what: 'nc -l',
      },
    );
    const text = 'over IPv6 from netstack nc\n'.repeat(2000);
    const nc = runner.start(ns, ['nc', ...iface, '2001:db8:67::1', '9000'], { stdin: true });
    nc.write(text);
    nc.child.stdin!.end();
    assert.equal(await nc.exited, 0, nc.stderr);
    await waitFor(() => /^[0-9a-f]{64}/.test(sink.stdout), {
      timeout: 15_000,
      what: 'the kernel nc to finish',
    });
    assert.equal(sink.stdout.split(' ')[0], sha(Buffer.from(text)));
  });

  test('every TCP segment the stack sent over IPv6 dissects cleanly in tshark', async () => {
    // The capture is complete once the stack has exited (SIGTERM: it flushes and exits).
    await runner.stop(up);
    if (!tsharkAvailable()) return;
    const select = ['-Y', `(${sentBy([ready.interfaces[0]!.mac])}) && ipv6 && tcp`];
    const sent = tsharkFields(pcap, ['frame.number'], select).length;
    assert.ok(sent >= 500, `only ${sent} TCP/IPv6 frames from the stack`);
    // Nothing malformed, no checksum error; Wireshark's "D-SACK Sequence" is an analysis warning
    // about RFC 2883 D-SACK blocks, which the stack sends on purpose for data received twice.
    const problems = tsharkExpert(pcap, select).filter(
      (e) => (e.severity === 'error' || e.severity === 'warning') && e.message !== 'D-SACK Sequence',
    );
    assert.deepEqual(problems.slice(0, 10), [], `${problems.length} tshark complaints`);
  });
});
