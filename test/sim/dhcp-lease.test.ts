import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { leaseDeadlines, leaseFromAck, renewRetransmitDelay } from '../../src/apps/dhcp/client-state.ts';
import { INFINITE_LEASE, maskPrefix } from '../../src/apps/dhcp/dhcp-common.ts';
import { SECOND } from '../../src/core/time.ts';
import type { DhcpRepr } from '../../src/wire/dhcp.ts';
import type { DhcpOptions } from '../../src/wire/dhcp-options.ts';
import { ip } from '../helpers/sim-hosts.ts';

function ack(yiaddr: string, options: DhcpOptions): DhcpRepr {
  return {
    op: 2,
    htype: 1,
    hops: 0,
    xid: 1,
    secs: 0,
    broadcast: false,
    ciaddr: 0,
    yiaddr: ip(yiaddr),
    siaddr: 0,
    giaddr: 0,
    chaddr: new Uint8Array(6),
    sname: '',
    file: '',
    options: { messageType: 5, ...options },
  };
}

const times = (options: DhcpOptions) => {
  const l = leaseFromAck(ack('10.0.0.5', options), ip('10.0.0.1'), 0)!;
  return [l.leaseTime, l.renewalTime, l.rebindingTime];
};

describe('DHCP lease from an ACK', () => {
  test('T1 and T2 default to 0.5 and 0.875 of the lease (RFC 2131 4.4.5); sane server values are kept', () => {
    assert.deepEqual(times({ leaseTime: 1000 }), [1000, 500, 875]);
    assert.deepEqual(times({ leaseTime: 1000, renewalTime: 100, rebindingTime: 200 }), [1000, 100, 200]);
  });

  test('T1/T2 out of order are fixed up so that T1 < T2 < lease', () => {
    assert.deepEqual(times({ leaseTime: 1000, renewalTime: 900, rebindingTime: 800 }), [1000, 400, 800]);
    assert.deepEqual(times({ leaseTime: 1000, renewalTime: 2000 }), [1000, 500, 875]);
    assert.deepEqual(times({ leaseTime: 1000, rebindingTime: 5000 }), [1000, 500, 875]);
    assert.deepEqual(times({ leaseTime: 1000, renewalTime: 700 }), [1000, 700, 875]);
  });

  test('an infinite lease has no deadlines; no address or no lease time is no lease', () => {
    const l = leaseFromAck(ack('10.0.0.5', { leaseTime: INFINITE_LEASE }), ip('10.0.0.1'), 5)!;
    assert.deepEqual(leaseDeadlines(l), { t1: Infinity, t2: Infinity, expires: Infinity });
    assert.equal(leaseFromAck(ack('0.0.0.0', { leaseTime: 60 }), 1, 0), undefined);
    assert.equal(leaseFromAck(ack('10.0.0.5', {}), 1, 0), undefined);
  });

  test('the prefix comes from the subnet mask, else the address class', () => {
    const prefix = (yiaddr: string, options: DhcpOptions) =>
      leaseFromAck(ack(yiaddr, { leaseTime: 60, ...options }), 1, 0)!.prefixLen;
    assert.equal(prefix('10.0.0.5', { subnetMask: ip('255.255.240.0') }), 20);
    assert.equal(prefix('10.0.0.5', {}), 8);
    assert.equal(prefix('172.16.0.5', {}), 16);
    assert.equal(
      prefix('192.168.0.5', { subnetMask: ip('255.0.255.0') }),
      24,
      'a mask with holes is ignored',
    );
    assert.deepEqual(
      [maskPrefix(0), maskPrefix(0xffff_ffff), maskPrefix(ip('255.255.255.128'))],
      [0, 32, 25],
    );
  });

  test('RENEWING/REBINDING retransmit after half the time left, at least 60 s, never past the deadline', () => {
    assert.equal(renewRetransmitDelay(0, 1000 * SECOND), 500 * SECOND);
    assert.equal(renewRetransmitDelay(0, 100 * SECOND), 60 * SECOND);
    assert.equal(renewRetransmitDelay(0, 30 * SECOND), 30 * SECOND);
  });
});
