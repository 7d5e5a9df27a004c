/** The command-line parser and the interface options every command shares (no root needed). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type FlagSpec, formatFlags, parseArgs, UsageError } from '../../src/cli/args.ts';
import { interfaceFlags, parseInterfaceOptions } from '../../src/cli/interface-options.ts';
import { parseServiceList } from '../../src/cli/up.ts';
import { parseIpv4 } from '../../src/wire/address.ts';

const spec: Record<string, FlagSpec> = {
  count: { type: 'number', short: 'c', help: 'count' },
  udp: { type: 'boolean', short: 'u', help: 'udp' },
  name: { type: 'string', repeatable: true, help: 'names' },
};

describe('parseArgs', () => {
  test('long, short, inline, repeatable, positionals and --', () => {
    const r = parseArgs(['-c', '3', 'host', '--name=a', '-u', '--name', 'b', '--', '-c', 'x'], spec);
    assert.deepEqual(r.flags, { count: 3, udp: true, name: ['a', 'b'] });
    assert.deepEqual(r.positionals, ['host', '-c', 'x']);
  });

  test('keeps the order the flags were given in', () => {
    const r = parseArgs(['--name', 'a', '-c', '1', '--name', 'b'], spec);
    assert.deepEqual(r.sequence, [
      { name: 'name', value: 'a' },
      { name: 'count', value: 1 },
      { name: 'name', value: 'b' },
    ]);
  });

  test('negative numbers are positionals, fractional numbers are numbers', () => {
    const r = parseArgs(['-1', '-c', '0.002'], spec);
    assert.deepEqual(r.positionals, ['-1']);
    assert.equal(r.flags.count, 0.002);
  });

  test('a digit is a flag when the spec has it (-4, -6), else still a positional', () => {
    const withFamily = { ...spec, four: { type: 'boolean' as const, short: '4', help: 'IPv4' } };
    const r = parseArgs(['-4', '-6', 'host'], withFamily);
    assert.equal(r.flags.four, true);
    assert.deepEqual(r.positionals, ['-6', 'host']);
  });

  for (const [argv, message] of [
    [['--nope'], /unknown option --nope/],
    [['-x'], /unknown option -x/],
    [['-c'], /--count needs a value/],
    [['-c', 'many'], /not a number: many/],
    [['-c', ''], /not a number/],
    [['--udp=yes'], /takes no value/],
  ] as const) {
    test(`refuses ${argv.join(' ')}`, () => {
      assert.throws(
        () => parseArgs(argv, spec),
        (e: Error) => e instanceof UsageError && message.test(e.message),
      );
    });
  }

  test('help lists every flag with its alias and value name', () => {
    const help = formatFlags(spec);
    assert.match(help, /-c, --count NUMBER +count/);
    assert.match(help, / {4}--name STRING/);
  });
});

describe('interface options', () => {
  const parse = (argv: string[]) => parseInterfaceOptions(parseArgs(argv, interfaceFlags));

  test('devices in the order given, the i-th --ipv4 to the i-th device', () => {
    const c = parse(['--tun', 'tun9', '--ipv4', '10.0.1.1/24', '--tap', 'tap9', '--ipv4', '10.0.2.1/30']);
    assert.deepEqual(
      c.devices.map((d) => [d.kind, d.name, d.ipv4?.addr, d.ipv4?.prefixLen]),
      [
        ['tun', 'tun9', parseIpv4('10.0.1.1'), 24],
        ['tap', 'tap9', parseIpv4('10.0.2.1'), 30],
      ],
    );
    assert.equal(c.json, false);
  });

  test('an --ipv4 before its device still belongs to it', () => {
    const c = parse(['--ipv4', '10.0.0.2/24', '--tap', 'tap0', '--gateway', '10.0.0.1', '--mtu', '9000']);
    assert.equal(c.devices[0]!.ipv4?.addr, parseIpv4('10.0.0.2'));
    assert.equal(c.gateway, parseIpv4('10.0.0.1'));
    assert.equal(c.mtu, 9000);
  });

  test('no device: only loopback', () => {
    assert.deepEqual(parse([]).devices, []);
  });

  for (const [argv, message] of [
    [['--ipv4', '10.0.0.2/24'], /--ipv4 needs a device/],
    [['--tap', 'a', '--ipv4', '10.0.0.2/24', '--ipv4', '10.0.1.2/24'], /2 --ipv4 for 1 device/],
    [['--tap', 'a', '--ipv4', '10.0.0.2'], /expected ADDR\/LEN/],
    [['--tap', 'a', '--ipv4', '10.0.0.256/24'], /expected ADDR\/LEN/],
    [['--tap', 'a', '--ipv4', '10.0.0.2/33'], /expected ADDR\/LEN/],
    [['--tap', 'a', '--ipv4', '224.0.0.1/24'], /not a unicast address/],
    [['--tap', 'a', '--ipv4', '127.0.0.2/8'], /not a unicast address/],
    [['--tap', 'a', '--ipv4', '10.0.0.0/24'], /network or broadcast/],
    [['--tap', 'a', '--ipv4', '10.0.0.255/24'], /network or broadcast/],
    [['--tap', 'a', '--ipv4', '10.0.0.2/24', '--gateway', '10.0.1.1'], /not on the subnet/],
    [['--tap', 'a', '--gateway', 'router'], /not an IPv4 address/],
    [['--tap', 'a', '--mtu', '67'], /--mtu must be/],
    [['--tap', 'a', '--mtu', '1500.5'], /--mtu must be/],
    [['--tap', 'a', '--tap', 'a'], /given twice/],
    [['--tap', 'sixteen-chars-xx'], /bad device name/],
    [['--tap', 'a/b'], /bad device name/],
    [['--tap', 'a', '--tun', 'b', '--pcap', 'x.pcap'], /needs a \.pcapng/],
  ] as const) {
    test(`refuses ${argv.join(' ')}`, () => {
      assert.throws(
        () => parse([...argv]),
        (e: Error) => e instanceof UsageError && message.test(e.message),
      );
    });
  }

  test('a /31 and a /32 have no network or broadcast address (RFC 3021)', () => {
    assert.equal(parse(['--tap', 'a', '--ipv4', '10.0.0.0/31']).devices[0]!.ipv4?.prefixLen, 31);
    assert.equal(parse(['--tap', 'a', '--ipv4', '10.0.0.255/32']).devices[0]!.ipv4?.prefixLen, 32);
  });
});

describe('--serve', () => {
  test('a comma-separated list of known services', () => {
    assert.deepEqual(parseServiceList('echo,discard'), ['echo', 'discard']);
    assert.deepEqual(parseServiceList(undefined), []);
  });

  test('unknown or repeated services are refused', () => {
    assert.throws(() => parseServiceList('echo,qotd'), /unknown service 'qotd'/);
    assert.throws(() => parseServiceList('echo,echo'), /listed twice/);
    assert.throws(() => parseServiceList(''), /unknown service ''/);
  });
});
