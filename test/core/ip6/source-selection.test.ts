import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Ipv6AddressState } from '../../../src/core/ip6/addresses6.ts';
import { type SourceCandidate, selectSource } from '../../../src/core/ip6/source-selection.ts';
import { ipv6ToString, parseIpv6 } from '../../../src/wire/address.ts';

function c(text: string, state: Ipv6AddressState = 'preferred', temporary = false): SourceCandidate {
  return { addr: parseIpv6(text)!, prefixLen: 64, state, temporary, iface: undefined };
}

function pick(dst: string, candidates: SourceCandidate[]): string {
  return ipv6ToString(selectSource(parseIpv6(dst)!, candidates)!.addr);
}

describe('RFC 6724 source address selection', () => {
  // RFC 6724 10.1, in order (the home-address example needs Mobile IPv6 and is left out).
  test('prefer the appropriate scope', () => {
    assert.equal(pick('2001:db8:1::1', [c('2001:db8:3::1'), c('fe80::1')]), '2001:db8:3::1');
    assert.equal(pick('ff05::1', [c('2001:db8:3::1'), c('fe80::1')]), '2001:db8:3::1');
    assert.equal(pick('fe80::1', [c('fe80::2', 'deprecated'), c('2001:db8:1::1')]), 'fe80::2');
  });
  test('prefer the same address, even deprecated', () => {
    assert.equal(
      pick('2001:db8:1::1', [c('2001:db8:1::1', 'deprecated'), c('2001:db8:2::1')]),
      '2001:db8:1::1',
    );
  });
  test('longest matching prefix', () => {
    assert.equal(pick('2001:db8:1::1', [c('2001:db8:1::2'), c('2001:db8:3::2')]), '2001:db8:1::2');
  });
  test('prefer a matching label', () => {
    assert.equal(
      pick('2002:c633:6401::1', [c('2002:c633:6401::d5e3:7953:13eb:22e8', 'preferred', true), c('2001::2')]),
      '2002:c633:6401:0:d5e3:7953:13eb:22e8',
    );
  });
  test('prefer temporary addresses', () => {
    assert.equal(
      pick('2001:db8:1::d5e3:0:0:1', [
        c('2001:db8:1::2'),
        c('2001:db8:1::d5e3:7953:13eb:22e8', 'preferred', true),
      ]),
      '2001:db8:1:0:d5e3:7953:13eb:22e8',
    );
  });
  test('avoid deprecated and optimistic addresses (RFC 4429 3.3)', () => {
    assert.equal(
      pick('2001:db8:9::1', [c('2001:db8:1::1', 'deprecated'), c('2001:db8:2::1')]),
      '2001:db8:2::1',
    );
    assert.equal(
      pick('2001:db8:9::1', [c('2001:db8:1::1', 'optimistic'), c('2001:db8:2::1')]),
      '2001:db8:2::1',
    );
  });
});
