/**
 * IPv6 on the command line without root or devices: `--ipv6`, `--slaac` and `--advertise` checks,
 * IPv6 hosts with zones in `ping`, ICMPv6 errors as ping prints them, and `netstack ping ::1` over
 * the stack's loopback interface.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseArgs, UsageError } from '../../src/cli/args.ts';
import { parseInterfaceOptions } from '../../src/cli/interface-options.ts';
import { parseHostArg, parseIpv6Cidr, parseIpv6RouterPlan } from '../../src/cli/ipv6-options.ts';
import { describeIcmpv6Error, parsePingPlan, pingFlags } from '../../src/cli/ping.ts';
import { upFlags } from '../../src/cli/up.ts';
import { ipv6ToString } from '../../src/wire/address.ts';
import { REPO } from '../helpers/netstack-cli.ts';

const refuses = (run: () => unknown, message: RegExp) =>
  assert.throws(run, (e: Error) => e instanceof UsageError && message.test(e.message));

describe('IPv6 command-line options', () => {
  const up = (argv: string[]) => {
    const a = parseArgs(argv, upFlags);
    const config = parseInterfaceOptions(a);
    return {
      config,
      plan: parseIpv6RouterPlan(
        a,
        config.devices.map((d) => d.ipv6),
      ),
    };
  };

  test('--ipv6 goes to the i-th device like --ipv4; --slaac; wrong addresses refused', () => {
    const { config } = up(['--tap', 'a', '--ipv6', '2001:db8::2/64', '--tap', 'b', '--slaac']);
    assert.deepEqual(
      config.devices.map((d) => (d.ipv6 ? `${ipv6ToString(d.ipv6.addr)}/${d.ipv6.prefixLen}` : undefined)),
      ['2001:db8::2/64', undefined],
    );
    assert.equal(config.slaac, true);
    assert.equal(up(['--tap', 'a']).config.slaac, false);
    refuses(() => up(['--ipv6', '2001:db8::2/64']), /--ipv6 needs a device/);
    refuses(
      () => up(['--tap', 'a', '--ipv6', '2001:db8::2/64', '--ipv6', '2001:db8::3/64']),
      /2 --ipv6 for 1/,
    );
    refuses(() => up(['--tap', 'a', '--ipv6', '2001:db8::2']), /expected ADDR\/PREFIX/);
    refuses(() => up(['--tap', 'a', '--ipv6', '2001:db8::2/129']), /expected ADDR\/PREFIX/);
    refuses(() => up(['--tap', 'a', '--ipv6', 'ff02::1/64']), /not a unicast address/);
    refuses(() => up(['--tap', 'a', '--ipv6', '::1/128']), /not a unicast address/);
  });

  test('--advertise: a /64 holding the --ipv6 address of a device', () => {
    const { plan } = up([
      '--tap',
      'a',
      '--ipv6',
      '2001:db8:1::2/64',
      '--tap',
      'b',
      '--ipv6',
      '2001:db8:2::2/64',
      '--advertise',
      '2001:db8:2::/64',
      '--advertise',
      '2001:db8:1::99/64',
    ]);
    assert.deepEqual(
      plan.advertise.map((x) => [x.device, `${ipv6ToString(x.prefix)}/${x.prefixLen}`]),
      [
        [1, '2001:db8:2::/64'],
        [0, '2001:db8:1::/64'],
      ],
    );
    const base = ['--tap', 'a', '--ipv6', '2001:db8:1::2/64', '--advertise'];
    refuses(() => up([...base, '2001:db8:1::/48']), /SLAAC needs a \/64 prefix/);
    refuses(() => up([...base, '2001:db8:9::/64']), /no --ipv6 address of a device is in this prefix/);
    refuses(() => up([...base, 'fe80::/64']), /not a prefix hosts can use/);
    refuses(() => up([...base, '2001:db8:1::/64', '--advertise', '2001:db8:1::/64']), /given twice/);
    refuses(() => up([...base, 'nonsense']), /expected PREFIX\/64/);
  });

  test('hosts: IPv4, IPv6, IPv6 with a zone', () => {
    assert.deepEqual(parseHostArg('10.0.0.1', 'HOST'), { family: 4, addr: 0x0a000001, zone: undefined });
    const ll = parseHostArg('fe80::1%tap0', 'HOST');
    assert.equal(ll.family, 6);
    assert.equal(ll.zone, 'tap0');
    assert.equal(ipv6ToString(ll.addr as Uint8Array), 'fe80::1');
    refuses(() => parseHostArg('fe80::1%', 'HOST'), /HOST: not an IPv4 or IPv6 address/);
    refuses(() => parseHostArg('2001:db8::g', 'HOST'), /not an IPv4 or IPv6 address/);
    assert.equal(parseIpv6Cidr('2001:db8::/64')?.prefixLen, 64);
    assert.equal(parseIpv6Cidr('2001:db8::/x'), undefined);
  });

  test('ping plans for IPv6 hosts: the zone, and sizes up to 65527', () => {
    const ping = (argv: string[]) => {
      const a = parseArgs(argv, pingFlags);
      return parsePingPlan(a.flags, a.positionals);
    };
    const p = ping(['-s', '65527', 'fe80::1%tap0']);
    assert.equal(p.zone, 'tap0');
    assert.equal(p.size, 65527);
    refuses(() => ping(['-s', '65528', '2001:db8::1']), /--size must be an integer from 0 to 65527/);
    refuses(() => ping(['-s', '65508', '10.0.0.1']), /--size must be an integer from 0 to 65507/);
  });

  test('ICMPv6 errors read as ping prints them', () => {
    assert.equal(describeIcmpv6Error(1, 0, 0), 'Destination unreachable: No route');
    assert.equal(describeIcmpv6Error(1, 3, 0), 'Destination unreachable: Address unreachable');
    assert.equal(describeIcmpv6Error(1, 4, 0), 'Destination unreachable: Port unreachable');
    assert.equal(describeIcmpv6Error(2, 0, 1280), 'Packet too big: mtu=1280');
    assert.equal(describeIcmpv6Error(3, 0, 0), 'Time exceeded: Hop limit');
    assert.equal(describeIcmpv6Error(3, 1, 0), 'Time exceeded: Defragmentation failure');
  });
});

describe('netstack ping ::1 over the loopback interface (no device)', () => {
  test('replies in the IPv6 ping format, exit 0', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(REPO, 'src', 'cli', 'main.ts'), 'ping', '-c', '2', '-i', '0.01', '::1'],
      { cwd: REPO, encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'PING ::1 (::1) 56 data bytes');
    for (let seq = 1; seq <= 2; seq++)
      assert.match(lines[seq]!, new RegExp(`^64 bytes from ::1: icmp_seq=${seq} ttl=64 time=[0-9.]+ ms$`));
    assert.match(r.stdout, /^2 packets transmitted, 2 received, 0% packet loss/m);
  });
});
