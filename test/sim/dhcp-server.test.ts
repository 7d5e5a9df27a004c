import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { macToChaddr } from '../../src/apps/dhcp/dhcp-common.ts';
import { MemoryLeaseStore } from '../../src/apps/dhcp/lease-store.ts';
import { DhcpServer } from '../../src/apps/dhcp/server.ts';
import { DhcpLeaseFile } from '../../src/bindings/node/dhcp-lease-file.ts';
import { SECOND } from '../../src/core/time.ts';
import { ipv4ToString } from '../../src/wire/address.ts';
import { DHCP_MESSAGE_TYPE } from '../../src/wire/dhcp-options.ts';
import { configure, ip } from '../helpers/sim-hosts.ts';
import { addresses, dhcpLan, rawDhcpHost } from './dhcp-helpers.ts';

const { discover, request, inform, ack, offer, nak } = DHCP_MESSAGE_TYPE;

/** A made-up chaddr numbered `n`. */
function mac(n: number): Uint8Array {
  return new Uint8Array([2, 0xee, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff, 1]);
}

describe('DHCP server, in simulation', () => {
  test('pool exhaustion: the client after the last address waits, and gets the one released', () => {
    const lan = dhcpLan(21, {}, 3);
    const clients = [1, 2, 3, 4].map((i) => lan.addClient(`c${i}`));
    for (const c of clients.slice(0, 3)) c.client.start();
    assert.ok(
      lan.sim.runUntil(() => clients.slice(0, 3).every((c) => c.client.state === 'bound'), 60 * SECOND),
    );
    const last = clients[3]!;
    last.client.start();
    lan.sim.advance(100 * SECOND);
    assert.equal(last.client.state, 'selecting');
    assert.ok(lan.serverStack.counters.value('dhcp.server.rx.drop.pool-exhausted') >= 3);
    clients[1]!.client.stop();
    assert.ok(lan.sim.runUntil(() => last.client.state === 'bound', 120 * SECOND));
    assert.deepEqual(addresses(last.stack, last.iface), ['10.0.0.101/24']);
  });

  test('a DISCOVER flood with made-up hardware addresses is rate limited and holds few offers', () => {
    const lan = dhcpLan(22, {}, 150);
    const attacker = lan.addClient('attacker');
    const raw = rawDhcpHost(attacker.stack, attacker.iface);
    // 2000 DISCOVERs from 2000 "clients" in 10 s.
    for (let i = 0; i < 2000; i++) {
      lan.sim.after(i * 5, () => raw.send({ xid: i, chaddr: mac(i), options: { messageType: discover } }));
    }
    lan.sim.advance(10 * SECOND);
    const s = lan.serverStack.counters;
    const offers = s.value('dhcp.server.tx.offer');
    // Burst 20, then 10 per second, and never more than 32 offers held at once (30 s each).
    assert.equal(offers, 32);
    assert.equal(
      s.value('dhcp.server.rx.drop.too-many-offers') + s.value('dhcp.server.rx.drop.rate-limited'),
      2000 - 32,
    );
    assert.ok(s.value('dhcp.server.rx.drop.rate-limited') > 1800);
    // Once the flood stops and the offers lapse, a real client is served.
    const c = lan.addClient('c1');
    lan.sim.advance(30 * SECOND);
    c.client.start();
    assert.ok(lan.sim.runUntil(() => c.client.state === 'bound', 60 * SECOND));
  });

  test('one MAC address holds at most two leases, whatever client identifiers it makes up', () => {
    const lan = dhcpLan(23);
    const host = lan.addClient('h');
    const raw = rawDhcpHost(host.stack, host.iface);
    const chaddr = mac(7);
    for (let i = 0; i < 5; i++) {
      const clientId = new Uint8Array([0, i]);
      raw.send({ xid: i, chaddr, options: { messageType: discover, clientId } });
      lan.sim.advance(SECOND);
      const got = raw.replies.find((r) => r.msg.xid === i && r.msg.options.messageType === offer);
      if (got === undefined) continue;
      raw.send({
        xid: i,
        chaddr,
        options: {
          messageType: request,
          clientId,
          serverId: ip('10.0.0.1'),
          requestedAddress: got.msg.yiaddr,
        },
      });
      lan.sim.advance(SECOND);
    }
    assert.equal(raw.replies.filter((r) => r.msg.options.messageType === ack).length, 2);
    assert.equal(lan.serverStack.counters.value('dhcp.server.rx.drop.too-many-leases'), 3);
  });

  test('reservations by MAC address and by client identifier; nobody else gets a reserved address', () => {
    const lan = dhcpLan(24, {}, 2);
    const a = lan.addClient('a');
    const b = lan.addClient('b', { clientId: new Uint8Array([0, 0x42]) });
    const other = lan.addClient('other');
    lan.server.stop();
    const server = new DhcpServer(lan.serverStack, lan.serverIface, {
      start: ip('10.0.0.100'),
      end: ip('10.0.0.101'),
      reservations: [
        { mac: a.iface.mac, address: ip('10.0.0.100'), hostName: 'alpha' },
        { clientId: new Uint8Array([0, 0x42]), address: ip('10.0.0.150') },
      ],
    });
    server.start();
    other.client.start();
    assert.ok(lan.sim.runUntil(() => other.client.state === 'bound', 30 * SECOND));
    assert.deepEqual(addresses(other.stack, other.iface), ['10.0.0.101/24']);
    a.client.start();
    b.client.start();
    assert.ok(lan.sim.runUntil(() => a.client.state === 'bound' && b.client.state === 'bound', 30 * SECOND));
    assert.deepEqual(addresses(a.stack, a.iface), ['10.0.0.100/24']);
    assert.equal(a.client.lease!.hostName, 'alpha');
    // A reservation may lie outside the pool.
    assert.deepEqual(addresses(b.stack, b.iface), ['10.0.0.150/24']);
  });

  test('leases expire on the server when a client vanishes, and the store follows', () => {
    const store = new MemoryLeaseStore();
    const lan = dhcpLan(25, { leaseTime: 600, store });
    const c = lan.addClient('c1', { releaseOnStop: false });
    c.client.start();
    assert.ok(lan.sim.runUntil(() => c.client.state === 'bound', 30 * SECOND));
    assert.equal(store.snapshot?.leases.length, 1);
    assert.equal(store.snapshot?.leases[0]?.address, '10.0.0.100');
    c.client.stop();
    lan.sim.advance(601 * SECOND);
    assert.equal(lan.serverStack.counters.value('dhcp.server.expired'), 1);
    assert.deepEqual(store.snapshot?.leases, []);
    assert.equal(lan.server.pool.entryAt(ip('10.0.0.100'))?.state, 'free');
  });

  test('a restarted server keeps its leases (memory store): renewals are ACKed, new clients get other addresses', () => {
    const store = new MemoryLeaseStore();
    const lan = dhcpLan(26, { store });
    const c = lan.addClient('c1');
    c.client.start();
    assert.ok(lan.sim.runUntil(() => c.client.state === 'bound', 30 * SECOND));
    lan.server.stop();
    const restarted = new DhcpServer(lan.serverStack, lan.serverIface, {
      start: ip('10.0.0.100'),
      end: ip('10.0.0.149'),
      store,
    });
    restarted.start();
    assert.equal(lan.serverStack.counters.value('dhcp.server.restored'), 1);
    assert.equal(restarted.pool.entryAt(ip('10.0.0.100'))?.state, 'bound');
    const d = lan.addClient('c2');
    d.client.start();
    assert.ok(lan.sim.runUntil(() => d.client.state === 'bound', 30 * SECOND));
    assert.deepEqual(addresses(d.stack, d.iface), ['10.0.0.101/24']);
    lan.sim.advance(1800 * SECOND);
    assert.equal(c.stack.counters.value('dhcp.client.renewals'), 1);
    assert.equal(lan.serverStack.counters.value('dhcp.server.tx.nak'), 0);
  });

  test('the lease file keeps wall-clock ends, and load gives back the time left', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dhcp-leases-'));
    try {
      const path = join(dir, 'leases.json');
      let wall = 1_000_000;
      const file = new DhcpLeaseFile(path, () => wall);
      assert.equal(file.load(), undefined);
      file.save({
        version: 1,
        leases: [
          { address: '10.0.0.100', client: 'hw:02eeff000001', mac: '02:ee:ff:00:00:01', remaining: 60_000 },
          {
            address: '10.0.0.101',
            client: 'id:0042',
            mac: '02:ee:ff:00:00:02',
            hostName: 'b',
            remaining: null,
          },
        ],
      });
      const onDisk = JSON.parse(readFileSync(path, 'utf8'));
      assert.equal(onDisk.leases[0].expiresAt, 1_060_000);
      assert.equal(onDisk.leases[1].expiresAt, null);
      wall += 20_000;
      assert.deepEqual(
        file.load()?.leases.map((l) => l.remaining),
        [40_000, null],
      );
      writeFileSync(path, JSON.stringify({ version: 1, leases: [{ address: 5 }, onDisk.leases[1]] }));
      assert.equal(file.load()?.leases.length, 1);
      assert.equal(file.rejected, 1);
      writeFileSync(path, '{"version": 2}');
      assert.throws(() => file.load(), { code: 'EINVAL' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('INFORM is answered by unicast to ciaddr, with the configuration and no lease', () => {
    const lan = dhcpLan(27);
    const h = lan.addClient('h');
    configure(h.stack, h.iface, '10.0.0.20/24');
    const raw = rawDhcpHost(h.stack, h.iface);
    raw.send({
      xid: 9,
      broadcast: false,
      ciaddr: ip('10.0.0.20'),
      chaddr: mac(1),
      options: { messageType: inform },
    });
    lan.sim.advance(SECOND);
    assert.equal(raw.replies.length, 1);
    const r = raw.replies[0]!;
    assert.equal(r.msg.options.messageType, ack);
    assert.equal(ipv4ToString(r.dst), '10.0.0.20');
    assert.equal(r.msg.yiaddr, 0);
    assert.equal(r.msg.options.leaseTime, undefined);
    assert.deepEqual(r.msg.options.dnsServers, [ip('10.0.0.53'), ip('10.0.0.54')]);
  });

  test('without the BROADCAST flag the OFFER goes unicast to yiaddr at chaddr; NAK is broadcast', () => {
    const lan = dhcpLan(28);
    const h = lan.addClient('h');
    let unicastOffer: number | undefined;
    h.iface.addObserver((direction, frame) => {
      // An IPv4 frame to our MAC (not broadcast) carrying UDP to port 68.
      if (
        direction === 'rx' &&
        frame[0] !== 0xff &&
        frame[12] === 8 &&
        frame[23] === 17 &&
        frame[37] === 68
      ) {
        unicastOffer = (frame[30]! << 24) | (frame[31]! << 16) | (frame[32]! << 8) | frame[33]!;
      }
    });
    const raw = rawDhcpHost(h.stack, h.iface);
    raw.send({
      xid: 3,
      broadcast: false,
      chaddr: macToChaddr(h.iface.mac),
      options: { messageType: discover },
    });
    lan.sim.advance(SECOND);
    assert.equal(ipv4ToString(unicastOffer! >>> 0), '10.0.0.100');
    // The host has no address, so its IPv4 layer drops the unicast (as RFC 2131 4.1 expects of
    // a client that cannot receive unicast before configuration: it sets the flag).
    assert.equal(raw.replies.length, 0);
    raw.send({
      xid: 4,
      broadcast: false,
      chaddr: mac(2),
      options: { messageType: request, requestedAddress: ip('10.0.0.100') },
    });
    raw.send({
      xid: 5,
      broadcast: false,
      chaddr: mac(3),
      options: { messageType: request, requestedAddress: ip('192.168.0.9') },
    });
    lan.sim.advance(SECOND);
    assert.deepEqual(
      raw.replies.map((r) => [r.msg.xid, r.msg.options.messageType, ipv4ToString(r.dst)]),
      [[5, nak, '255.255.255.255']],
    );
    // xid 4: INIT-REBOOT from a client the server has no record of: silence (RFC 2131 4.3.2).
    assert.equal(lan.serverStack.counters.value('dhcp.server.rx.drop.not-our-lease'), 1);
  });

  test('malformed and relayed messages are counted and dropped', () => {
    const lan = dhcpLan(29);
    const h = lan.addClient('h');
    const raw = rawDhcpHost(h.stack, h.iface);
    raw.socket.send(new Uint8Array(100), ip('255.255.255.255'), 67);
    raw.send({ xid: 1, giaddr: ip('10.9.9.9'), options: { messageType: discover } });
    raw.send({ xid: 2, op: 2, options: { messageType: discover } });
    raw.send({ xid: 3, htype: 6, options: { messageType: discover } });
    raw.send({ xid: 4, options: {} });
    lan.sim.advance(SECOND);
    const s = lan.serverStack.counters;
    for (const reason of ['truncated', 'relayed', 'wrong-op', 'bad-hardware', 'no-message-type']) {
      assert.equal(s.value(`dhcp.server.rx.drop.${reason}`), 1, reason);
    }
    assert.equal(raw.replies.length, 0);
  });
});
