/**
 * Interop: the IPv6 stack, run as `netstack up` / `netstack ping` on TAP devices in network
 * namespaces, against the Linux kernel and its tools:
 *
 * - the stack advertises a prefix (`--advertise`): the kernel does SLAAC from it and routes through
 *   it; `ping -6` to the stack's link-local (with `%tap`) and global addresses, also `-s 4000`
 *   (fragments both ways); `ndisc6` and `rdisc6` answered; `netstack ping` to the kernel;
 * - the stack does SLAAC (`--slaac`) from radvd's advertisements: a global address and a default
 *   route;
 * - the stack as a router between two namespaces (`--forward`, both sides doing SLAAC from it):
 *   ping -6 across and `tracepath -6 -n` showing the stack's hop.
 *
 * Every frame the stack sent is captured (`--pcap`) and must dissect cleanly in tshark. The
 * kernel's DAD is turned off where it only slows the test (`accept_dad=0`); its addresses are
 * polled with `ip -6 addr`, never waited for by sleeping.
 *
 * Needs Linux, root, /dev/net/tun, the native addon, iproute2, ping, tracepath, ndisc6, rdisc6 and
 * radvd; skipped loudly otherwise (CI installs them).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { interopWorld, kernelIpv6Addrs } from '../helpers/interop-world.ts';
import { type NetnsHarness, waitFor } from '../helpers/netns.ts';
import { cliInteropSkipReason, type NetstackProcess } from '../helpers/netstack-cli.ts';
import { assertCleanCapture, sentBy } from '../helpers/stack-capture.ts';

const SKIP = cliInteropSkipReason(['ping', 'tracepath', 'ndisc6', 'rdisc6', 'radvd']);
if (SKIP !== undefined) console.warn(`\n!!! SKIPPING the IPv6 interop tests against Linux: ${SKIP} !!!\n`);

interface Ready {
  event: 'ready';
  interfaces: Array<{ name: string; mac: string; ipv6: string[] }>;
  advertising?: Array<{ interface: string; prefix: string }>;
  ipv6Routers?: string[];
}

/** Polls until the kernel has a settled (not tentative) global address under `prefix` on `dev`. */
function kernelSlaacAddress(netns: NetnsHarness, ns: string, dev: string, prefix: string): Promise<string> {
  return waitFor(
    async () =>
      (await kernelIpv6Addrs(netns, ns, dev)).find(
        (a) => a.scope === 'global' && a.local.startsWith(prefix) && a.tentative !== true,
      )?.local,
    { timeout: 20_000, interval: 50, what: `a SLAAC address in ${prefix}/64 on ${dev}` },
  );
}

/** Kernel sysctls of `ns` for quick tests: no DAD, accept advertisements even when forwarding. */
async function quickIpv6(netns: NetnsHarness, ns: string, forwarding = false): Promise<void> {
  const args = ['-qw'];
  for (const conf of ['all', 'default']) {
    args.push(`net.ipv6.conf.${conf}.accept_dad=0`, `net.ipv6.conf.${conf}.accept_ra=2`);
    args.push(`net.ipv6.conf.${conf}.forwarding=${forwarding ? 1 : 0}`);
  }
  await netns.exec(ns, 'sysctl', args);
}

function readyOf(p: NetstackProcess): Ready {
  const ready = p.events().find((e) => e.event === 'ready');
  assert.ok(ready !== undefined, p.stdout);
  return ready as unknown as Ready;
}

function countersOf(p: NetstackProcess): Record<string, number> {
  const e = p.events().find((x) => x.event === 'counters');
  assert.ok(e !== undefined, p.stdout);
  return e.counters as Record<string, number>;
}

describe('the IPv6 stack (netstack up --advertise) against the Linux kernel', { skip: SKIP }, () => {
  const TAP = 'tap0';
  const STACK = '2001:db8:61::2';
  const { netns, runner, dir } = interopWorld('ipv6-linux');
  const pcap = join(dir, 'up.pcap');
  let ns: string;
  let up: NetstackProcess;
  let linkLocal: string;
  let kernelGlobal: string;

  before(async () => {
    ns = await netns.createNamespace();
    await quickIpv6(netns, ns);
    up = runner.start(ns, [
      'up',
      '--tap',
      TAP,
      '--ipv4',
      '10.206.0.2/24',
      '--ipv6',
      `${STACK}/64`,
      '--advertise',
      '2001:db8:61::/64',
      '--pcap',
      pcap,
      '--json',
    ]);
    await up.ready();
    linkLocal = readyOf(up).interfaces[0]!.ipv6[0]!.split('/')[0]!;
    // The kernel solicits when the TAP comes up and configures itself from the answer.
    kernelGlobal = await kernelSlaacAddress(netns, ns, TAP, '2001:db8:61:');
  });

  test('ready lists the link-local and the global address once DAD is done, and the prefix advertised', () => {
    const ready = readyOf(up);
    assert.match(ready.interfaces[0]!.ipv6[0]!, /^fe80::[0-9a-f:]+\/64$/);
    assert.deepEqual(ready.interfaces[0]!.ipv6.slice(1), [`${STACK}/64`]);
    assert.deepEqual(ready.advertising, [{ interface: TAP, prefix: '2001:db8:61::/64' }]);
  });

  test('Linux does SLAAC from the stack: an address in the prefix and a default route via the stack', async () => {
    assert.match(kernelGlobal, /^2001:db8:61:0?:/);
    const { stdout } = await netns.exec(ns, 'ip', ['-6', 'route', 'show', 'default']);
    assert.match(stdout, new RegExp(`^default via ${linkLocal} dev ${TAP} proto ra `, 'm'), stdout);
  });

  test('ping -6 to the link-local address with its zone: no loss', async () => {
    const { stdout } = await netns.exec(
      ns,
      'ping',
      ['-6', '-c', '50', '-i', '0.01', '-W', '2', `${linkLocal}%${TAP}`],
      {
        timeout: 30_000,
      },
    );
    assert.match(stdout, /50 packets transmitted, 50 received, 0% packet loss/, stdout);
    assert.equal(
      stdout.match(/^64 bytes from fe80::[0-9a-f:]+%tap0: icmp_seq=\d+ ttl=64 /gm)?.length,
      50,
      stdout,
    );
  });

  test('ping -6 to the global address, from the kernel SLAAC address: no loss', async () => {
    const { stdout } = await netns.exec(
      ns,
      'ping',
      ['-6', '-c', '50', '-i', '0.01', '-W', '2', '-I', kernelGlobal, STACK],
      {
        timeout: 30_000,
      },
    );
    assert.match(stdout, /50 packets transmitted, 50 received, 0% packet loss/, stdout);
  });

  for (const target of ['link-local', 'global'] as const) {
    test(`ping -6 -s 4000 to the ${target} address: fragmented both ways, every reply correct`, async () => {
      const dst = target === 'global' ? STACK : `${linkLocal}%${TAP}`;
      const { stdout } = await netns.exec(
        ns,
        'ping',
        ['-6', '-c', '3', '-i', '0.2', '-W', '5', '-s', '4000', dst],
        {
          timeout: 30_000,
        },
      );
      assert.match(stdout, /3 packets transmitted, 3 received, 0% packet loss/, stdout);
      assert.doesNotMatch(stdout, /wrong|DUP|truncated/, stdout);
      assert.equal(stdout.match(/^4008 bytes from /gm)?.length, 3, stdout);
    });
  }

  test('ndisc6 resolves both addresses to the stack MAC', async () => {
    const mac = readyOf(up).interfaces[0]!.mac.toUpperCase();
    for (const addr of [STACK, linkLocal]) {
      const { stdout } = await netns.exec(ns, 'ndisc6', ['-1', '-n', '-r', '3', addr, TAP], {
        timeout: 15_000,
      });
      assert.match(stdout, new RegExp(`Target link-layer address: ${mac}`), stdout);
      assert.match(stdout, new RegExp(`from ${addr}`), stdout);
    }
  });

  test('rdisc6 gets an answer from the stack: the prefix, on-link and autonomous', async () => {
    const { stdout } = await netns.exec(ns, 'rdisc6', ['-1', '-n', '-r', '3', TAP], { timeout: 15_000 });
    assert.match(stdout, /Prefix\s+:\s+2001:db8:61::\/64/, stdout);
    assert.match(stdout, /On-link\s+:\s+Yes/, stdout);
    assert.match(stdout, /Autonomous address conf\.:\s+Yes/, stdout);
    assert.match(stdout, new RegExp(`from ${linkLocal}`), stdout);
  });

  test('netstack ping -6 to the kernel: link-local with %zone and global, no loss', async () => {
    // A TAP the kernel side made first, with fixed addresses (no DAD): ready once ping attaches.
    const dev = netns.uniqueName('k');
    await netns.exec(ns, 'ip', ['tuntap', 'add', 'dev', dev, 'mode', 'tap']);
    await netns.exec(ns, 'ip', ['addr', 'add', 'fe80::1/64', 'dev', dev, 'nodad']);
    await netns.exec(ns, 'ip', ['addr', 'add', '2001:db8:63::1/64', 'dev', dev, 'nodad']);
    await netns.exec(ns, 'ip', ['link', 'set', dev, 'up']);
    for (const [dst, shown] of [
      [`fe80::1%${dev}`, `fe80::1%${dev}`],
      ['2001:db8:63::1', '2001:db8:63::1'],
    ] as const) {
      const pingPcap = join(dir, `ping-${dst.startsWith('fe80') ? 'll' : 'global'}.pcap`);
      const ping = runner.start(ns, [
        'ping',
        '--tap',
        dev,
        '--ipv6',
        '2001:db8:63::2/64',
        '--pcap',
        pingPcap,
        '-c',
        '100',
        '-i',
        '0.005',
        '-W',
        '5',
        dst,
      ]);
      assert.equal(await ping.exited, 0, ping.stderr + ping.stdout);
      const out = ping.stdout;
      assert.match(out, new RegExp(`^PING ${dst} \\(${shown}\\) 56 data bytes$`, 'm'), out);
      const replies = out.match(
        new RegExp(`^64 bytes from ${shown}: icmp_seq=\\d+ ttl=64 time=[0-9.]+ ms$`, 'gm'),
      );
      assert.equal(replies?.length, 100, out);
      assert.match(out, /^100 packets transmitted, 100 received, 0% packet loss, time \d+ms$/m);
      assertCleanCapture(pingPcap, 'ipv6.src == 2001:db8:63::2 || ipv6.src == fe80::/64 && icmpv6', {
        atLeast: 100,
      });
    }
  });

  test('SIGTERM: counters, exit 0; every frame the stack sent dissects cleanly', async () => {
    assert.equal(await runner.stop(up), 0, up.stderr);
    const c = countersOf(up);
    // 50 + 50 + 3 + 3 requests, all answered (the large ones reassembled, the replies fragmented).
    assert.ok((c['icmpv6.tx.echo-replies'] ?? 0) >= 106, JSON.stringify(c));
    assert.ok((c['ipv6.rx.reassembled'] ?? 0) >= 6, JSON.stringify(c));
    assert.ok((c['ipv6.tx.fragments'] ?? 0) >= 6 * 3, JSON.stringify(c));
    assert.ok((c['ndp.rx.router-solicitations'] ?? 0) >= 2, JSON.stringify(c));
    assert.ok((c['ndp.tx.router-advertisements'] ?? 0) >= 2, JSON.stringify(c));
    assert.equal(c['ipv6.dad.conflicts'] ?? 0, 0);
    assert.equal(up.stderr, '');
    assertCleanCapture(pcap, `(${sentBy([readyOf(up).interfaces[0]!.mac])}) && ipv6`, { atLeast: 110 });
  });
});

describe('the stack does SLAAC from radvd (netstack up --slaac)', { skip: SKIP }, () => {
  const { netns, runner, dir } = interopWorld('ipv6-radvd');

  test('a global address in the advertised prefix and a default route via radvd; the kernel reaches it', async () => {
    const ns = await netns.createNamespace();
    // radvd wants forwarding on; the kernel answers on its fixed address.
    await quickIpv6(netns, ns, true);
    const dev = netns.uniqueName('r');
    await netns.exec(ns, 'ip', ['tuntap', 'add', 'dev', dev, 'mode', 'tap']);
    await netns.exec(ns, 'ip', ['addr', 'add', '2001:db8:65::1/64', 'dev', dev, 'nodad']);
    await netns.exec(ns, 'ip', ['link', 'set', dev, 'up']);
    const conf = join(dir, 'radvd.conf');
    writeFileSync(
      conf,
      `interface ${dev} {\n  AdvSendAdvert on;\n  MinRtrAdvInterval 3;\n  MaxRtrAdvInterval 4;\n` +
        `  prefix 2001:db8:65::/64 { AdvOnLink on; AdvAutonomous on; };\n};\n`,
    );
    const radvd = netns.spawn(ns, 'radvd', ['-n', '-C', conf, '-p', join(dir, 'radvd.pid'), '-m', 'stderr']);
    const pcap = join(dir, 'slaac.pcap');
    const up = runner.start(ns, ['up', '--tap', dev, '--slaac', '--pcap', pcap, '--json']);
    await up.ready();
    // In the ready event when the advertisement came before DAD ended, else in events after it.
    const found = <T>(what: string, look: () => T | undefined) =>
      waitFor(look, {
        timeout: 20_000,
        what: `${what} (netstack said ${up.stdout}; radvd said ${radvd.stderr})`,
      });
    const address = await found('a SLAAC address', () =>
      [
        ...readyOf(up).interfaces[0]!.ipv6,
        ...up
          .events()
          .filter((e) => e.event === 'ipv6-address' && e.origin === 'slaac' && e.state === 'preferred')
          .map((e) => String(e.address)),
      ].find((a) => a.startsWith('2001:db8:65:')),
    );
    const router = await found('a default router', () =>
      [
        ...(readyOf(up).ipv6Routers ?? []),
        ...up
          .events()
          .filter((e) => e.event === 'ipv6-router' && e.default === true)
          .map((e) => String(e.router)),
      ].at(0),
    );
    const kernelLl = (await kernelIpv6Addrs(netns, ns, dev)).find((a) => a.scope === 'link')!.local;
    assert.equal(router, `${kernelLl}%${dev}`);
    // The kernel reaches the stack's SLAAC address; the stack answers by its default route.
    const stackAddr = address.split('/')[0]!;
    const { stdout } = await netns.exec(ns, 'ping', ['-6', '-c', '3', '-i', '0.1', '-W', '2', stackAddr], {
      timeout: 15_000,
    });
    assert.match(stdout, /3 packets transmitted, 3 received, 0% packet loss/, stdout);
    assert.equal(await runner.stop(up), 0, up.stderr);
    const c = countersOf(up);
    assert.ok((c['ndp.rx.router-advertisements'] ?? 0) >= 1, JSON.stringify(c));
    assert.equal(c['ipv6.slaac.addresses'], 2, JSON.stringify(c)); // link-local and global
    const mac = readyOf(up).interfaces[0]!.mac;
    assertCleanCapture(pcap, `(${sentBy([mac])}) && ipv6`, { atLeast: 5 });
  });
});

describe('the stack as an IPv6 router between two namespaces (--forward, --advertise)', {
  skip: SKIP,
}, () => {
  const { netns, runner, dir } = interopWorld('ipv6-router');
  const pcap = join(dir, 'router.pcap');
  let up: NetstackProcess;
  let a: string;
  let hostB: string;

  before(async () => {
    const router = await netns.createNamespace();
    a = await netns.createNamespace();
    const b = await netns.createNamespace();
    for (const ns of [a, b]) await quickIpv6(netns, ns);
    const ra = netns.uniqueName('a');
    const rb = netns.uniqueName('b');
    up = runner.start(router, [
      'up',
      '--tap',
      ra,
      '--ipv6',
      '2001:db8:6a::2/64',
      '--advertise',
      '2001:db8:6a::/64',
      '--tap',
      rb,
      '--ipv6',
      '2001:db8:6b::2/64',
      '--advertise',
      '2001:db8:6b::/64',
      '--forward',
      '--pcap',
      pcap,
      '--json',
    ]);
    await up.ready();
    // Each TAP goes to its host's namespace (which takes its `default` sysctls), comes up there,
    // and the host configures itself from the stack's advertisements.
    for (const [ns, dev] of [
      [a, ra],
      [b, rb],
    ] as const) {
      await netns.exec(router, 'ip', ['link', 'set', dev, 'netns', ns]);
      await netns.exec(ns, 'ip', ['link', 'set', dev, 'up']);
    }
    await kernelSlaacAddress(netns, a, ra, '2001:db8:6a:');
    hostB = await kernelSlaacAddress(netns, b, rb, '2001:db8:6b:');
  });

  test('ping -6 from A to B through the stack: no loss, one hop off the hop limit; -s 4000 too', async () => {
    const small = await netns.exec(a, 'ping', ['-6', '-c', '30', '-i', '0.01', '-W', '2', hostB], {
      timeout: 30_000,
    });
    assert.match(small.stdout, /30 packets transmitted, 30 received, 0% packet loss/, small.stdout);
    assert.equal(small.stdout.match(/ icmp_seq=\d+ ttl=63 /g)?.length, 30, small.stdout);
    const big = await netns.exec(a, 'ping', ['-6', '-c', '3', '-i', '0.2', '-W', '5', '-s', '4000', hostB], {
      timeout: 30_000,
    });
    assert.match(big.stdout, /3 packets transmitted, 3 received, 0% packet loss/, big.stdout);
    assert.doesNotMatch(big.stdout, /wrong|DUP|truncated/, big.stdout);
  });

  test('tracepath -6 -n from A shows the stack as the first hop', async () => {
    const { stdout } = await netns.exec(a, 'tracepath', ['-6', '-n', '-m', '5', hostB], { timeout: 30_000 });
    assert.match(stdout, /^\s*1:\s+2001:db8:6a::2\s/m, stdout);
    assert.match(stdout, new RegExp(`^\\s*2:\\s+${hostB}\\s.*reached`, 'm'), stdout);
  });

  test('SIGTERM: exit 0 with forwarding counters; every frame the stack sent dissects cleanly', async () => {
    assert.equal(await runner.stop(up), 0, up.stderr);
    const c = countersOf(up);
    // 30 + 3 (in fragments) requests and their replies, and tracepath's probes.
    assert.ok((c['ipv6.forwarded'] ?? 0) >= 2 * 33, JSON.stringify(c));
    // tracepath's first probe ran out of hop limit here: time exceeded (type 3, code 0).
    assert.ok((c['icmpv6.tx.type-3-code-0'] ?? 0) >= 1, JSON.stringify(c));
    const macs = readyOf(up).interfaces.map((i) => i.mac);
    assertCleanCapture(pcap, `(${sentBy(macs)}) && ipv6`, { atLeast: 2 * 33 });
  });
});
