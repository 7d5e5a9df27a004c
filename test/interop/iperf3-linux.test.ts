/**
 * Interop: iperf3 between the stack and Linux. The kernel's `iperf3 -c` (forward, -R, -P 4)
 * against `netstack up --serve iperf3` on a TAP; `netstack iperf3 -c` (on a TAP of its own
 * namespace) against the kernel's `iperf3 -s`. Each run's JSON must report a completed test with
 * throughput in both directions' totals; the measured rates are printed for the record.
 *
 * Needs Linux, root, /dev/net/tun, the addon and iperf3; skipped with a loud warning otherwise.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NetnsHarness, waitFor } from '../helpers/netns.ts';
import { cliInteropSkipReason, disableIpv6, kernelTap, NetstackRunner } from '../helpers/netstack-cli.ts';

const SKIP = cliInteropSkipReason(['iperf3']);
if (SKIP !== undefined) console.warn(`\n!!! SKIPPING the iperf3 interop tests: ${SKIP} !!!\n`);

interface Totals {
  bytes: number;
  bits_per_second: number;
  seconds: number;
}

interface Iperf3Json {
  start: { connected: unknown[]; test_start: { num_streams: number; reverse: number } };
  intervals: Array<{ sum: Totals }>;
  end: { streams: unknown[]; sum_sent: Totals; sum_received: Totals };
  error?: string;
}

const gbits = (bps: number) => `${(bps / 1e9).toFixed(2)} Gbit/s`;

/** Checks a completed iperf3 JSON report and prints its rates. */
function checkReport(what: string, report: Iperf3Json, streams: number, reverse: boolean): void {
  assert.equal(report.error, undefined, `${what}: ${report.error}`);
  assert.equal(report.start.test_start.num_streams, streams);
  assert.equal(report.start.test_start.reverse, reverse ? 1 : 0);
  assert.equal(report.end.streams.length, streams);
  assert.ok(report.intervals.length >= 1, `${what}: intervals`);
  const { sum_sent: sent, sum_received: received } = report.end;
  assert.ok(sent.bytes > 0 && sent.bits_per_second > 0, `${what}: nothing sent`);
  assert.ok(received.bytes > 0 && received.bits_per_second > 0, `${what}: nothing received`);
  assert.ok(received.bytes <= sent.bytes * 1.01, `${what}: received more than sent`);
  console.log(
    `iperf3 ${what}: sender ${gbits(sent.bits_per_second)}, receiver ${gbits(received.bits_per_second)} ` +
      `(${(received.bytes / 1048576).toFixed(0)} MiB in ${received.seconds.toFixed(2)} s)`,
  );
}

const CASES = [
  { name: 'forward', args: [] as string[], streams: 1, reverse: false },
  { name: '-R', args: ['-R'], streams: 1, reverse: true },
  { name: '-P 4', args: ['-P', '4'], streams: 4, reverse: false },
];

describe('iperf3 between the stack and Linux', { skip: SKIP }, () => {
  let netns: NetnsHarness;
  let runner: NetstackRunner;
  let serverNs: string;
  let clientNs: string;
  const STACK = '10.246.0.2';

  before(async () => {
    netns = new NetnsHarness();
    runner = new NetstackRunner();
    serverNs = await netns.createNamespace();
    await disableIpv6(netns, serverNs);
    const tap = netns.uniqueName('t');
    const up = runner.start(serverNs, ['up', '--tap', tap, '--ipv4', `${STACK}/24`, '--serve', 'iperf3']);
    await up.ready();
    assert.match(up.stdout, /serving iperf3 tcp\/5201/);
    await netns.exec(serverNs, 'ip', ['addr', 'add', '10.246.0.1/24', 'dev', tap]);

    clientNs = await netns.createNamespace();
    await disableIpv6(netns, clientNs);
    netns.spawn(clientNs, 'iperf3', ['-s']);
    await waitFor(async () => (await netns.exec(clientNs, 'ss', ['-tln'])).stdout.includes(':5201'), {
      what: 'the kernel iperf3 -s to listen',
    });
  });

  after(async () => {
    await runner?.cleanup();
    await netns?.cleanup();
  });

  for (const c of CASES) {
    test(`Linux iperf3 -c ${c.name} against netstack up --serve iperf3`, async () => {
      const { stdout } = await netns.exec(
        serverNs,
        'iperf3',
        ['-c', STACK, '-t', '2', '--json', '--connect-timeout', '10000', ...c.args],
        { timeout: 60_000 },
      );
      checkReport(
        `Linux client ${c.name} -> netstack server`,
        JSON.parse(stdout) as Iperf3Json,
        c.streams,
        c.reverse,
      );
    });
  }

  CASES.forEach((c, i) => {
    test(`netstack iperf3 -c ${c.name} against Linux iperf3 -s`, async () => {
      const k = await kernelTap(netns, clientNs, `10.247.${i}.1/24`);
      const client = runner.start(clientNs, [
        'iperf3',
        '--tap',
        k,
        '--ipv4',
        `10.247.${i}.2/24`,
        '-c',
        `10.247.${i}.1`,
        '-t',
        '2',
        '--json',
        ...c.args,
      ]);
      const code = await Promise.race([
        client.exited,
        new Promise((resolve) => setTimeout(() => resolve('timeout'), 60_000).unref()),
      ]);
      assert.equal(code, 0, `exit ${code}: ${client.stderr}\n${client.stdout}`);
      checkReport(
        `netstack client ${c.name} -> Linux server`,
        JSON.parse(client.stdout) as Iperf3Json,
        c.streams,
        c.reverse,
      );
    });
  });

  test('netstack iperf3 -c prints iperf3-like text: intervals, sender and receiver totals', async () => {
    const k = await kernelTap(netns, clientNs, '10.247.9.1/24');
    const client = runner.start(clientNs, [
      'iperf3',
      '--tap',
      k,
      '--ipv4',
      '10.247.9.2/24',
      '-c',
      '10.247.9.1',
      '-t',
      '1',
    ]);
    assert.equal(await client.exited, 0, client.stderr);
    assert.match(client.stdout, /^Connecting to host 10\.247\.9\.1, port 5201$/m);
    assert.match(client.stdout, /^\[ {2}1\] {3}0\.00-1\.\d\d {3}sec .*[GM]bits\/sec +\d+ +\S+ [KMG]?Bytes$/m);
    assert.match(client.stdout, /^\[ {2}1\] {3}0\.00-1\.\d\d {3}sec .*[GM]bits\/sec .*sender$/m);
    assert.match(client.stdout, /^\[ {2}1\] {3}0\.00-1\.\d\d {3}sec .*[GM]bits\/sec .*receiver$/m);
    assert.match(client.stdout, /^iperf Done\.$/m);
  });
  test('netstack iperf3 -s --one-off: Linux iperf3 -c -R -P 2 completes, the server prints its totals and exits 0', async () => {
    const ns = await netns.createNamespace();
    await disableIpv6(netns, ns);
    const tap = netns.uniqueName('t');
    const server = runner.start(ns, ['iperf3', '-s', '--one-off', '--tap', tap, '--ipv4', '10.248.0.2/24']);
    await server.ready();
    await netns.exec(ns, 'ip', ['addr', 'add', '10.248.0.1/24', 'dev', tap]);
    const { stdout } = await netns.exec(
      ns,
      'iperf3',
      ['-c', '10.248.0.2', '-t', '1', '-R', '-P', '2', '--json'],
      {
        timeout: 60_000,
      },
    );
    checkReport('Linux client -R -P 2 -> netstack iperf3 -s', JSON.parse(stdout) as Iperf3Json, 2, true);
    assert.equal(await server.exited, 0, server.stderr);
    assert.match(server.stdout, /^Accepted connection from 10\.248\.0\.1, port \d+$/m);
    assert.match(server.stdout, /^\[SUM\] {3}0\.00-1\.\d\d {3}sec .*bits\/sec .*sender$/m);
    assert.match(server.stdout, /^\[SUM\] {3}0\.00-1\.\d\d {3}sec .*bits\/sec .*receiver$/m);
  });
});
