import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as C from '../../src/api/posix/constants.ts';
import type { OptionValue } from '../../src/api/posix/options.ts';
import { sockaddrIn } from '../../src/api/posix/sockaddr.ts';
import type { TcpInfo } from '../../src/core/tcp/tcp-info.ts';
import { drive, posixPair, throwsErrno } from './posix-helpers.ts';

type Case = [
  level: number,
  name: number,
  label: string,
  before: OptionValue,
  set: OptionValue,
  after?: OptionValue,
];

/** Options of both transports: the default, a value set, and what is read back. */
const COMMON: Case[] = [
  [C.SOL_SOCKET, C.SO_REUSEADDR, 'SO_REUSEADDR', 0, 1],
  [C.SOL_SOCKET, C.SO_REUSEPORT, 'SO_REUSEPORT', 0, true, 1],
  [C.SOL_SOCKET, C.SO_KEEPALIVE, 'SO_KEEPALIVE', 0, 1],
  [C.SOL_SOCKET, C.SO_BROADCAST, 'SO_BROADCAST', 0, 5, 1],
  [C.SOL_SOCKET, C.SO_LINGER, 'SO_LINGER', { onoff: 0, linger: 0 }, { onoff: 1, linger: 7 }],
  [C.SOL_SOCKET, C.SO_SNDBUF, 'SO_SNDBUF', -1, 65536],
  [C.SOL_SOCKET, C.SO_RCVBUF, 'SO_RCVBUF', -1, 32768],
];

const UDP: Case[] = [
  ...COMMON,
  [C.SOL_SOCKET, C.SO_BINDTODEVICE, 'SO_BINDTODEVICE', '', 'eth0'],
  [C.IPPROTO_IP, C.IP_TTL, 'IP_TTL', 64, 9],
  [C.IPPROTO_IP, C.IP_TOS, 'IP_TOS', 0, 0x10],
  [C.IPPROTO_IP, C.IP_MULTICAST_TTL, 'IP_MULTICAST_TTL', 1, 32],
  [C.IPPROTO_IP, C.IP_MULTICAST_LOOP, 'IP_MULTICAST_LOOP', 1, 0],
  [C.IPPROTO_IP, C.IP_MULTICAST_IF, 'IP_MULTICAST_IF', '0.0.0.0', '10.0.0.1'],
];

const TCP: Case[] = [
  ...COMMON,
  [C.IPPROTO_TCP, C.TCP_NODELAY, 'TCP_NODELAY', 0, 1],
  [C.IPPROTO_TCP, C.TCP_KEEPIDLE, 'TCP_KEEPIDLE', 7200, 30],
  [C.IPPROTO_TCP, C.TCP_KEEPINTVL, 'TCP_KEEPINTVL', 75, 5],
  [C.IPPROTO_TCP, C.TCP_KEEPCNT, 'TCP_KEEPCNT', 9, 3],
  [C.IPPROTO_TCP, C.TCP_USER_TIMEOUT, 'TCP_USER_TIMEOUT', 0, 30000],
  [C.IPPROTO_TCP, C.TCP_CONGESTION, 'TCP_CONGESTION', 'cubic', 'newreno'],
];

describe('POSIX API: socket options', () => {
  for (const [kind, type, cases] of [
    ['UDP', C.SOCK_DGRAM, UDP],
    ['TCP', C.SOCK_STREAM, TCP],
  ] as const) {
    test(`${kind}: every option reads its default, then what was set`, () => {
      const { pa } = posixPair(21);
      const fd = pa.socket(C.AF_INET, type);
      for (const [level, name, label, before, set, after] of cases) {
        if (before !== -1) assert.deepEqual(pa.getsockopt(fd, level, name), before, `${label} default`);
        pa.setsockopt(fd, level, name, set);
        assert.deepEqual(pa.getsockopt(fd, level, name), after ?? set, label);
      }
      assert.equal(pa.getsockopt(fd, C.SOL_SOCKET, C.SO_TYPE), type);
      assert.equal(pa.getsockopt(fd, C.SOL_SOCKET, C.SO_DOMAIN), C.AF_INET);
      assert.equal(
        pa.getsockopt(fd, C.SOL_SOCKET, C.SO_PROTOCOL),
        type === C.SOCK_STREAM ? C.IPPROTO_TCP : C.IPPROTO_UDP,
      );
      assert.equal(pa.getsockopt(fd, C.SOL_SOCKET, C.SO_ERROR), 0);
      for (const name of [C.SO_TYPE, C.SO_DOMAIN, C.SO_PROTOCOL, C.SO_ERROR, C.SO_ACCEPTCONN]) {
        throwsErrno(() => pa.setsockopt(fd, C.SOL_SOCKET, name, 1), 'ENOPROTOOPT', C.ERRNO.ENOPROTOOPT);
      }
      // No IPv6 options on an AF_INET socket (as Linux), and the other transport's are refused.
      for (const name of [C.IPV6_V6ONLY, C.IPV6_UNICAST_HOPS, C.IPV6_JOIN_GROUP]) {
        throwsErrno(() => pa.setsockopt(fd, C.IPPROTO_IPV6, name, 1), 'ENOPROTOOPT');
      }
      const other = type === C.SOCK_STREAM ? [C.IPPROTO_IP, C.IP_TTL] : [C.IPPROTO_TCP, C.TCP_NODELAY];
      throwsErrno(() => pa.getsockopt(fd, other[0]!, other[1]!), 'ENOPROTOOPT');
      throwsErrno(() => pa.setsockopt(fd, 999, 1, 1), 'ENOPROTOOPT');
      pa.close(fd);
    });
  }

  test('bad values: EINVAL, ENOENT for an unknown congestion control, ENODEV, EADDRNOTAVAIL', () => {
    const { pa } = posixPair(22);
    const u = pa.socket(C.AF_INET, C.SOCK_DGRAM);
    const t = pa.socket(C.AF_INET, C.SOCK_STREAM);
    throwsErrno(() => pa.setsockopt(u, C.IPPROTO_IP, C.IP_TTL, 0), 'EINVAL', C.ERRNO.EINVAL);
    throwsErrno(() => pa.setsockopt(u, C.IPPROTO_IP, C.IP_TTL, 256), 'EINVAL');
    pa.setsockopt(u, C.IPPROTO_IP, C.IP_TTL, 5);
    pa.setsockopt(u, C.IPPROTO_IP, C.IP_TTL, -1);
    assert.equal(pa.getsockopt(u, C.IPPROTO_IP, C.IP_TTL), 64, '-1 restores the default');
    throwsErrno(() => pa.setsockopt(u, C.IPPROTO_IP, C.IP_TOS, 1.5), 'EINVAL');
    throwsErrno(() => pa.setsockopt(u, C.SOL_SOCKET, C.SO_RCVBUF, 0), 'EINVAL');
    throwsErrno(() => pa.setsockopt(u, C.SOL_SOCKET, C.SO_REUSEADDR, 'yes'), 'EINVAL');
    throwsErrno(() => pa.setsockopt(u, C.SOL_SOCKET, C.SO_BINDTODEVICE, 'wlan9'), 'ENODEV');
    assert.equal(pa.getsockopt(u, C.SOL_SOCKET, C.SO_BINDTODEVICE), '', 'unchanged after a failure');
    throwsErrno(() => pa.setsockopt(u, C.IPPROTO_IP, C.IP_MULTICAST_IF, '10.9.9.9'), 'EADDRNOTAVAIL');
    throwsErrno(() => pa.setsockopt(u, C.IPPROTO_IP, C.IP_MULTICAST_IF, 'nonsense'), 'EINVAL');
    throwsErrno(() => pa.getsockopt(u, C.IPPROTO_IP, C.IP_ADD_MEMBERSHIP), 'ENOPROTOOPT');
    throwsErrno(() => pa.setsockopt(t, C.IPPROTO_TCP, C.TCP_KEEPCNT, 128), 'EINVAL');
    throwsErrno(() => pa.setsockopt(t, C.IPPROTO_TCP, C.TCP_KEEPIDLE, 0), 'EINVAL');
    throwsErrno(() => pa.setsockopt(t, C.IPPROTO_TCP, C.TCP_CONGESTION, 'bbr'), 'ENOENT');
    throwsErrno(() => pa.setsockopt(t, C.SOL_SOCKET, C.SO_LINGER, 1), 'EINVAL');
    throwsErrno(() => pa.setsockopt(t, C.IPPROTO_TCP, C.TCP_MAXSEG, 1000), 'ENOPROTOOPT');
    throwsErrno(() => pa.getsockopt(t, C.IPPROTO_TCP, C.TCP_INFO), 'ENOTCONN');
    assert.equal(pa.getsockopt(t, C.IPPROTO_TCP, C.TCP_MAXSEG), 536);
  });

  test('TCP options reach the connection; an accepted socket inherits the listener’s', async () => {
    const { sim, a, pa, pb } = posixPair(23);
    const ls = pb.socket(C.AF_INET, C.SOCK_STREAM);
    pb.setsockopt(ls, C.IPPROTO_TCP, C.TCP_NODELAY, 1);
    pb.setsockopt(ls, C.IPPROTO_TCP, C.TCP_CONGESTION, 'newreno');
    pb.bind(ls, sockaddrIn('0.0.0.0', 80));
    pb.listen(ls);
    assert.equal(pb.getsockopt(ls, C.SOL_SOCKET, C.SO_ACCEPTCONN), 1);
    const fd = pa.socket(C.AF_INET, C.SOCK_STREAM);
    pa.setsockopt(fd, C.IPPROTO_TCP, C.TCP_CONGESTION, 'newreno');
    pa.setsockopt(fd, C.SOL_SOCKET, C.SO_KEEPALIVE, 1);
    pa.setsockopt(fd, C.IPPROTO_TCP, C.TCP_KEEPIDLE, 10);
    pa.setsockopt(fd, C.IPPROTO_TCP, C.TCP_KEEPINTVL, 2);
    const [acc] = await drive(
      sim,
      Promise.all([pb.acceptAsync(ls), pa.connectAsync(fd, sockaddrIn('10.0.0.2', 80))]),
    );
    assert.equal(pb.getsockopt(acc.fd, C.IPPROTO_TCP, C.TCP_NODELAY), 1);
    assert.equal(pb.getsockopt(acc.fd, C.IPPROTO_TCP, C.TCP_CONGESTION), 'newreno');
    assert.equal(pb.getsockopt(acc.fd, C.SOL_SOCKET, C.SO_ACCEPTCONN), 0);
    const info = pa.getsockopt(fd, C.IPPROTO_TCP, C.TCP_INFO) as TcpInfo;
    assert.equal(info.congestionControl, 'newreno');
    assert.equal(pa.getsockopt(fd, C.IPPROTO_TCP, C.TCP_MAXSEG), info.sndMss);
    assert.ok(info.sndMss > 536, 'the MSS negotiated on the wire');
    pa.setsockopt(fd, C.IPPROTO_TCP, C.TCP_CONGESTION, 'cubic');
    assert.equal((pa.getsockopt(fd, C.IPPROTO_TCP, C.TCP_INFO) as TcpInfo).congestionControl, 'cubic');
    // Keepalive after 10 s idle, then every 2 s: probes on virtual time.
    const probes = a.stack.counters.get('tcp.tx.keepalives');
    const before = probes.value;
    sim.advance(15_000);
    assert.ok(probes.value > before, 'keepalive probes were sent');
    pa.close(fd);
    pb.close(acc.fd);
    pb.close(ls);
  });
});
