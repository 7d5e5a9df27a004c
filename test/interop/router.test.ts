/**
 * Interop: the stack as a router. `netstack up --forward` runs in a namespace of its own with two
 * TAPs, each moved into another namespace (`ip link set DEV netns NS`; the descriptor keeps
 * working), where the kernel gets an address and a route through the stack:
 *
 *   ns A: 10.210.1.1/24 --tap ra-- [stack 10.210.1.2 | 10.210.2.2] --tap rb-- 10.210.2.1/24 :ns B
 *
 * The kernel in A pings the kernel in B through it (small and fragmented), and tracepath shows the
 * stack's hop (its ICMP time exceeded). Every frame the stack sent dissects cleanly in tshark.
 *
 * Needs Linux, root, /dev/net/tun, the native addon, ping and tracepath; skipped loudly otherwise.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { interopWorld } from '../helpers/interop-world.ts';
import {
  cliInteropSkipReason,
  disableIpv6,
  type NetstackProcess,
  readyMacs,
} from '../helpers/netstack-cli.ts';
import { assertCleanCapture, sentBy } from '../helpers/stack-capture.ts';

const SKIP = cliInteropSkipReason(['ping', 'tracepath']);
if (SKIP !== undefined) console.warn(`\n!!! SKIPPING the router interop tests: ${SKIP} !!!\n`);

describe('the stack as a router between two namespaces', { skip: SKIP }, () => {
  const { netns, runner, dir } = interopWorld('router');
  const pcap = join(dir, 'router.pcap');
  let up: NetstackProcess;
  let a: string;

  before(async () => {
    const router = await netns.createNamespace();
    a = await netns.createNamespace();
    const b = await netns.createNamespace();
    for (const ns of [router, a, b]) await disableIpv6(netns, ns);
    const ra = netns.uniqueName('a');
    const rb = netns.uniqueName('b');
    up = runner.start(router, [
      'up',
      '--tap',
      ra,
      '--ipv4',
      '10.210.1.2/24',
      '--tap',
      rb,
      '--ipv4',
      '10.210.2.2/24',
      '--forward',
      '--pcap',
      pcap,
    ]);
    await up.ready();
    // Each TAP goes to its host's namespace, which routes the other subnet through the stack.
    for (const [ns, dev, own, other, via] of [
      [a, ra, '10.210.1.1/24', '10.210.2.0/24', '10.210.1.2'],
      [b, rb, '10.210.2.1/24', '10.210.1.0/24', '10.210.2.2'],
    ] as const) {
      await netns.exec(router, 'ip', ['link', 'set', dev, 'netns', ns]);
      await netns.exec(ns, 'ip', ['addr', 'add', own, 'dev', dev]);
      await netns.exec(ns, 'ip', ['link', 'set', dev, 'up']);
      await netns.exec(ns, 'ip', ['route', 'add', other, 'via', via]);
    }
  });

  test('up with two TAPs and --forward says so', () => {
    assert.match(up.stdout, /^ready 10\.210\.1\.2\/24 10\.210\.2\.2\/24$/m);
    assert.match(up.stdout, /^ {2}forwarding IPv4 between the interfaces$/m);
    assert.equal(readyMacs(up.stdout).length, 2);
  });

  test('ping from A to B through the stack: no loss, one hop taken off the TTL', async () => {
    const { stdout } = await netns.exec(a, 'ping', ['-c', '50', '-i', '0.01', '-W', '2', '10.210.2.1'], {
      timeout: 30_000,
    });
    assert.match(stdout, /50 packets transmitted, 50 received, 0% packet loss/, stdout);
    assert.equal(stdout.match(/^64 bytes from 10\.210\.2\.1: icmp_seq=\d+ ttl=63 /gm)?.length, 50, stdout);
  });

  test('ping -s 4000 from A to B: fragments forwarded both ways', async () => {
    const { stdout } = await netns.exec(
      a,
      'ping',
      ['-c', '3', '-i', '0.2', '-W', '5', '-s', '4000', '10.210.2.1'],
      {
        timeout: 30_000,
      },
    );
    assert.match(stdout, /3 packets transmitted, 3 received, 0% packet loss/, stdout);
    assert.doesNotMatch(stdout, /wrong|DUP|truncated/, stdout);
  });

  test('tracepath -n from A shows the stack as the first hop', async () => {
    const { stdout } = await netns.exec(a, 'tracepath', ['-n', '-m', '5', '10.210.2.1'], { timeout: 30_000 });
    assert.match(stdout, /^\s*1:\s+10\.210\.1\.2\s/m, stdout);
    assert.match(stdout, /^\s*2:\s+10\.210\.2\.1\s.*reached/m, stdout);
  });

  test('SIGTERM: exit 0 with the forwarding counters; every frame the stack sent dissects cleanly', async () => {
    assert.equal(await runner.stop(up), 0, up.stderr);
    const forwarded = Number(up.stdout.match(/^ {2}ipv4\.forwarded +(\d+)$/m)?.[1] ?? 0);
    // 50 + 3 requests and their replies (the large ones in fragments), and tracepath's probes.
    assert.ok(forwarded >= 2 * 53, up.stdout);
    // tracepath's first probes ran out of TTL here: ICMP time exceeded (type 11, code 0).
    assert.match(up.stdout, /^ {2}icmpv4\.tx\.type-11-code-0 +[1-9]\d*$/m, up.stdout);
    assertCleanCapture(pcap, sentBy(readyMacs(up.stdout)), { atLeast: 2 * 53 });
  });
});
