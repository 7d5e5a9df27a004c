/**
 * The `netstack` command as a user meets it, without root or devices: help, wrong flags and
 * impossible configurations (one line on standard error, a non-zero exit, never a stack trace), and
 * `ping` over the stack's own loopback interface.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseArgs, UsageError } from '../../src/cli/args.ts';
import { parseFetchUrl } from '../../src/cli/fetch.ts';
import { parseImpairments } from '../../src/cli/impair.ts';
import { parseInterfaceOptions } from '../../src/cli/interface-options.ts';
import { ncFlags, parseNcPlan } from '../../src/cli/nc.ts';
import {
  describeIcmpError,
  formatRtt,
  formatStatistics,
  parsePingPlan,
  pingFlags,
} from '../../src/cli/ping.ts';
import { upFlags } from '../../src/cli/up.ts';
import { REPO } from '../helpers/netstack-cli.ts';

const MAIN = join(REPO, 'src', 'cli', 'main.ts');

function netstack(args: string[], options: { uid?: number } = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 60_000,
    ...(options.uid !== undefined
      ? { uid: options.uid, gid: options.uid, env: { ...process.env, HOME: '/tmp' } }
      : {}),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A usage or configuration error: exactly one line on standard error, nothing else. */
function assertOneLineError(r: ReturnType<typeof netstack>, status: number, message: RegExp): void {
  assert.equal(r.status, status, `exit ${r.status}: ${r.stderr}`);
  assert.match(r.stderr, /^[^\n]+\n$/, `not one line: ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

describe('netstack help', () => {
  test('lists every command with its usage and options', () => {
    const r = netstack(['help']);
    assert.equal(r.status, 0);
    for (const name of ['demo', 'up', 'ping', 'nc', 'fetch'])
      assert.match(r.stdout, new RegExp(`^ {2}${name} +\\S`, 'm'));
    assert.match(r.stdout, /usage: netstack up --tap NAME/);
    assert.match(
      r.stdout,
      /--serve LIST +comma-separated services to run: echo \(udp 7\), echo \(tcp 7\), discard \(udp 9\), discard \(tcp 9\), chargen \(tcp 19\), http \(tcp 80\)/,
    );
    assert.match(r.stdout, /--forward/);
    assert.match(r.stdout, /-W, --timeout SECONDS/);
    assert.match(r.stdout, /-l, --listen/);
    assert.match(r.stdout, /usage: netstack fetch .*http:\/\/HOST\[:PORT\]\/PATH \[-o FILE\]/);
    assert.match(r.stdout, /--dns ADDR +name server for host names/);
    assert.match(r.stdout, /-4, --ipv4only/);
    assert.match(r.stdout, /-o, --output FILE/);
  });

  test('a command with --help prints its own options', () => {
    const r = netstack(['ping', '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^netstack ping: /);
    assert.match(r.stdout, /-c, --count N/);
    assert.doesNotMatch(r.stdout, /--serve/);
  });

  test('no command: usage and exit 2', () => {
    const r = netstack([]);
    assert.equal(r.status, 2);
    assert.match(r.stdout, /^usage: netstack <command>/);
  });
});

describe('wrong flags and impossible configurations', () => {
  // One of each kind through the real command; the other checks run in-process below.
  const cases: Array<[string[], RegExp]> = [
    [['bogus'], /^netstack: unknown command 'bogus'/],
    [['up'], /^netstack up: needs a device: --tap NAME or --tun NAME$/m],
    [['up', '--tap'], /^netstack up: option --tap needs a value$/m],
    [['up', '--tap', 'tap0', '--ipv4', '10.0.0.300/24'], /--ipv4: expected ADDR\/LEN/],
    [['ping', '10.0.0.300'], /HOST: not an IPv4 or IPv6 address: 10\.0\.0\.300/],
    [['ping', '--dns', '10.0.0.1#53', 'example.org'], /--dns: expected ADDR, ADDR:PORT or \[IPV6\]:PORT/],
    [['ping', '-4', '-6', 'example.org'], /-4 and -6 exclude each other/],
    [['fetch', 'http://[2001:db8::g]/'], /URL host: not an IPv4 or IPv6 address/],
    [['nc', '10.0.0.1'], /^netstack nc: needs HOST PORT \(or -l PORT\)$/m],
    [['fetch', 'https://10.0.0.1/'], /^netstack fetch: https is not supported/m],
  ];
  for (const [args, message] of cases) {
    test(`netstack ${args.join(' ')}`, () => assertOneLineError(netstack(args), 2, message));
  }

  test('no route to the host: one line, exit 1', () => {
    const r = netstack(['ping', '-c', '1', '10.99.0.1']);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^PING 10\.99\.0\.1 \(10\.99\.0\.1\) 56\(84\) bytes of data\.\n$/);
    assert.match(r.stderr, /^netstack ping: ENETUNREACH: no route to 10\.99\.0\.1\n$/);
  });

  test('a capture file that cannot be written: one line, exit 1, before any device is made', () => {
    const r = netstack(['up', '--tap', 'nst-never', '--pcap', '/nonexistent-dir/x.pcap']);
    assertOneLineError(r, 1, /^netstack up: cannot write the capture \/nonexistent-dir\/x\.pcap: .*ENOENT/);
  });

  test('no permission for the TAP device: one line, exit 1', () => {
    // As root, drop to nobody for this run; otherwise the test already runs unprivileged.
    const uid = process.getuid?.() === 0 ? 65534 : undefined;
    const r = netstack(
      ['up', '--tap', 'nst-noperm', '--ipv4', '10.99.0.2/24'],
      uid !== undefined ? { uid } : {},
    );
    assert.notEqual(r.status, 0, 'an unprivileged user created a TAP device');
    // Without the addon the message names the build step instead; either way one line.
    assertOneLineError(r, 1, /^netstack up: (cannot open TAP device nst-noperm: .*(EACCES|EPERM)|.*ENOTSUP)/);
  });
});

describe('command flags checked in-process', () => {
  const refuses = (run: () => unknown, message: RegExp) =>
    assert.throws(run, (e: Error) => e instanceof UsageError && message.test(e.message));
  const ping = (argv: string[]) => {
    const a = parseArgs(argv, pingFlags);
    return parsePingPlan(a.flags, a.positionals);
  };
  const nc = (argv: string[]) => {
    const a = parseArgs(argv, ncFlags);
    return parseNcPlan(a.flags, a.positionals);
  };

  test('ping', () => {
    assert.deepEqual(ping(['-c', '5', '-i', '0.2', '-s', '1000', '-W', '3', '-t', '9', '10.0.0.1']), {
      host: '10.0.0.1',
      family: 0,
      dst: 0x0a000001,
      count: 5,
      interval: 200,
      size: 1000,
      timeout: 3000,
      ttl: 9,
      quiet: false,
      outstanding: false,
    });
    // A name is resolved once the stack is up; -4/-6 choose the family (and the size bound).
    const named = ping(['-6', '-s', '65527', 'www.example']);
    assert.equal(named.dst, undefined);
    assert.equal(named.family, 6);
    refuses(() => ping(['-4', '-s', '65508', 'www.example']), /--size must be an integer from 0 to 65507/);
    refuses(() => ping([]), /needs a HOST/);
    refuses(() => ping(['10.0.0.1', '10.0.0.2']), /unexpected argument 10\.0\.0\.2/);
    refuses(() => ping(['-c', '0', '127.0.0.1']), /--count must be an integer from 1/);
    refuses(() => ping(['-c', '1.5', '127.0.0.1']), /--count must be/);
    refuses(() => ping(['-s', '70000', '127.0.0.1']), /--size must be an integer from 0 to 65507/);
    refuses(() => ping(['-t', '0', '127.0.0.1']), /--ttl must be/);
    refuses(() => ping(['-t', '256', '127.0.0.1']), /--ttl must be/);
    refuses(() => ping(['-i', '0', '127.0.0.1']), /--interval must be/);
    refuses(() => ping(['-W', '0', '127.0.0.1']), /--timeout must be/);
  });

  test('nc', () => {
    assert.deepEqual(nc(['-u', '10.0.0.1', '53']), {
      udp: true,
      listen: false,
      family: 0,
      remote: { host: '10.0.0.1', port: 53 },
      local: { port: 0 },
    });
    assert.deepEqual(nc(['-u', '-6', 'www.example', '53']), {
      udp: true,
      listen: false,
      family: 6,
      remote: { host: 'www.example', port: 53 },
      local: { port: 0 },
    });
    assert.deepEqual(nc(['-u', '-l', '-q', '1', '5000']), {
      udp: true,
      listen: true,
      family: 0,
      local: { port: 5000 },
      quitAfter: 1000,
    });
    assert.deepEqual(nc(['-u', '-l', '10.0.0.2', '5000']), {
      udp: true,
      listen: true,
      family: 0,
      local: { addr: 0x0a000002, port: 5000 },
    });
    assert.deepEqual(nc(['-u', '-l', '-p', '5000']), {
      udp: true,
      listen: true,
      family: 0,
      local: { port: 5000 },
    });
    // Without -u: TCP.
    assert.deepEqual(nc(['-p', '4000', '10.0.0.1', '7']), {
      udp: false,
      listen: false,
      family: 0,
      remote: { host: '10.0.0.1', port: 7 },
      local: { port: 4000 },
    });
    assert.deepEqual(nc(['-l', '8080']), { udp: false, listen: true, family: 0, local: { port: 8080 } });
    refuses(() => nc(['-u', '10.0.0.256', '7']), /HOST: not an IPv4 or IPv6 address/);
    refuses(() => nc(['-u', '10.0.0.1']), /needs HOST PORT/);
    refuses(() => nc(['-u', '10.0.0.1', '70000']), /PORT: not a port: 70000/);
    refuses(() => nc(['-u', '10.0.0.1', '0']), /PORT: not a port: 0/);
    refuses(() => nc(['-u', '-l']), /-l needs a PORT/);
    refuses(() => nc(['-u', '-l', '-p', '5', '6']), /give the port once/);
    refuses(() => nc(['-u', '-q', '-1', '10.0.0.1', '7']), /-q must be/);
  });

  test('fetch URLs', () => {
    assert.deepEqual(parseFetchUrl('http://10.0.0.1'), {
      hostname: '10.0.0.1',
      port: 80,
      host: '10.0.0.1',
      path: '/',
    });
    assert.deepEqual(parseFetchUrl('http://10.0.0.1:8080/bytes/5?x=1#frag'), {
      hostname: '10.0.0.1',
      port: 8080,
      host: '10.0.0.1:8080',
      path: '/bytes/5?x=1',
    });
    assert.deepEqual(parseFetchUrl('HTTP://10.0.0.1?q'), {
      hostname: '10.0.0.1',
      port: 80,
      host: '10.0.0.1',
      path: '/?q',
    });
    refuses(() => parseFetchUrl('ftp://10.0.0.1/'), /not an http URL/);
    assert.deepEqual(parseFetchUrl('http://www.example:8080/x'), {
      hostname: 'www.example',
      port: 8080,
      host: 'www.example:8080',
      path: '/x',
    });
    assert.deepEqual(parseFetchUrl('http://[2001:db8::1]/'), {
      hostname: '2001:db8::1',
      port: 80,
      host: '[2001:db8::1]',
      path: '/',
    });
    // RFC 6874: the zone is written %25 in a URL and is not sent in Host.
    assert.deepEqual(parseFetchUrl('http://[fe80::1%25tap0]:8080/a'), {
      hostname: 'fe80::1%tap0',
      port: 8080,
      host: '[fe80::1]:8080',
      path: '/a',
    });
    refuses(() => parseFetchUrl('http://10.0.0.999/'), /URL host: not an IPv4 or IPv6 address/);
    refuses(() => parseFetchUrl('http://10.0.0.1:99999/'), /URL port: not a port/);
  });

  test('--impair', () => {
    assert.deepEqual(parseImpairments('loss=0.03,delay=20,reorder=0.05'), {
      loss: 0.03,
      delay: 20,
      reorder: 0.05,
    });
    assert.equal(parseImpairments(undefined), undefined);
    refuses(() => parseImpairments('loss=2'), /loss is a probability/);
    refuses(() => parseImpairments('delay=70000'), /at most 60000 ms/);
    refuses(() => parseImpairments('rate=5'), /unknown impairment 'rate'/);
    refuses(() => parseImpairments('loss=0.1,loss=0.2'), /given twice/);
    refuses(() => parseImpairments('loss'), /expected KEY=NUMBER/);
  });

  test('up', () => {
    const up = (argv: string[]) => parseInterfaceOptions(parseArgs(argv, upFlags));
    refuses(
      () => up(['--tap', 'tap0', '--ipv4', '10.0.0.2/24', '--gateway', '10.1.0.1']),
      /not on the subnet/,
    );
    refuses(() => up(['--tap', 'tap0', '--mtu', '20']), /--mtu must be/);
    refuses(() => up(['--frobnicate']), /unknown option --frobnicate/);
    refuses(() => up(['--pcap', 'x.pcap']), /--pcap needs a device/);
    assert.deepEqual(
      up(['--dns', '10.0.0.53', '--dns', '[2001:db8::53]:5353', '--dns', '10.0.0.54:5353']).dns.map((d) => [
        d.text,
        d.port,
      ]),
      [
        ['10.0.0.53', 53],
        ['2001:db8::53', 5353],
        ['10.0.0.54', 5353],
      ],
    );
    refuses(() => up(['--dns', 'dns.example']), /--dns: expected ADDR/);
    refuses(() => up(['--dns', '10.0.0.53:0']), /--dns: expected ADDR/);
    refuses(() => up(Array.from({ length: 9 }, (_, i) => ['--dns', `10.0.0.${i + 1}`]).flat()), /at most 8/);
  });
});

describe('netstack ping over the loopback interface (no device)', () => {
  test('replies, statistics, exit 0', () => {
    const r = netstack(['ping', '-c', '3', '-i', '0.01', '127.0.0.1']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.');
    for (let seq = 1; seq <= 3; seq++)
      assert.match(
        lines[seq]!,
        new RegExp(`^64 bytes from 127\\.0\\.0\\.1: icmp_seq=${seq} ttl=64 time=[0-9.]+ ms$`),
      );
    assert.equal(lines[4], '');
    assert.equal(lines[5], '--- 127.0.0.1 ping statistics ---');
    assert.match(lines[6]!, /^3 packets transmitted, 3 received, 0% packet loss, time \d+ms$/);
    assert.match(lines[7]!, /^rtt min\/avg\/max\/mdev = \d+\.\d{3}\/\d+\.\d{3}\/\d+\.\d{3}\/\d+\.\d{3} ms$/);
  });

  test('--json: one event per line', () => {
    const r = netstack(['ping', '--json', '-c', '2', '-i', '0.01', '-s', '100', '127.0.0.1']);
    assert.equal(r.status, 0, r.stderr);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; bytes?: number; received?: number });
    assert.deepEqual(
      events.map((e) => e.event),
      ['ping', 'reply', 'reply', 'statistics'],
    );
    assert.equal(events[1]!.bytes, 108);
    assert.equal(events[3]!.received, 2);
  });
});

describe('host names without a device (the hosts table, and no name server)', () => {
  test('ping localhost: the hosts table, IPv4 first; -6 picks ::1', () => {
    const r = netstack(['ping', '-c', '1', 'localhost']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /^PING localhost \(127\.0\.0\.1\) 56\(84\) bytes of data\.\n64 bytes from 127\.0\.0\.1: /,
    );
    assert.match(r.stdout, /^--- localhost ping statistics ---$/m);
    const r6 = netstack(['ping', '-6', '-c', '1', 'localhost']);
    assert.equal(r6.status, 0, r6.stderr);
    assert.match(r6.stdout, /^PING localhost \(::1\) 56 data bytes\n/);
  });

  test('a name with no name server to ask, and a family the address does not have: exit 2, as ping', () => {
    assertOneLineError(
      netstack(['ping', '-c', '1', 'www.example']),
      2,
      /^netstack ping: www\.example: Temporary failure in name resolution$/m,
    );
    assertOneLineError(
      netstack(['ping', '-4', '-c', '1', '::1']),
      2,
      /^netstack ping: ::1: Address family for hostname not supported$/m,
    );
  });

  test('nc and fetch say it as OpenBSD nc and curl do', () => {
    assertOneLineError(
      netstack(['nc', '-u', 'www.example', '7']),
      1,
      /^netstack nc: getaddrinfo for host "www\.example" port 7: Temporary failure in name resolution$/m,
    );
    assertOneLineError(
      netstack(['fetch', 'http://www.example/']),
      6,
      /^netstack fetch: \(6\) Could not resolve host: www\.example$/m,
    );
    assertOneLineError(
      netstack(['nc', '-6', 'www.example', '80']),
      1,
      /^netstack nc: getaddrinfo for host "www\.example" port 80: Temporary failure in name resolution$/m,
    );
    assertOneLineError(
      netstack(['fetch', '-6', 'http://www.example/']),
      6,
      /^netstack fetch: \(6\) Could not resolve host: www\.example$/m,
    );
  });
});

describe('ping output formatting', () => {
  test('rtt with three significant digits, like iputils', () => {
    assert.equal(formatRtt(0.0456), '0.046');
    assert.equal(formatRtt(1.2345), '1.23');
    assert.equal(formatRtt(12.345), '12.3');
    assert.equal(formatRtt(123.45), '123');
  });

  test('statistics with loss, errors and duplicates', () => {
    const lines = formatStatistics('10.0.0.1', {
      dst: 0,
      transmitted: 3,
      received: 1,
      duplicates: 1,
      errors: 2,
      loss: 200 / 3,
      rtt: { min: 1, avg: 1, max: 1, mdev: 0 },
      time: 2002.4,
    });
    assert.deepEqual(lines, [
      '',
      '--- 10.0.0.1 ping statistics ---',
      '3 packets transmitted, 1 received, +1 duplicates, +2 errors, 66.6667% packet loss, time 2002ms',
      'rtt min/avg/max/mdev = 1.000/1.000/1.000/0.000 ms',
    ]);
    const none = formatStatistics('h', {
      ...{ dst: 0, duplicates: 0, errors: 0 },
      transmitted: 2,
      received: 0,
      loss: 100,
      rtt: undefined,
      time: 1000,
    });
    assert.equal(none.length, 3);
    assert.equal(none[2], '2 packets transmitted, 0 received, 100% packet loss, time 1000ms');
  });

  test('ICMP errors read as ping prints them', () => {
    assert.equal(describeIcmpError(3, 1), 'Destination Host Unreachable');
    assert.equal(describeIcmpError(3, 3), 'Destination Port Unreachable');
    assert.equal(describeIcmpError(3, 4), 'Frag needed and DF set');
    assert.equal(describeIcmpError(11, 0), 'Time to live exceeded');
    assert.equal(describeIcmpError(11, 1), 'Frag reassembly time exceeded');
  });
});
