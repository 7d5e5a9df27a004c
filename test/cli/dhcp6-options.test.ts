/** `netstack up`'s DHCPv6 flags without root or devices: which devices run a client, and how it starts. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseArgs, UsageError } from '../../src/cli/args.ts';
import { parseDhcp6Options } from '../../src/cli/dhcp6.ts';
import { parseInterfaceOptions } from '../../src/cli/interface-options.ts';
import { upFlags } from '../../src/cli/up.ts';

const plan = (argv: string[]) => {
  const a = parseArgs(argv, upFlags);
  return parseDhcp6Options(a, parseInterfaceOptions(a));
};

describe('DHCPv6 command-line options', () => {
  test('--dhcp6 starts a stateful client at once on every TAP', () => {
    assert.deepEqual(plan(['--tap', 'a', '--tun', 'b', '--tap', 'c', '--dhcp6']), {
      clients: [0, 2],
      trigger: 'stateful',
    });
  });

  test('--slaac alone: a client on every TAP, started by the M and O flags of advertisements', () => {
    assert.deepEqual(plan(['--tap', 'a', '--slaac']), { clients: [0], trigger: 'ra' });
    assert.deepEqual(plan(['--tap', 'a']), { clients: [], trigger: 'ra' });
  });

  test('--dhcp6-server: a range inside the --ipv6 prefix of a TAP, at most MAX_POOL addresses', () => {
    const p = plan([
      '--tap',
      'a',
      '--ipv6',
      '2001:db8:1::1/64',
      '--tap',
      'b',
      '--ipv6',
      '2001:db8:2::1/64',
      '--dhcp6-server',
      '2001:db8:2::100-2001:db8:2::1ff',
    ]);
    assert.equal(p.server?.device, 1);
    assert.equal(p.server?.size, 256);
    assert.equal(p.server?.range, '2001:db8:2::100-2001:db8:2::1ff');
    assert.deepEqual(p.clients, []);
    const refuses = (argv: string[], message: RegExp) =>
      assert.throws(
        () => plan(['--tap', 'a', '--ipv6', '2001:db8:1::1/64', ...argv]),
        (e: Error) => e instanceof UsageError && message.test(e.message),
      );
    refuses(['--dhcp6-server', '2001:db8:1::100'], /expected START-END/);
    refuses(['--dhcp6-server', '2001:db8:1::1ff-2001:db8:1::100'], /comes before/);
    refuses(['--dhcp6-server', '2001:db8:9::100-2001:db8:9::1ff'], /not inside the --ipv6 prefix/);
    refuses(['--dhcp6-server', '2001:db8:1::-2001:db8:1::1:0'], /more than 65536/);
    refuses(['--dhcp6-server', '2001:db8:1::-2001:db8:1:0:1::'], /too wide/);
  });

  test('--dhcp6 needs a TAP', () => {
    assert.throws(
      () => plan(['--tun', 'b', '--dhcp6']),
      (e: Error) => e instanceof UsageError && /--dhcp6 needs a --tap/.test(e.message),
    );
  });
});
