import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ALL_DHCP_RELAY_AGENTS_AND_SERVERS, openDhcp6Socket } from '../../src/apps/dhcp6/common.ts';
import { Dhcpv6Server, type Dhcpv6ServerOptions } from '../../src/apps/dhcp6/server.ts';
import { startIpv6 } from '../../src/cli/ipv6-options.ts';
import { SECOND } from '../../src/core/time.ts';
import { ipv6ToString } from '../../src/wire/address.ts';
import {
  DHCPV6_CLIENT_PORT,
  DHCPV6_MSG,
  DHCPV6_SERVER_PORT,
  type Dhcpv6Option,
  type Dhcpv6Repr,
  emitDhcpv6,
  findOption,
  parseDhcpv6,
} from '../../src/wire/dhcpv6.ts';
import { ip6, twoHosts6, v6 } from './ipv6-helpers.ts';

/** a: the server; b: a raw DHCPv6 client that speaks for as many DUIDs as a test wants. */
function setup(seed: number, server: Dhcpv6ServerOptions) {
  const t = twoHosts6(seed);
  const dhcp = new Dhcpv6Server(t.a, t.ia, server);
  const replies: Dhcpv6Repr[] = [];
  const socket = openDhcp6Socket(t.b, t.ib, DHCPV6_CLIENT_PORT, (d) => {
    const r = parseDhcpv6(d.data);
    if (r.ok) replies.push(r.value);
  });
  let xid = 1;
  /** Sends `type` for client `duid` with an IA_NA (and Rapid Commit on a Solicit); returns the Reply. */
  const exchange = (type: number, duid: number, serverId?: Uint8Array): Dhcpv6Repr => {
    const options: Dhcpv6Option[] = [
      { kind: 'client-id', duid: Uint8Array.of(0, 4, duid) },
      ...(serverId !== undefined ? [{ kind: 'server-id', duid: serverId } as const] : []),
      ...(type === DHCPV6_MSG.solicit ? [{ kind: 'rapid-commit' } as const] : []),
      { kind: 'ia-na', iaid: 1, t1: 0, t2: 0, options: [] },
    ];
    const transactionId = xid++;
    const before = replies.length;
    socket.send(
      emitDhcpv6({ type, transactionId, options }).bytes(),
      ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
      DHCPV6_SERVER_PORT,
      t.ib,
    );
    assert.ok(
      t.sim.runUntil(() => replies.length > before, 5 * SECOND),
      'no reply',
    );
    const reply = replies.at(-1)!;
    assert.equal(reply.transactionId, transactionId);
    return reply;
  };
  /** The address of a Reply's IA_NA, or its status code's number. */
  const leased = (reply: Dhcpv6Repr): string => {
    const ia = findOption(reply.options, 'ia-na');
    const addr = ia?.options.find((o) => o.kind === 'ia-addr');
    if (addr?.kind === 'ia-addr') return ipv6ToString(addr.address);
    const status = ia?.options.find((o) => o.kind === 'status-code');
    return status?.kind === 'status-code' ? `status ${status.code}` : 'nothing';
  };
  return { ...t, dhcp, exchange, leased };
}

describe('DHCPv6 server in simulation', () => {
  test('a binding lasts its valid lifetime: then its address goes to the next client; Renew extends it', () => {
    const pool = { first: ip6('fd00::100'), size: 1 };
    const t = setup(1, { pool, preferredLifetime: 30, validLifetime: 60 });
    const start = t.sim.now;
    assert.equal(t.leased(t.exchange(DHCPV6_MSG.solicit, 1)), 'fd00::100');
    // The pool's one address is bound: another client gets NoAddrsAvail (RFC 8415 21.13: 2).
    assert.equal(t.leased(t.exchange(DHCPV6_MSG.solicit, 2)), 'status 2');
    // Client 1 renews at 40 s: the binding now ends at 100 s, not 60 s.
    t.sim.advance(start + 40 * SECOND - t.sim.now);
    assert.equal(t.leased(t.exchange(DHCPV6_MSG.renew, 1, t.dhcp.duid)), 'fd00::100');
    t.sim.advance(start + 80 * SECOND - t.sim.now);
    assert.equal(t.leased(t.exchange(DHCPV6_MSG.solicit, 2)), 'status 2');
    assert.equal(ipv6ToString(t.dhcp.leaseOf(Uint8Array.of(0, 4, 1))!), 'fd00::100');
    // Past 100 s client 1 has not renewed: its binding is over and client 2 gets the address.
    t.sim.advance(start + 101 * SECOND - t.sim.now);
    assert.equal(t.dhcp.leaseOf(Uint8Array.of(0, 4, 1)), undefined);
    assert.equal(t.leased(t.exchange(DHCPV6_MSG.solicit, 2)), 'fd00::100');
    assert.equal(t.leased(t.exchange(DHCPV6_MSG.solicit, 1)), 'status 2');
  });

  test('an infinite valid lifetime never ends', () => {
    const pool = { first: ip6('fd00::100'), size: 1 };
    const t = setup(2, { pool, preferredLifetime: 0xffffffff, validLifetime: 0xffffffff });
    assert.equal(t.leased(t.exchange(DHCPV6_MSG.solicit, 1)), 'fd00::100');
    t.sim.advance(30 * 24 * 3600 * SECOND);
    assert.equal(t.leased(t.exchange(DHCPV6_MSG.solicit, 2)), 'status 2');
  });

  test('DNS servers (option 23) and the domain list go out when configured, not otherwise', () => {
    const pool = { first: ip6('fd00::100'), size: 4 };
    const withDns = setup(3, { pool, dnsServers: [ip6('fd00::53')], domains: ['example.test'] });
    const reply = withDns.exchange(DHCPV6_MSG.solicit, 1);
    assert.deepEqual(findOption(reply.options, 'dns-servers')?.servers.map(ipv6ToString), ['fd00::53']);
    assert.deepEqual(findOption(reply.options, 'domain-list')?.domains, ['example.test']);
    const info = withDns.exchange(DHCPV6_MSG.informationRequest, 2);
    assert.deepEqual(findOption(info.options, 'dns-servers')?.servers.map(ipv6ToString), ['fd00::53']);
    const without = setup(4, { pool }).exchange(DHCPV6_MSG.solicit, 1);
    assert.equal(findOption(without.options, 'dns-servers'), undefined);
    assert.equal(findOption(without.options, 'domain-list'), undefined);
  });

  test("netstack up: advertisements set M (RFC 4861 4.2) on the DHCPv6 server's device only", async () => {
    for (const managed of [[0], []]) {
      const t = twoHosts6(5);
      v6(t.a).addAddress(t.ia, ip6('2001:db8:1::1'), 64);
      const flags: boolean[] = [];
      v6(t.b).onRaFlags.push((_i, f) => flags.push(f.managed));
      const up = startIpv6(
        t.a,
        [t.ia],
        { advertise: [{ device: 0, prefix: ip6('2001:db8:1::'), prefixLen: 64 }], managed },
        false,
      );
      // Until the first advertisement and the end of DAD on a's addresses (which `up` waits for).
      const settled = () =>
        v6(t.a)
          .listAddresses(t.ia)
          .every((x) => x.state !== 'tentative');
      assert.ok(t.sim.runUntil(() => flags.length > 0 && settled(), 30 * SECOND));
      (await up).stop();
      assert.deepEqual(flags, [managed.length > 0]);
    }
  });
});
