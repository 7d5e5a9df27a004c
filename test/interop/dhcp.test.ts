/**
 * Interop: DHCPv4 against Linux programs in a network namespace. `netstack up --dhcp` gets a lease
 * from dnsmasq (address, default route and DNS servers applied; a renewal and the RELEASE at exit
 * seen in the capture); busybox `udhcpc` and ISC `dhclient` get leases from `netstack up
 * --dhcp-server`, which keeps them in a file across a restart. tshark checks every frame the
 * stack sent.
 *
 * Needs Linux, root, /dev/net/tun, the native addon, dnsmasq, busybox and dhclient; skipped with a
 * loud warning otherwise.
 */
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { interopWorld } from '../helpers/interop-world.ts';
import { waitFor } from '../helpers/netns.ts';
import { cliInteropSkipReason, disableIpv6 } from '../helpers/netstack-cli.ts';
import { assertCleanCapture, sentBy } from '../helpers/stack-capture.ts';
import { tsharkAvailable, tsharkFields } from '../helpers/tshark.ts';

const SKIP = cliInteropSkipReason(['dnsmasq', 'busybox', 'dhclient']);
if (SKIP !== undefined) console.warn(`\n!!! SKIPPING the DHCP interop tests: ${SKIP} !!!\n`);

type Event = Record<string, unknown> & { event: string };

describe('DHCPv4 with Linux peers', { skip: SKIP }, () => {
  const { netns, runner, dir } = interopWorld('dhcp');

  const events = (p: { events(): Array<Record<string, unknown>> }) => p.events() as Event[];
  const stackMac = (ready: Event) => (ready.interfaces as Array<{ mac: string }>)[0]!.mac;

  test('netstack up --dhcp against dnsmasq: lease applied, renewed, released', async () => {
    const ns = await netns.createNamespace();
    await disableIpv6(netns, ns);
    const tap = netns.uniqueName('t');
    const pcap = join(dir, 'client.pcap');
    const up = runner.start(ns, ['up', '--json', '--tap', tap, '--dhcp', '--pcap', pcap]);
    await up.ready();
    const ready = events(up).find((e) => e.event === 'ready')!;
    // `ready` waits for IPv6 DAD (a second or two): the client may have sent its DISCOVER by then.
    const [client] = (ready.dhcp as { clients: Array<{ interface: string; state: string }> }).clients;
    assert.equal(client?.interface, tap);
    assert.ok(['init', 'selecting'].includes(client.state), client.state);
    await netns.exec(ns, 'ip', ['addr', 'add', '10.77.0.1/24', 'dev', tap]);
    await netns.exec(ns, 'ip', ['addr', 'add', '10.99.0.1/32', 'dev', 'lo']);
    // T1 10 s and T2 15 s of a 2-minute lease (dnsmasq's shortest), so that a renewal comes soon.
    const dnsmasq = netns.spawn(ns, 'dnsmasq', [
      '--no-daemon',
      '--conf-file=/dev/null',
      '--port=0',
      '--user=root',
      `--interface=${tap}`,
      '--bind-interfaces',
      `--dhcp-leasefile=${join(dir, 'dnsmasq.leases')}`,
      '--dhcp-range=10.77.0.100,10.77.0.150,255.255.255.0,2m',
      '--dhcp-option=option:router,10.77.0.1',
      '--dhcp-option=option:dns-server,10.77.0.53,10.77.0.54',
      '--dhcp-option=option:domain-name,interop.test',
      '--dhcp-option=option:T1,10',
      '--dhcp-option=option:T2,15',
    ]);
    const lease = await waitFor(() => events(up).find((e) => e.event === 'dhcp-lease'), {
      timeout: 30_000,
      what: `a lease from dnsmasq (${dnsmasq.stderr})`,
    });
    const l = lease.lease as Record<string, unknown>;
    assert.match(String(l.address), /^10\.77\.0\.(1[0-4][0-9]|150)\/24$/);
    assert.deepEqual(l.routers, ['10.77.0.1']);
    assert.deepEqual(l.dnsServers, ['10.77.0.53', '10.77.0.54']);
    assert.equal(l.domainName, 'interop.test');
    assert.equal(l.server, '10.77.0.1');
    const address = String(l.address).split('/')[0]!;
    // The address answers, and replies to an off-subnet source go by the default route.
    await netns.exec(ns, 'ping', ['-c', '1', '-W', '2', address]);
    await netns.exec(ns, 'ping', ['-c', '1', '-W', '2', '-I', '10.99.0.1', address]);
    // A renewal at T1: RENEWING, then BOUND again with a second lease event.
    await waitFor(() => events(up).filter((e) => e.event === 'dhcp-lease').length >= 2, {
      timeout: 30_000,
      what: 'a renewal',
    });
    assert.ok(events(up).some((e) => e.event === 'dhcp-state' && e.state === 'renewing'));
    assert.equal(await runner.stop(up), 0, up.stderr);
    const lost = events(up).find((e) => e.event === 'dhcp-lease-lost');
    assert.deepEqual(lost && { address: lost.address, reason: lost.reason }, { address, reason: 'stopped' });
    dnsmasq.kill();
    if (!tsharkAvailable()) return;
    const mac = stackMac(ready);
    const sent = (filter: string) =>
      tsharkFields(pcap, ['frame.number', 'ip.src', 'ip.dst'], ['-Y', `(${sentBy([mac])}) && ${filter}`]);
    // DISCOVER from 0.0.0.0 to broadcast; the renewal unicast from the lease's address; a RELEASE.
    assert.ok(
      sent('dhcp.option.dhcp == 1').every(([, src, dst]) => src === '0.0.0.0' && dst === '255.255.255.255'),
    );
    const renewals = sent(`dhcp.option.dhcp == 3 && dhcp.ip.client == ${address}`);
    assert.ok(renewals.length >= 1, 'no renewal REQUEST in the capture');
    assert.deepEqual(renewals[0]!.slice(1), [address, '10.77.0.1']);
    assert.equal(sent('dhcp.option.dhcp == 7').length, 1);
    const acks = tsharkFields(pcap, ['frame.number'], ['-Y', 'dhcp.option.dhcp == 5']);
    assert.ok(acks.length >= 2, 'dnsmasq acknowledged the renewal');
    assertCleanCapture(pcap, sentBy([mac]), { atLeast: 6 });
  });

  test('udhcpc and dhclient get leases from netstack up --dhcp-server; the lease file survives a restart', async () => {
    const ns = await netns.createNamespace();
    await disableIpv6(netns, ns);
    const tap = netns.uniqueName('t');
    const pcap = join(dir, 'server.pcap');
    const leases = join(dir, 'leases.json');
    const args = [
      'up',
      '--json',
      '--tap',
      tap,
      '--ipv4',
      '10.78.0.1/24',
      '--dhcp-server',
      '10.78.0.100-10.78.0.120',
      '--dhcp-leases',
      leases,
      '--dhcp-lease-time',
      '600',
    ];
    const up = runner.start(ns, [...args, '--pcap', pcap]);
    await up.ready();
    const ready = events(up).find((e) => e.event === 'ready')!;

    // busybox udhcpc (client identifier 01:MAC, no BROADCAST flag): the script prints what it got.
    const udhcpcScript = join(dir, 'udhcpc.sh');
    writeFileSync(
      udhcpcScript,
      '#!/bin/sh\necho "event=$1 ip=$ip subnet=$subnet serverid=$serverid lease=$lease"\n',
    );
    chmodSync(udhcpcScript, 0o755);
    const udhcpc = await netns.exec(
      ns,
      'busybox',
      ['udhcpc', '-i', tap, '-f', '-q', '-n', '-t', '5', '-T', '2', '-s', udhcpcScript],
      { timeout: 30_000 },
    );
    assert.match(
      udhcpc.stdout,
      /^event=bound ip=10\.78\.0\.100 subnet=255\.255\.255\.0 serverid=10\.78\.0\.1 lease=600$/m,
    );

    // ISC dhclient (no client identifier: the server knows it by chaddr, a second lease for the MAC).
    const dhclientScript = join(dir, 'dhclient.sh');
    writeFileSync(dhclientScript, '#!/bin/sh\necho "reason=$reason ip=$new_ip_address" >> "$0.log"\n');
    chmodSync(dhclientScript, 0o755);
    const dhclient = netns.spawn(ns, 'dhclient', [
      '-d',
      '-v',
      '-1',
      '-cf',
      '/dev/null',
      '-lf',
      join(dir, 'dhclient.leases'),
      '-pf',
      join(dir, 'dhclient.pid'),
      '-sf',
      dhclientScript,
      tap,
    ]);
    await waitFor(() => /bound to 10\.78\.0\.\d+/.test(dhclient.stderr), {
      timeout: 30_000,
      what: `dhclient to get a lease (${dhclient.stderr})`,
    });
    assert.match(dhclient.stderr, /bound to 10\.78\.0\.101/);
    assert.match(readFileSync(`${dhclientScript}.log`, 'utf8'), /^reason=BOUND ip=10\.78\.0\.101$/m);
    dhclient.kill();
    await dhclient.exited;

    assert.equal(await runner.stop(up), 0, `first run: ${up.stderr} ${up.stdout}`);
    const file = JSON.parse(readFileSync(leases, 'utf8')) as { leases: Array<{ address: string }> };
    assert.deepEqual(file.leases.map((x) => x.address).sort(), ['10.78.0.100', '10.78.0.101']);
    const counters = events(up).find((e) => e.event === 'counters')!.counters as Record<string, number>;
    assert.equal(counters['dhcp.server.leases'], 2);
    assertCleanCapture(pcap, sentBy([stackMac(ready)]), { atLeast: 4 });
    if (tsharkAvailable()) {
      // Neither client set the BROADCAST flag: OFFER and ACK went unicast to yiaddr.
      const replies = tsharkFields(pcap, ['ip.dst'], ['-Y', `(${sentBy([stackMac(ready)])}) && dhcp`]);
      assert.deepEqual([...new Set(replies.map(([dst]) => dst))].sort(), ['10.78.0.100', '10.78.0.101']);
    }

    // Restarted with the same file: both leases are back.
    const again = runner.start(ns, args);
    await again.ready();
    // A SIGTERM right after `ready` sometimes kills `netstack up` before its handler is in place
    // (seen with any `up`, DHCP or not): let it answer a ping first (the TAP is a new one).
    await netns.exec(ns, 'ip', ['addr', 'add', '10.78.0.2/24', 'dev', tap]);
    await netns.exec(ns, 'ping', ['-c', '1', '-W', '5', '10.78.0.1']);
    const restored = events(again).find((e) => e.event === 'ready')!.dhcp as {
      server: { leases: Array<{ address: string; state: string }> };
    };
    assert.deepEqual(restored.server.leases.map((x) => `${x.address} ${x.state}`).sort(), [
      '10.78.0.100 bound',
      '10.78.0.101 bound',
    ]);
    assert.equal(await runner.stop(again), 0, `second run: ${again.stderr} ${again.stdout}`);
  });
});
