/**
 * Interop: `netstack up --slaac` on a TAP in a network namespace against dnsmasq doing router
 * advertisements and DHCPv6 on the kernel's side of the TAP:
 *
 * - stateful (a DHCPv6 range: the advertisements set M): the stack's client starts by itself,
 *   leases an address (Solicit/Advertise/Request/Reply or Rapid Commit), puts it on the device
 *   after DAD and answers `ping -6` there; the DNS server of option 23 reaches the resolver;
 * - stateless (`ra-stateless`: O set, the prefix autonomous): SLAAC gives the address and an
 *   Information-request the DNS server and search domain.
 *
 * And the other way: ISC `dhclient -6` in the namespace gets an address from `netstack up
 * --dhcp6-server START-END` and the kernel reaches the stack from it.
 *
 * Every frame the stack sent is captured and must dissect cleanly in tshark. Needs Linux, root,
 * /dev/net/tun, the native addon, iproute2, ping, dnsmasq and dhclient; skipped loudly otherwise.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { interopWorld, kernelIpv6Addrs } from '../helpers/interop-world.ts';
import type { NsProcess } from '../helpers/netns.ts';
import { waitFor } from '../helpers/netns.ts';
import { cliInteropSkipReason, type NetstackProcess } from '../helpers/netstack-cli.ts';
import { assertCleanCapture, sentBy } from '../helpers/stack-capture.ts';

const SKIP = cliInteropSkipReason(['ping', 'dnsmasq', 'dhclient']);
if (SKIP !== undefined)
  console.warn(`\n!!! SKIPPING the DHCPv6 interop tests against dnsmasq: ${SKIP} !!!\n`);

interface Lease {
  mode: string;
  addresses: Array<{ address: string; validLifetime: number | string }>;
  dnsServers: string[];
  domains: string[];
}

describe('DHCPv6 against Linux (dnsmasq, dhclient -6)', { skip: SKIP }, () => {
  const { netns, runner, dir } = interopWorld('dhcp6');

  /**
   * A namespace with a TAP whose kernel side has `${prefix}1/64`, dnsmasq serving it with `range`
   * (advertisements every few seconds, the DNS server `${prefix}53`, domain `dhcp6.test`), and
   * `netstack up --slaac` on the TAP.
   */
  async function world(prefix: string, range: string) {
    const ns = await netns.createNamespace();
    await netns.exec(ns, 'sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']);
    const dev = netns.uniqueName('d');
    await netns.exec(ns, 'ip', ['tuntap', 'add', 'dev', dev, 'mode', 'tap']);
    await netns.exec(ns, 'ip', ['addr', 'add', `${prefix}1/64`, 'dev', dev, 'nodad']);
    await netns.exec(ns, 'ip', ['link', 'set', dev, 'up']);
    const dnsmasq: NsProcess = netns.spawn(ns, 'dnsmasq', [
      '--no-daemon',
      '--conf-file=/dev/null',
      '--port=0',
      '--user=root',
      `--interface=${dev}`,
      '--bind-interfaces',
      '--enable-ra',
      `--ra-param=${dev},4`,
      `--dhcp-range=${range.replace('DEV', dev)}`,
      `--dhcp-option=option6:dns-server,[${prefix}53]`,
      '--dhcp-option=option6:domain-search,dhcp6.test',
      `--dhcp-leasefile=${join(dir, `${dev}.leases`)}`,
      `--pid-file=${join(dir, `${dev}.pid`)}`,
      '--log-dhcp',
      '--log-facility=-',
    ]);
    const pcap = join(dir, `${dev}.pcap`);
    const up = runner.start(ns, ['up', '--tap', dev, '--slaac', '--pcap', pcap, '--json']);
    await up.ready();
    return { ns, dev, dnsmasq, up, pcap };
  }

  const leaseOf = (up: NetstackProcess, dnsmasq: NsProcess, mode: string) =>
    waitFor(
      () =>
        up
          .events()
          .filter((e) => e.event === 'dhcp6-lease')
          .map((e) => e.lease as Lease)
          .find((l) => l.mode === mode),
      {
        timeout: 30_000,
        interval: 50,
        what: `a ${mode} DHCPv6 lease (netstack: ${up.stdout}; dnsmasq: ${dnsmasq.stderr})`,
      },
    );

  /** True once a usable address matching `match` was listed by the ready event or an event after it. */
  const hasAddress = (up: NetstackProcess, match: (address: string, origin: unknown) => boolean): boolean =>
    up
      .events()
      .some((e) =>
        e.event === 'ready'
          ? (e.interfaces as Array<{ ipv6: string[] }>)[0]!.ipv6.some((a) => match(a, undefined))
          : e.event === 'ipv6-address' && e.state === 'preferred' && match(String(e.address), e.origin),
      );

  /** The resolver's servers: those of the ready event, then of `dns` events. */
  const resolverServers = (up: NetstackProcess): string[] => {
    const lists = up.events().filter((e) => e.event === 'ready' || e.event === 'dns');
    return ((lists.at(-1)?.dns ?? lists.at(-1)?.servers ?? []) as string[]).slice();
  };

  test('stateful (M): a leased address that answers ping -6, and the DNS server', async () => {
    const prefix = '2001:db8:67::';
    const { ns, dnsmasq, up, pcap } = await world(prefix, `${prefix}100,${prefix}1ff,64,600`);
    const lease = await leaseOf(up, dnsmasq, 'stateful');
    assert.equal(lease.addresses.length, 1, JSON.stringify(lease));
    const address = lease.addresses[0]!.address;
    const n = BigInt(`0x${address.split(':').at(-1)}`);
    assert.ok(address.startsWith('2001:db8:67::') && n >= 0x100n && n <= 0x1ffn, address);
    assert.deepEqual(lease.dnsServers, [`${prefix}53`]);
    assert.deepEqual(lease.domains, ['dhcp6.test']);
    // The address passes DAD, then the kernel reaches it.
    await waitFor(() => hasAddress(up, (a) => a === `${address}/128`), {
      timeout: 10_000,
      what: `${address} usable (${up.stdout})`,
    });
    const { stdout } = await netns.exec(ns, 'ping', ['-6', '-c', '3', '-i', '0.1', '-W', '2', address], {
      timeout: 15_000,
    });
    assert.match(stdout, /3 packets transmitted, 3 received, 0% packet loss/, stdout);
    await waitFor(() => resolverServers(up).includes(`${prefix}53`), {
      timeout: 5000,
      what: `the DNS server in the resolver (${up.stdout})`,
    });
    assert.equal(await runner.stop(up), 0, up.stderr);
    // Release on stop: dnsmasq logs it.
    await waitFor(() => /DHCPRELEASE/.test(dnsmasq.stdout + dnsmasq.stderr), {
      timeout: 5000,
      what: `dnsmasq to log the Release (${dnsmasq.stderr})`,
    });
    const ready = up.events().find((e) => e.event === 'ready') as { interfaces: Array<{ mac: string }> };
    assertCleanCapture(pcap, `(${sentBy([ready.interfaces[0]!.mac])}) && ipv6`, { atLeast: 5 });
  });

  test('stateless (O): SLAAC for the address, an Information-request for the DNS server', async () => {
    const prefix = '2001:db8:68::';
    const { dnsmasq, up } = await world(prefix, '::,constructor:DEV,ra-stateless');
    const lease = await leaseOf(up, dnsmasq, 'stateless');
    assert.deepEqual(lease.addresses, []);
    assert.deepEqual(lease.dnsServers, [`${prefix}53`]);
    assert.deepEqual(lease.domains, ['dhcp6.test']);
    await waitFor(
      () =>
        hasAddress(
          up,
          (a, origin) => a.startsWith('2001:db8:68:') && a.endsWith('/64') && origin !== 'dhcp6',
        ),
      { timeout: 20_000, what: `a SLAAC address (${up.stdout})` },
    );
    await waitFor(() => resolverServers(up).includes(`${prefix}53`), {
      timeout: 5000,
      what: `the DNS server in the resolver (${up.stdout})`,
    });
    assert.equal(await runner.stop(up), 0, up.stderr);
  });

  test('dhclient -6 leases an address from netstack up --dhcp6-server and reaches the stack from it', async () => {
    const ns = await netns.createNamespace();
    const dev = netns.uniqueName('c');
    await netns.exec(ns, 'ip', ['tuntap', 'add', 'dev', dev, 'mode', 'tap']);
    // No DAD on the kernel's side: dhclient needs a usable link-local address to solicit from.
    await netns.exec(ns, 'sysctl', ['-qw', `net.ipv6.conf.${dev}.accept_dad=0`]);
    await netns.exec(ns, 'ip', ['link', 'set', dev, 'up']);
    const pcap = join(dir, `${dev}.pcap`);
    const up = runner.start(ns, [
      'up',
      '--tap',
      dev,
      '--ipv6',
      '2001:db8:69::2/64',
      '--dhcp6-server',
      '2001:db8:69::100-2001:db8:69::1ff',
      '--pcap',
      pcap,
      '--json',
    ]);
    await up.ready();
    const ready = up.events().find((e) => e.event === 'ready') as {
      interfaces: Array<{ mac: string }>;
      dhcp6?: { server?: { interface: string; range: string } };
    };
    assert.deepEqual(ready.dhcp6?.server, { interface: dev, range: '2001:db8:69::100-2001:db8:69::1ff' });
    const dhclient = netns.spawn(ns, 'dhclient', [
      '-6',
      '-d',
      '-v',
      '-1',
      '-lf',
      join(dir, `${dev}.leases`),
      '-pf',
      join(dir, `${dev}.pid`),
      dev,
    ]);
    const leased = await waitFor(
      async () =>
        (await kernelIpv6Addrs(netns, ns, dev, 'global')).find((a) => a.local.startsWith('2001:db8:69::'))
          ?.local,
      {
        timeout: 30_000,
        interval: 100,
        what: `dhclient's address (dhclient: ${dhclient.stderr}; netstack: ${up.stdout})`,
      },
    );
    const n = BigInt(`0x${leased.split(':').at(-1)}`);
    assert.ok(n >= 0x100n && n <= 0x1ffn, leased);
    // dhclient-script adds the address as a /128: reach the stack's prefix on the link from it.
    await netns.exec(ns, 'ip', ['-6', 'route', 'add', '2001:db8:69::/64', 'dev', dev]);
    const { stdout } = await netns.exec(
      ns,
      'ping',
      ['-6', '-c', '3', '-i', '0.1', '-W', '2', '-I', leased, '2001:db8:69::2'],
      { timeout: 15_000 },
    );
    assert.match(stdout, /3 packets transmitted, 3 received, 0% packet loss/, stdout);
    dhclient.kill('SIGTERM');
    await dhclient.exited;
    assert.equal(await runner.stop(up), 0, up.stderr);
    const counters = up.events().find((e) => e.event === 'counters')?.counters as Record<string, number>;
    assert.ok((counters['dhcp6.server.rx.solicit'] ?? 0) >= 1, JSON.stringify(counters));
    assert.ok((counters['dhcp6.server.tx.reply'] ?? 0) >= 1, JSON.stringify(counters));
    assertCleanCapture(pcap, `(${sentBy([ready.interfaces[0]!.mac])}) && ipv6`, { atLeast: 5 });
  });
});
