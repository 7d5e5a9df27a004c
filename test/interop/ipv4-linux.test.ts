/**
 * Interop: the IPv4 stack, run as `netstack up` on a TAP device in a network namespace, against
 * the Linux kernel of that namespace and its tools: ping (a fast run, and large pings fragmented
 * both ways), arping, and `netstack ping` towards the kernel. Every frame the stack sent is
 * captured (`--pcap`) and must dissect cleanly in tshark, checksums checked.
 *
 * Needs Linux, root, /dev/net/tun, the native addon, iproute2, ping and arping; without them the
 * tests are skipped with a loud warning (CI runs as root and installs the tools).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { interopWorld, stackOnTap } from '../helpers/interop-world.ts';
import { cliInteropSkipReason, kernelTap, type NetstackProcess, readyMacs } from '../helpers/netstack-cli.ts';
import { assertCleanCapture, sentBy } from '../helpers/stack-capture.ts';

const SKIP = cliInteropSkipReason(['ping', 'arping']);
if (SKIP !== undefined) console.warn(`\n!!! SKIPPING the IPv4 interop tests against Linux: ${SKIP} !!!\n`);

const TAP = 'tap0';
const STACK = '10.202.0.2';
const KERNEL = '10.202.0.1';

describe('the IPv4 stack (netstack up) against the Linux kernel', { skip: SKIP }, () => {
  const { netns, runner, dir } = interopWorld('ipv4-linux');
  const pcap = join(dir, 'up.pcap');
  let ns: string;
  let up: NetstackProcess;

  before(async () => {
    ({ ns, up } = await stackOnTap(
      { netns, runner },
      {
        tap: TAP,
        stack: `${STACK}/24`,
        kernel: `${KERNEL}/24`,
        args: ['--serve', 'echo,discard', '--pcap', pcap],
      },
    ));
  });

  test('the ready line names the address and the device', () => {
    assert.match(up.stdout, /^ready 10\.202\.0\.2\/24$/m);
    assert.match(up.stdout, /^ {2}tap0 tap [0-9a-f:]{17} mtu 1500 10\.202\.0\.2\/24$/m);
    assert.match(up.stdout, /^ {2}serving echo udp\/7, echo tcp\/7, discard udp\/9, discard tcp\/9$/m);
  });

  test('ping -c 1000 -i 0.002 from the kernel: no loss', async () => {
    const { stdout } = await netns.exec(ns, 'ping', ['-q', '-c', '1000', '-i', '0.002', '-W', '2', STACK], {
      timeout: 60_000,
    });
    assert.match(stdout, /1000 packets transmitted, 1000 received, 0% packet loss/, stdout);
  });

  for (const size of [4000, 65000]) {
    test(`ping -s ${size} from the kernel: fragmented both ways, every reply correct`, async () => {
      const { stdout } = await netns.exec(
        ns,
        'ping',
        ['-c', '3', '-i', '0.2', '-W', '5', '-s', String(size), STACK],
        {
          timeout: 30_000,
        },
      );
      assert.match(stdout, /3 packets transmitted, 3 received, 0% packet loss/, stdout);
      // ping checks the echoed data and prints "wrong data byte" or "(DUP!)" otherwise.
      assert.doesNotMatch(stdout, /wrong|DUP|truncated/, stdout);
      assert.equal(
        stdout.match(new RegExp(`^${size + 8} bytes from ${STACK}: icmp_seq=\\d+ ttl=64`, 'gm'))?.length,
        3,
      );
    });
  }

  test('arping -c 3 from the kernel: answered', async () => {
    const { stdout } = await netns.exec(ns, 'arping', ['-c', '3', '-i', TAP, STACK], { timeout: 30_000 });
    assert.match(stdout, /3 packets transmitted, 3 packets received/, stdout);
    const mac = readyMacs(up.stdout)[0]!;
    assert.match(stdout, new RegExp(`bytes from ${mac} \\(${STACK.replaceAll('.', '\\.')}\\)`), stdout);
  });

  test('netstack ping to the kernel: no loss, ping-shaped output', async () => {
    // A TAP the kernel side made first (persistent): the stack attaches to it, the kernel is ready.
    const dev = await kernelTap(netns, ns, '10.203.0.1/24');
    const pingPcap = join(dir, 'ping.pcap');
    const ping = runner.start(ns, [
      'ping',
      '--tap',
      dev,
      '--ipv4',
      '10.203.0.2/24',
      '--pcap',
      pingPcap,
      '-c',
      '200',
      '-i',
      '0.005',
      '-W',
      '5',
      '10.203.0.1',
    ]);
    assert.equal(await ping.exited, 0, ping.stderr);
    const out = ping.stdout;
    assert.match(out, /^PING 10\.203\.0\.1 \(10\.203\.0\.1\) 56\(84\) bytes of data\.$/m);
    const replies = out.match(/^64 bytes from 10\.203\.0\.1: icmp_seq=(\d+) ttl=64 time=[0-9.]+ ms$/gm) ?? [];
    assert.equal(replies.length, 200, out);
    assert.match(out, /^--- 10\.203\.0\.1 ping statistics ---$/m);
    assert.match(out, /^200 packets transmitted, 200 received, 0% packet loss, time \d+ms$/m);
    assert.match(out, /^rtt min\/avg\/max\/mdev = [0-9.]+\/[0-9.]+\/[0-9.]+\/[0-9.]+ ms$/m);
    // The kernel forgets the neighbor when the device loses its carrier: select the frames by address.
    assertCleanCapture(pingPcap, 'ip.src == 10.203.0.2 || arp.src.proto_ipv4 == 10.203.0.2', {
      atLeast: 200,
    });
  });

  test('SIGTERM: counters printed, exit 0, and every frame the stack sent dissects cleanly', async () => {
    assert.equal(await runner.stop(up), 0, up.stderr);
    assert.match(up.stdout, /^stopping \(SIGTERM\)$/m);
    const counter = (name: string) =>
      Number(up.stdout.match(new RegExp(`^ {2}${name.replaceAll('.', '\\.')} +(\\d+)$`, 'm'))?.[1] ?? 0);
    assert.ok(counter('icmpv4.tx.echo-replies') >= 1006, up.stdout);
    // The six large requests came in fragments and their replies left in fragments.
    assert.ok(counter('ipv4.rx.reassembled') >= 6, up.stdout);
    assert.ok(counter('ipv4.tx.fragments') >= 6 * 3, up.stdout);
    assert.match(
      up.stdout,
      /^device tap0: rx \d+ frames in \d+ batches \(0 oversized\), tx \d+ frames \(0 dropped\)$/m,
    );
    assert.equal(up.stderr, '');
    // 1000 + 3 + 3 replies (the large ones in fragments) and the ARP replies.
    assertCleanCapture(pcap, sentBy(readyMacs(up.stdout)), { atLeast: 1006 });
  });
});
