import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AF_INET,
  AF_INET6,
  ERRNO,
  errnoName,
  IPPROTO_ICMP,
  IPPROTO_UDP,
  POLLIN,
  POLLNVAL,
  POLLOUT,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOCK_STREAM,
} from '../../src/api/posix/constants.ts';
import { MAX_POLL_WAITERS, type PollFd } from '../../src/api/posix/poll.ts';
import { sockaddrIn } from '../../src/api/posix/sockaddr.ts';
import { drive, posixPair, rejectsErrno, text, throwsErrno } from './posix-helpers.ts';

describe('POSIX API: descriptors and poll', () => {
  test('descriptors: 3 first, lowest free reused, EBADF, ENOTSOCK for 0..2', () => {
    const { pa } = posixPair(31);
    const fds = [0, 1, 2, 3].map(() => pa.socket(AF_INET, SOCK_DGRAM));
    assert.deepEqual(fds, [3, 4, 5, 6]);
    pa.close(4);
    pa.close(5);
    assert.equal(pa.socket(AF_INET, SOCK_STREAM), 4);
    pa.close(3);
    assert.equal(pa.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, IPPROTO_UDP), 3);
    assert.equal(pa.socket(AF_INET, SOCK_DGRAM), 5);
    assert.equal(pa.socket(AF_INET, SOCK_DGRAM), 7);
    for (const fd of [0, 1, 2]) throwsErrno(() => pa.recv(fd, 1), 'ENOTSOCK', ERRNO.ENOTSOCK);
    for (const fd of [-1, 8, 99, 2.5]) throwsErrno(() => pa.send(fd, text('x')), 'EBADF', ERRNO.EBADF);
    pa.close(7);
    throwsErrno(() => pa.close(7), 'EBADF');
    throwsErrno(() => pa.getsockname(7), 'EBADF');
    for (const fd of [3, 4, 5, 6]) pa.close(fd);
    assert.equal(pa.openSockets, 0);
  });

  test('socket(): EAFNOSUPPORT for unknown families, unsupported types and protocols; AF_INET6 addresses on AF_INET', () => {
    const { pa } = posixPair(32);
    throwsErrno(() => pa.socket(99, SOCK_STREAM), 'EAFNOSUPPORT', ERRNO.EAFNOSUPPORT);
    throwsErrno(() => pa.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), 'ESOCKTNOSUPPORT');
    throwsErrno(() => pa.socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), 'EPROTONOSUPPORT');
    throwsErrno(() => pa.socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP), 'EPROTONOSUPPORT');
    throwsErrno(() => pa.socket(AF_INET, 42), 'EINVAL');
    const fd = pa.socket(AF_INET, SOCK_DGRAM);
    throwsErrno(() => pa.bind(fd, { family: AF_INET6, address: '::', port: 1 }), 'EAFNOSUPPORT');
    throwsErrno(() => pa.bind(fd, sockaddrIn('10.0.0.256', 1)), 'EINVAL');
    throwsErrno(() => pa.bind(fd, sockaddrIn('10.0.0.1', 70000)), 'EINVAL');
    throwsErrno(() => pa.bind(fd, sockaddrIn('10.0.0.9', 1)), 'EADDRNOTAVAIL');
    assert.equal(pa.openSockets, 1, 'failed calls made no socket');
  });

  test('EMFILE at the descriptor bound, for socket and accept (the connection stays queued)', async () => {
    const { sim, pa, pb } = posixPair(33);
    pb.maxFds = 5; // descriptors 0..4: two sockets
    const ls = pb.socket(AF_INET, SOCK_STREAM);
    pb.bind(ls, sockaddrIn('0.0.0.0', 22));
    pb.listen(ls);
    const extra = pb.socket(AF_INET, SOCK_DGRAM);
    throwsErrno(() => pb.socket(AF_INET, SOCK_DGRAM), 'EMFILE', ERRNO.EMFILE);
    const c = pa.socket(AF_INET, SOCK_STREAM);
    await drive(sim, pa.connectAsync(c, sockaddrIn('10.0.0.2', 22)));
    await drive(sim, pb.poll([{ fd: ls, events: POLLIN }], -1));
    throwsErrno(() => pb.accept(ls), 'EMFILE');
    assert.equal(pb.refusedSockets, 2);
    pb.close(extra);
    const { fd, addr } = pb.accept(ls);
    assert.equal(fd, extra);
    assert.deepEqual(addr, pa.getsockname(c));
    assert.equal(errnoName(ERRNO.EMFILE), 'EMFILE');
  });

  test('poll: timeouts on virtual time, early wake-up, POLLNVAL, negative fds ignored', async () => {
    const { sim, pa, pb } = posixPair(34);
    const s = pb.socket(AF_INET, SOCK_DGRAM);
    pb.bind(s, sockaddrIn('0.0.0.0', 4000));
    const start = sim.now;
    const fds: PollFd[] = [
      { fd: s, events: POLLIN },
      { fd: -1, events: POLLIN },
    ];
    assert.equal(await drive(sim, pb.poll(fds, 250)), 0);
    assert.equal(sim.now - start, 250, 'the timeout ran on the stack clock');
    assert.deepEqual(
      fds.map((f) => f.revents),
      [0, 0],
    );
    assert.equal(await pb.poll(fds, 0), 0, 'timeout 0 answers at once');
    // A datagram sent 100 ms from now wakes a poll with a 10 s timeout when it arrives.
    const c = pa.socket(AF_INET, SOCK_DGRAM);
    sim.after(100, () => pa.sendto(c, text('ping'), 0, sockaddrIn('10.0.0.2', 4000)));
    const t0 = sim.now;
    assert.equal(await drive(sim, pb.poll(fds, 10_000)), 1);
    assert.ok(sim.now - t0 >= 100 && sim.now - t0 < 200, `woken at ${sim.now - t0} ms`);
    assert.equal(fds[0]!.revents, POLLIN);
    // Closing a descriptor another poll waits on: POLLNVAL, and the async helpers fail EBADF.
    const u = pb.socket(AF_INET, SOCK_DGRAM);
    const waiting: PollFd[] = [{ fd: u, events: POLLIN }];
    const p = pb.poll(waiting, -1);
    const r = pb.recvAsync(u, 10);
    pb.close(u);
    assert.equal(await p, 1);
    assert.equal(waiting[0]!.revents, POLLNVAL);
    await rejectsErrno(r, 'EBADF');
    assert.equal(pb.pollNow([{ fd: 99, events: POLLOUT }]), 1);
  });

  test('poll waiters are bounded: ENOMEM past MAX_POLL_WAITERS', async () => {
    const { sim, pa } = posixPair(35);
    const s = pa.socket(AF_INET, SOCK_DGRAM);
    const fds = [{ fd: s, events: POLLIN }];
    const waiting = Array.from({ length: MAX_POLL_WAITERS }, () => pa.poll(fds, 1000));
    await rejectsErrno(pa.poll(fds, 1000), 'ENOMEM');
    const results = await drive(sim, Promise.all(waiting));
    assert.ok(results.every((n) => n === 0));
    assert.equal((await drive(sim, pa.poll(fds, 10))) as number, 0, 'room again after the timeouts');
  });
});
