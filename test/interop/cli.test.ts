/**
 * Interop: the `netstack` command on real TAP devices in a network namespace. `up --json` with the
 * UDP echo and discard services against kernel sockets, including a burst of 10,000 datagrams whose
 * every datagram is accounted for (echoed, or counted as dropped by the stack or the kernel);
 * `nc -u` in both directions and as a listener; device errors as one line and a non-zero exit.
 *
 * Needs Linux, root, /dev/net/tun and the native addon; skipped with a loud warning otherwise.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NetnsHarness, waitFor } from '../helpers/netns.ts';
import {
  cliInteropSkipReason,
  disableIpv6,
  kernelTap,
  kernelUdpCounters,
  linkStats,
  type NetstackProcess,
  NetstackRunner,
} from '../helpers/netstack-cli.ts';
import { assertCleanCapture, sentBy } from '../helpers/stack-capture.ts';

const SKIP = cliInteropSkipReason();
if (SKIP !== undefined) console.warn(`\n!!! SKIPPING the netstack command interop tests: ${SKIP} !!!\n`);

interface ReadyEvent {
  event: 'ready';
  interfaces: Array<{ name: string; kind: string; mac: string; mtu: number; ipv4: string[] }>;
  services: Array<{ name: string; transport: string; port: number }>;
}

interface CountersEvent {
  event: 'counters';
  counters: Record<string, number>;
  devices: Array<{ name: string; rxFrames: number; rxOversized: number; txFrames: number; txDrops: number }>;
}

/**
 * A kernel UDP peer: from `from`, sends each [port, text] to `addr` in order, prints "sent", then each
 * reply, and exits after `replies` replies.
 */
function udpAskScript(
  from: string,
  addr: string,
  messages: Array<[number, string]>,
  replies: number,
): string {
  return `const s = require('node:dgram').createSocket('udp4');
let n = 0;
s.on('message', (m) => { console.log('reply ' + m.toString()); if (++n === ${replies}) s.close(); });
s.bind(0, '${from}', () => {
  for (const [port, text] of ${JSON.stringify(messages)}) s.send(text, port, '${addr}');
  console.log('sent');
});`;
}

/**
 * Sends `count` datagrams of `size` bytes to addr:port as fast as Node can, counts the replies, and
 * prints the figures as JSON once no reply has come for a second after the last send.
 */
function udpBurstScript(from: string, addr: string, port: number, count: number, size: number): string {
  return `const s = require('node:dgram').createSocket('udp4');
const payload = Buffer.alloc(${size}, 0x61);
let sent = 0, errors = 0, received = 0, bad = 0, last = Date.now();
s.on('message', (m) => { received++; if (!m.equals(payload)) bad++; last = Date.now(); });
s.bind(0, '${from}', () => {
  for (let i = 0; i < ${count}; i++) s.send(payload, ${port}, '${addr}', (e) => {
    if (e) errors++; else sent++;
    if (sent + errors < ${count}) return;
    last = Date.now();
    const t = setInterval(() => {
      if (Date.now() - last < 1000) return;
      clearInterval(t);
      console.log(JSON.stringify({ sent, errors, received, bad }));
      s.close();
    }, 50);
  });
});`;
}

/** A kernel UDP server on addr:port that answers each datagram with its text in upper case. */
function udpUpperServerScript(addr: string, port: number): string {
  return `const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => {
  console.log('got ' + m.toString().trim() + ' from ' + r.address);
  s.send(Buffer.from(m.toString().toUpperCase()), r.port, r.address);
});
s.bind(${port}, '${addr}', () => console.log('ready'));`;
}

describe('the netstack command on TAP devices', { skip: SKIP }, () => {
  let netns: NetnsHarness;
  let runner: NetstackRunner;
  let ns: string;
  let dir: string;

  before(async () => {
    netns = new NetnsHarness();
    runner = new NetstackRunner();
    dir = mkdtempSync(join(tmpdir(), 'netstack-cli-'));
    ns = await netns.createNamespace();
    await disableIpv6(netns, ns);
  });

  after(async () => {
    await runner?.cleanup();
    await netns?.cleanup();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** Starts `up --json` on a new TAP with `stack` and gives the kernel side `kernel`. */
  async function startUp(stack: string, kernel: string, extra: string[] = []) {
    const tap = netns.uniqueName('t');
    const pcap = join(dir, `${tap}.pcap`);
    const up = runner.start(ns, ['up', '--json', '--tap', tap, '--ipv4', stack, '--pcap', pcap, ...extra]);
    await up.ready();
    await netns.exec(ns, 'ip', ['addr', 'add', kernel, 'dev', tap]);
    const ready = up.events().find((e) => e.event === 'ready') as unknown as ReadyEvent;
    return { up, tap, pcap, ready };
  }

  async function stopWithCounters(up: NetstackProcess): Promise<CountersEvent> {
    assert.equal(await runner.stop(up), 0, up.stderr);
    const events = up.events();
    assert.deepEqual(
      events.map((e) => e.event),
      ['ready', 'stopping', 'counters'],
    );
    assert.equal(up.stderr, '');
    return events[2] as unknown as CountersEvent;
  }

  test('up --json: echo answers, discard does not; counters at SIGTERM; a clean capture', async () => {
    const { up, pcap, ready } = await startUp('10.204.0.2/24', '10.204.0.1/24', ['--serve', 'echo,discard']);
    assert.equal(ready.interfaces.length, 1);
    assert.deepEqual(ready.interfaces[0]!.ipv4, ['10.204.0.2/24']);
    assert.equal(ready.interfaces[0]!.kind, 'tap');
    assert.deepEqual(
      ready.services.map((s) => `${s.name} ${s.transport}/${s.port}`),
      ['echo udp/7', 'echo tcp/7', 'discard udp/9', 'discard tcp/9'],
    );
    // Discard first: when the echo of the next datagram comes back, the stack has seen both.
    const peer = netns.spawn(ns, process.execPath, [
      '-e',
      udpAskScript(
        '10.204.0.1',
        '10.204.0.2',
        [
          [9, 'into the void'],
          [7, 'hello'],
        ],
        1,
      ),
    ]);
    assert.equal(await peer.exited, 0, peer.stderr);
    assert.match(peer.stdout, /^reply hello$/m);
    assert.doesNotMatch(peer.stdout, /void/);
    const c = await stopWithCounters(up);
    assert.equal(c.counters['services.echo.udp.rx'], 1);
    assert.equal(c.counters['services.echo.udp.tx'], 1);
    assert.equal(c.counters['services.discard.udp.rx'], 1);
    assert.equal(c.counters['services.discard.udp.tx'], undefined);
    assert.equal(c.devices[0]!.rxOversized, 0);
    assertCleanCapture(pcap, sentBy([ready.interfaces[0]!.mac]), { atLeast: 2 });
  });

  test('a burst of 10,000 datagrams to echo: each one echoed or counted as dropped', async () => {
    const total = 10_000;
    const { up, tap, ready } = await startUp('10.205.0.2/24', '10.205.0.1/24', ['--serve', 'echo']);
    // No ARP from the kernel during the burst: every frame it sends the stack is a datagram.
    await netns.exec(ns, 'ip', [
      'neigh',
      'replace',
      '10.205.0.2',
      'lladdr',
      ready.interfaces[0]!.mac,
      'dev',
      tap,
    ]);
    // One echo first, so the stack knows the kernel's MAC: no ARP either way during the burst.
    const warmup = netns.spawn(ns, process.execPath, [
      '-e',
      udpAskScript('10.205.0.1', '10.205.0.2', [[7, 'warm']], 1),
    ]);
    assert.equal(await warmup.exited, 0, warmup.stderr);
    const link0 = await linkStats(netns, ns, tap);
    const udp0 = await kernelUdpCounters(netns, ns);
    // 1000-byte datagrams: a batch of 256 frames is more than the socket's 208 KiB receive queue.
    const peer = netns.spawn(ns, process.execPath, [
      '-e',
      udpBurstScript('10.205.0.1', '10.205.0.2', 7, total, 1000),
    ]);
    assert.equal(await peer.exited, 0, peer.stderr);
    const p = JSON.parse(peer.stdout) as { sent: number; errors: number; received: number; bad: number };
    const link1 = await linkStats(netns, ns, tap);
    const udp1 = await kernelUdpCounters(netns, ns);
    const c = await stopWithCounters(up);
    const n = (name: string) => c.counters[name] ?? 0;
    const device = c.devices[0]!;
    const kernelDropped = link1.tx.dropped - link0.tx.dropped;
    const kernelRcvbuf = udp1.RcvbufErrors! - udp0.RcvbufErrors!;
    const kernelDelivered = udp1.InDatagrams! - udp0.InDatagrams!;
    console.log(
      `udp echo burst: peer sent ${p.sent}, kernel dropped ${kernelDropped} at the TAP; stack got ${n('udp.rx.datagrams')}, ` +
        `socket admitted ${n('udp.rx.delivered')}, dropped ${n('udp.rx.drop.rcvbuf-full')} (queue full); echoed ` +
        `${n('services.echo.udp.tx')}; device tx drops ${device.txDrops}; peer received ${p.received}, ` +
        `kernel socket dropped ${kernelRcvbuf}`,
    );
    assert.equal(p.sent, total);
    assert.equal(p.bad, 0, 'every echo carries the datagram sent');
    // Kernel to stack: each datagram reached UDP in the stack or was dropped at the TAP's queue.
    assert.equal(n('udp.rx.datagrams') - 1 + kernelDropped, total, JSON.stringify(c));
    assert.equal(device.rxOversized, 0);
    // In the stack: admitted by the socket, or counted as dropped because its queue was full.
    assert.equal(n('udp.rx.delivered') + n('udp.rx.drop.rcvbuf-full'), n('udp.rx.datagrams'));
    // Everything the socket admitted was echoed.
    assert.equal(n('services.echo.udp.rx'), n('udp.rx.delivered'));
    assert.equal(n('services.echo.udp.tx'), n('udp.rx.delivered'));
    assert.equal(n('udp.tx.datagrams'), n('services.echo.udp.tx'));
    // Stack to kernel: each echo reached the peer's socket or was counted as dropped on the way.
    const reachedKernelUdp = kernelDelivered + kernelRcvbuf;
    const lostAtTap = device.txDrops + (link1.rx.dropped - link0.rx.dropped);
    assert.equal(reachedKernelUdp + lostAtTap, n('services.echo.udp.tx') - 1, JSON.stringify(c));
    assert.equal(p.received, kernelDelivered);
    assert.ok(p.received > 0, 'no echo came back');
  });

  test('nc -u HOST PORT: standard input to the kernel, its reply to standard output', async () => {
    const dev = await kernelTap(netns, ns, '10.206.0.1/24');
    const server = netns.spawn(ns, process.execPath, ['-e', udpUpperServerScript('10.206.0.1', 5000)]);
    await waitFor(() => server.stdout.includes('ready'), { what: 'the kernel UDP server' });
    const nc = runner.start(ns, ['nc', '-u', '--tap', dev, '--ipv4', '10.206.0.2/24', '10.206.0.1', '5000'], {
      stdin: true,
    });
    await nc.ready({ stream: 'stderr' });
    nc.write('hello over the stack\n');
    await waitFor(() => server.stdout.includes('got hello over the stack from 10.206.0.2'), {
      what: `the kernel to receive the datagram (${server.stdout})`,
    });
    await waitFor(() => nc.stdout === 'HELLO OVER THE STACK\n', {
      what: `the reply on nc's standard output (${JSON.stringify(nc.stdout)})`,
    });
    assert.equal(await runner.stop(nc), 0, nc.stderr);
    server.kill();
  });

  test('nc -u -l PORT: prints what a peer sends, standard input goes back to the last peer', async () => {
    const dev = await kernelTap(netns, ns, '10.207.0.1/24');
    const nc = runner.start(ns, ['nc', '-u', '-l', '--tap', dev, '--ipv4', '10.207.0.2/24', '6000'], {
      stdin: true,
    });
    await nc.ready({ stream: 'stderr' });
    // Written before any peer: held until one is known.
    nc.write('first answer\n');
    const first = netns.spawn(ns, process.execPath, [
      '-e',
      udpAskScript('10.207.0.1', '10.207.0.2', [[6000, 'one\n']], 1),
    ]);
    await waitFor(() => first.stdout.includes('reply first answer'), {
      what: `the held answer (${first.stdout})`,
    });
    assert.equal(await first.exited, 0);
    const second = netns.spawn(ns, process.execPath, [
      '-e',
      udpAskScript('10.207.0.1', '10.207.0.2', [[6000, 'two\n']], 1),
    ]);
    await waitFor(() => nc.stdout === 'one\ntwo\n', {
      what: `both datagrams on stdout (${JSON.stringify(nc.stdout)})`,
    });
    nc.write('second answer\n');
    await waitFor(() => second.stdout.includes('reply second answer'), {
      what: 'the answer to the last peer',
    });
    assert.equal(await second.exited, 0);
    assert.equal(await runner.stop(nc), 0, nc.stderr);
  });

  test('a device another process holds, or that is no TAP: one line and exit 1', async () => {
    const { up, tap } = await startUp('10.208.0.2/24', '10.208.0.1/24');
    const busy = runner.start(ns, ['up', '--tap', tap]);
    assert.equal(await busy.exited, 1);
    assert.match(busy.stderr, /^netstack up: cannot open TAP device \S+: .*EBUSY.*\n$/);
    const notTap = runner.start(ns, ['ping', '--tap', 'lo', '--ipv4', '10.9.0.2/24', '10.9.0.1']);
    assert.equal(await notTap.exited, 1);
    assert.match(notTap.stderr, /^netstack ping: cannot open TAP device lo: [^\n]*\n$/);
    await stopWithCounters(up);
  });
});
