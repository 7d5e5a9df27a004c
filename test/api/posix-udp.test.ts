import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AF_INET,
  AF_UNSPEC,
  ERRNO,
  IP_ADD_MEMBERSHIP,
  IP_DROP_MEMBERSHIP,
  IP_MULTICAST_IF,
  IP_MULTICAST_TTL,
  IPPROTO_IP,
  MSG_PEEK,
  MSG_TRUNC,
  POLLERR,
  POLLIN,
  POLLOUT,
  SHUT_RDWR,
  SHUT_WR,
  SO_BROADCAST,
  SO_ERROR,
  SO_REUSEADDR,
  SOCK_DGRAM,
  SOL_SOCKET,
} from '../../src/api/posix/constants.ts';
import type { PollFd } from '../../src/api/posix/poll.ts';
import { sockaddrIn } from '../../src/api/posix/sockaddr.ts';
import { drive, posixPair, str, text, throwsErrno } from './posix-helpers.ts';

describe('POSIX API: UDP', () => {
  test('sendto/recvfrom between two stacks: sender address, MSG_PEEK, MSG_TRUNC, EAGAIN', async () => {
    const { sim, pa, pb } = posixPair(11);
    const s = pb.socket(AF_INET, SOCK_DGRAM, 0);
    pb.bind(s, sockaddrIn('0.0.0.0', 7000));
    assert.deepEqual(pb.getsockname(s), sockaddrIn('0.0.0.0', 7000));
    throwsErrno(() => pb.recvfrom(s, 100), 'EAGAIN', ERRNO.EAGAIN);
    const c = pa.socket(AF_INET, SOCK_DGRAM, 0);
    assert.deepEqual(pa.getsockname(c), sockaddrIn('0.0.0.0', 0), 'unbound');
    assert.equal(pa.sendto(c, text('first datagram'), 0, sockaddrIn('10.0.0.2', 7000)), 14);
    const port = pa.getsockname(c).port;
    assert.ok(port > 0, 'sendto bound an ephemeral port');
    pa.sendto(c, text('second'), 0, sockaddrIn('10.0.0.2', 7000));
    const pf: PollFd = { fd: s, events: POLLIN | POLLOUT };
    assert.equal(pb.pollNow([pf]), 1);
    assert.equal(pf.revents, POLLOUT, 'a datagram socket can always send');
    await drive(sim, pb.poll([{ fd: s, events: POLLIN }], -1));
    pb.pollNow([pf]);
    assert.equal(pf.revents, POLLIN | POLLOUT);
    const peek = pb.recvfrom(s, 100, MSG_PEEK);
    assert.equal(str(peek.data), 'first datagram');
    const cut = pb.recvfrom(s, 5);
    assert.equal(str(cut.data), 'first');
    assert.equal(cut.flags, MSG_TRUNC, 'the rest of the datagram is discarded');
    assert.deepEqual(cut.addr, sockaddrIn('10.0.0.1', port));
    const next = pb.recvfrom(s, 100);
    assert.equal(str(next.data), 'second');
    assert.equal(next.flags, 0);
    throwsErrno(() => pb.recv(s, 100), 'EAGAIN');
    // The answer goes back to the sender's address.
    pb.sendto(s, text('reply'), 0, next.addr);
    const r = await drive(sim, pa.recvfromAsync(c, 100));
    assert.equal(str(r.data), 'reply');
    assert.deepEqual(r.addr, sockaddrIn('10.0.0.2', 7000));
    pa.close(c);
    pb.close(s);
  });

  test('connect: send without an address, EISCONN, EDESTADDRREQ, AF_UNSPEC; ECONNREFUSED from ICMP', async () => {
    const { sim, pa } = posixPair(12);
    const c = pa.socket(AF_INET, SOCK_DGRAM);
    throwsErrno(() => pa.send(c, text('x')), 'EDESTADDRREQ', ERRNO.EDESTADDRREQ);
    throwsErrno(() => pa.getpeername(c), 'ENOTCONN');
    throwsErrno(() => pa.shutdown(c, SHUT_WR), 'ENOTCONN');
    throwsErrno(() => pa.listen(c), 'EOPNOTSUPP');
    throwsErrno(() => pa.accept(c), 'EOPNOTSUPP');
    pa.connect(c, sockaddrIn('10.0.0.2', 9));
    assert.deepEqual(pa.getpeername(c), sockaddrIn('10.0.0.2', 9));
    assert.equal(pa.getsockname(c).address, '10.0.0.1', 'the route chose the source');
    throwsErrno(() => pa.sendto(c, text('x'), 0, sockaddrIn('10.0.0.2', 10)), 'EISCONN');
    // Nobody listens on b's port 9: an ICMP port unreachable comes back.
    pa.send(c, text('anyone?'));
    const pf: PollFd = { fd: c, events: POLLIN };
    await drive(sim, pa.poll([pf], -1));
    assert.equal(pf.revents, POLLERR);
    throwsErrno(() => pa.recv(c, 10), 'ECONNREFUSED', ERRNO.ECONNREFUSED);
    throwsErrno(() => pa.recv(c, 10), 'EAGAIN');
    pa.send(c, text('again?'));
    await drive(sim, pa.poll([{ fd: c, events: POLLIN }], -1));
    assert.equal(pa.getsockopt(c, SOL_SOCKET, SO_ERROR), ERRNO.ECONNREFUSED);
    assert.equal(pa.getsockopt(c, SOL_SOCKET, SO_ERROR), 0);
    pa.connect(c, { family: AF_UNSPEC, address: '0.0.0.0', port: 0 });
    throwsErrno(() => pa.getpeername(c), 'ENOTCONN');
    pa.connect(c, { family: AF_UNSPEC, address: '0.0.0.0', port: 0 });
    // shutdown on a connected datagram socket: EPIPE on send, EOF on recv.
    pa.connect(c, sockaddrIn('10.0.0.2', 9));
    pa.shutdown(c, SHUT_RDWR);
    throwsErrno(() => pa.send(c, text('x')), 'EPIPE');
    assert.equal(pa.recv(c, 10).length, 0);
    pa.close(c);
  });

  test('SO_BROADCAST, SO_REUSEADDR, IP multicast options and memberships', async () => {
    const { sim, pa, pb } = posixPair(13);
    const r1 = pb.socket(AF_INET, SOCK_DGRAM);
    const r2 = pb.socket(AF_INET, SOCK_DGRAM);
    pb.bind(r1, sockaddrIn('0.0.0.0', 5353));
    throwsErrno(() => pb.bind(r2, sockaddrIn('0.0.0.0', 5353)), 'EADDRINUSE');
    pb.setsockopt(r1, SOL_SOCKET, SO_REUSEADDR, 1);
    pb.close(r1);
    const s1 = pb.socket(AF_INET, SOCK_DGRAM);
    assert.equal(s1, r1, 'the lowest free descriptor again');
    for (const fd of [s1, r2]) {
      pb.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
      pb.bind(fd, sockaddrIn('0.0.0.0', 5353));
      pb.setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, { multiaddr: '239.1.2.3', interface: '10.0.0.2' });
    }
    throwsErrno(
      () =>
        pb.setsockopt(s1, IPPROTO_IP, IP_ADD_MEMBERSHIP, { multiaddr: '239.1.2.3', interface: '10.0.0.2' }),
      'EADDRINUSE',
    );
    throwsErrno(() => pb.setsockopt(s1, IPPROTO_IP, IP_ADD_MEMBERSHIP, { multiaddr: '10.0.0.9' }), 'EINVAL');
    const c = pa.socket(AF_INET, SOCK_DGRAM);
    pa.setsockopt(c, IPPROTO_IP, IP_MULTICAST_IF, '10.0.0.1');
    pa.setsockopt(c, IPPROTO_IP, IP_MULTICAST_TTL, 4);
    pa.sendto(c, text('to the group'), 0, sockaddrIn('239.1.2.3', 5353));
    const both = [
      { fd: s1, events: POLLIN },
      { fd: r2, events: POLLIN },
    ];
    await drive(sim, pb.poll(both, -1));
    assert.equal(pb.pollNow(both), 2, 'SO_REUSEADDR: every socket on the port gets the multicast');
    assert.equal(str(pb.recv(s1, 100)), 'to the group');
    assert.equal(str(pb.recv(r2, 100)), 'to the group');
    pb.setsockopt(r2, IPPROTO_IP, IP_DROP_MEMBERSHIP, { multiaddr: '239.1.2.3' });
    throwsErrno(
      () => pb.setsockopt(r2, IPPROTO_IP, IP_DROP_MEMBERSHIP, { multiaddr: '239.1.2.3' }),
      'EADDRNOTAVAIL',
    );
    // Broadcast needs SO_BROADCAST (EACCES without it).
    throwsErrno(() => pa.sendto(c, text('all'), 0, sockaddrIn('10.0.0.255', 5353)), 'EACCES', ERRNO.EACCES);
    pa.setsockopt(c, SOL_SOCKET, SO_BROADCAST, 1);
    pa.sendto(c, text('all'), 0, sockaddrIn('10.0.0.255', 5353));
    const d = await drive(sim, pb.recvfromAsync(s1, 100));
    assert.equal(str(d.data), 'all');
    for (const fd of [s1, r2]) pb.close(fd);
    pa.close(c);
  });
});
