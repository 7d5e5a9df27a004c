import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AF_INET,
  AF_UNSPEC,
  ERRNO,
  IPPROTO_TCP,
  MSG_PEEK,
  MSG_WAITALL,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  SHUT_RD,
  SHUT_WR,
  SO_ERROR,
  SO_LINGER,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_SNDBUF,
  SOCK_STREAM,
  SOL_SOCKET,
  TCP_INFO,
  TCP_NODELAY,
} from '../../src/api/posix/constants.ts';
import type { PollFd } from '../../src/api/posix/poll.ts';
import type { Posix } from '../../src/api/posix/posix.ts';
import { sockaddrIn } from '../../src/api/posix/sockaddr.ts';
import type { SocketError } from '../../src/api/posix/socket-error.ts';
import type { TcpInfo } from '../../src/core/tcp/tcp-info.ts';
import { drive, pattern, posixPair, rejectsErrno, str, text, throwsErrno } from './posix-helpers.ts';

const again = (e: unknown) => (e as SocketError).code === 'EAGAIN';

/**
 * A C-style echo server: one poll loop over the listening socket and every client, non-blocking
 * accept/recv/send, partial writes kept per client, close after the client's FIN once everything
 * was echoed. Serves `connections` clients, then closes the listener.
 */
async function echoServer(p: Posix, port: number, connections: number): Promise<void> {
  const ls = p.socket(AF_INET, SOCK_STREAM, 0);
  p.setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, 1);
  p.bind(ls, sockaddrIn('0.0.0.0', port));
  p.listen(ls, 8);
  const clients = new Map<number, { out: Uint8Array[]; eof: boolean }>();
  let served = 0;
  while (served < connections) {
    const fds: PollFd[] = [{ fd: ls, events: POLLIN }];
    for (const [fd, c] of clients)
      fds.push({ fd, events: (c.eof ? 0 : POLLIN) | (c.out.length > 0 ? POLLOUT : 0) });
    await p.poll(fds, -1);
    for (const pf of fds) {
      if (!pf.revents) continue;
      if (pf.fd === ls) {
        try {
          clients.set(p.accept(ls).fd, { out: [], eof: false });
        } catch (e) {
          if (!again(e)) throw e;
        }
        continue;
      }
      const c = clients.get(pf.fd)!;
      if (pf.revents & POLLIN && !c.eof) {
        try {
          const d = p.recv(pf.fd, 4096);
          if (d.length === 0) c.eof = true;
          else c.out.push(d);
        } catch (e) {
          if (!again(e)) throw e;
        }
      }
      while (c.out.length > 0) {
        let n: number;
        try {
          n = p.send(pf.fd, c.out[0]!);
        } catch (e) {
          if (!again(e)) throw e;
          break;
        }
        if (n < c.out[0]!.length) c.out[0] = c.out[0]!.subarray(n);
        else c.out.shift();
      }
      if (c.eof && c.out.length === 0) {
        p.close(pf.fd);
        clients.delete(pf.fd);
        served++;
      }
    }
  }
  p.close(ls);
}

/** A C-style client: connect (EINPROGRESS, POLLOUT, SO_ERROR), send all, SHUT_WR, read to EOF. */
async function echoClient(p: Posix, server: string, port: number, data: Uint8Array): Promise<Uint8Array> {
  const fd = p.socket(AF_INET, SOCK_STREAM, 0);
  p.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, 8192);
  p.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
  throwsErrno(() => p.connect(fd, sockaddrIn(server, port)), 'EINPROGRESS', ERRNO.EINPROGRESS);
  const w: PollFd[] = [{ fd, events: POLLOUT }];
  await p.poll(w, -1);
  assert.equal(w[0]!.revents, POLLOUT);
  assert.equal(p.getsockopt(fd, SOL_SOCKET, SO_ERROR), 0);
  const received: Uint8Array[] = [];
  let sent = 0;
  let partial = 0;
  let total = 0;
  for (;;) {
    const pf: PollFd = { fd, events: POLLIN | (sent < data.length ? POLLOUT : 0) };
    await p.poll([pf], -1);
    if (pf.revents! & POLLOUT) {
      try {
        const n = p.send(fd, data.subarray(sent, sent + 5000));
        if (n < Math.min(5000, data.length - sent)) partial++;
        sent += n;
        if (sent === data.length) p.shutdown(fd, SHUT_WR);
      } catch (e) {
        if (!again(e)) throw e;
      }
    }
    if (pf.revents! & POLLIN) {
      const d = p.recv(fd, 65536);
      if (d.length === 0) break;
      received.push(d);
      total += d.length;
    }
  }
  assert.ok(partial > 0, 'an 8 KiB send buffer takes some sends in part');
  p.close(fd);
  const out = new Uint8Array(total);
  let at = 0;
  for (const d of received) {
    out.set(d, at);
    at += d.length;
  }
  return out;
}

describe('POSIX API: TCP', () => {
  test('a C-style echo server and two clients on a poll loop, between two stacks', async () => {
    const { sim, pa, pb } = posixPair(1);
    const server = echoServer(pb, 7, 2);
    const d1 = pattern(60_000, 1);
    const d2 = pattern(30_000, 2);
    const [r1, r2] = await drive(
      sim,
      Promise.all([echoClient(pa, '10.0.0.2', 7, d1), echoClient(pa, '10.0.0.2', 7, d2), server]),
    );
    assert.deepEqual(r1, d1);
    assert.deepEqual(r2, d2);
    assert.equal(pa.openSockets, 0);
    assert.equal(pb.openSockets, 0);
  });

  test('the echo again over a lossy wire, with the async helpers', async () => {
    const { sim, pa, pb } = posixPair(2, { loss: 0.05 });
    const body = async () => {
      const ls = pb.socket(AF_INET, SOCK_STREAM);
      pb.bind(ls, sockaddrIn('10.0.0.2', 9000));
      pb.listen(ls);
      const fd = pa.socket(AF_INET, SOCK_STREAM);
      const [accepted] = await Promise.all([
        pb.acceptAsync(ls),
        pa.connectAsync(fd, sockaddrIn('10.0.0.2', 9000)),
      ]);
      assert.deepEqual(accepted.addr, pa.getsockname(fd));
      assert.deepEqual(pa.getpeername(fd), sockaddrIn('10.0.0.2', 9000));
      const data = pattern(200_000);
      const [n, got] = await Promise.all([
        pa.sendAsync(fd, data),
        pb.recvAsync(accepted.fd, data.length, MSG_WAITALL),
      ]);
      assert.equal(n, data.length);
      assert.deepEqual(got, data);
      const info = pa.getsockopt(fd, IPPROTO_TCP, TCP_INFO) as TcpInfo;
      assert.equal(info.state, 'ESTABLISHED');
      assert.ok(info.bytesAcked > 0);
      pa.close(fd);
      assert.equal((await pb.recvAsync(accepted.fd, 10)).length, 0, 'EOF after the FIN');
      pb.close(accepted.fd);
      pb.close(ls);
    };
    await drive(sim, body());
  });

  test('ECONNREFUSED through POLLOUT|POLLERR and SO_ERROR, which clears it', async () => {
    const { sim, pa } = posixPair(3);
    const fd = pa.socket(AF_INET, SOCK_STREAM);
    throwsErrno(() => pa.connect(fd, sockaddrIn('10.0.0.2', 1)), 'EINPROGRESS');
    throwsErrno(() => pa.connect(fd, sockaddrIn('10.0.0.2', 1)), 'EALREADY', ERRNO.EALREADY);
    const pf: PollFd = { fd, events: POLLOUT };
    await drive(sim, pa.poll([pf], -1));
    assert.equal(pf.revents! & (POLLOUT | POLLERR | POLLHUP), POLLOUT | POLLERR | POLLHUP);
    assert.equal(pa.getsockopt(fd, SOL_SOCKET, SO_ERROR), ERRNO.ECONNREFUSED);
    assert.equal(pa.getsockopt(fd, SOL_SOCKET, SO_ERROR), 0, 'read once');
    // Linux: connect again after the error was taken reports ECONNABORTED, then starts afresh.
    throwsErrno(() => pa.connect(fd, sockaddrIn('10.0.0.2', 1)), 'ECONNABORTED');
    await drive(sim, rejectsErrno(pa.connectAsync(fd, sockaddrIn('10.0.0.2', 1)), 'ECONNREFUSED'));
    pa.close(fd);
  });

  test('a second connect reports the outcome (success, then EISCONN); errno cases', async () => {
    const { sim, pa, pb } = posixPair(4);
    const ls = pb.socket(AF_INET, SOCK_STREAM);
    pb.listen(ls);
    const port = pb.getsockname(ls).port;
    assert.ok(port >= 32768, `implicit bind to an ephemeral port (${port})`);
    throwsErrno(() => pb.accept(ls), 'EAGAIN', ERRNO.EAGAIN);
    throwsErrno(() => pb.recv(ls, 10), 'ENOTCONN');
    throwsErrno(() => pb.connect(ls, sockaddrIn('10.0.0.1', 80)), 'EISCONN');
    const fd = pa.socket(AF_INET, SOCK_STREAM);
    throwsErrno(() => pa.recv(fd, 10), 'ENOTCONN', ERRNO.ENOTCONN);
    throwsErrno(() => pa.send(fd, text('x')), 'ENOTCONN');
    throwsErrno(() => pa.getpeername(fd), 'ENOTCONN');
    throwsErrno(() => pa.shutdown(fd, SHUT_WR), 'ENOTCONN');
    throwsErrno(() => pa.shutdown(fd, 7), 'EINVAL');
    throwsErrno(() => pa.connect(fd, { family: AF_UNSPEC, address: '0.0.0.0', port: 0 }), 'EAFNOSUPPORT');
    throwsErrno(() => pa.connect(fd, sockaddrIn('10.0.0.2', port)), 'EINPROGRESS');
    throwsErrno(() => pa.send(fd, text('x')), 'EAGAIN', undefined);
    throwsErrno(() => pa.recv(fd, 10), 'EAGAIN');
    assert.equal(pa.pollNow([{ fd, events: POLLIN | POLLOUT }]), 0, 'nothing while SYN-SENT');
    await drive(sim, pa.poll([{ fd, events: POLLOUT }], -1));
    pa.connect(fd, sockaddrIn('10.0.0.2', port));
    throwsErrno(() => pa.connect(fd, sockaddrIn('10.0.0.2', port)), 'EISCONN', ERRNO.EISCONN);
    throwsErrno(() => pa.listen(fd), 'EINVAL');
    throwsErrno(() => pa.sendto(fd, text('x'), 0, sockaddrIn('10.0.0.2', port)), 'EISCONN');
    throwsErrno(() => pa.recv(fd, 10), 'EAGAIN');
    throwsErrno(() => pa.recv(fd, -1), 'EINVAL');
    const { fd: child } = await drive(sim, pb.acceptAsync(ls));
    // shutdown(SHUT_WR): a FIN; send is EPIPE at once, the peer reads EOF, and can still answer.
    pa.shutdown(fd, SHUT_WR);
    throwsErrno(() => pa.send(fd, text('late')), 'EPIPE', ERRNO.EPIPE);
    assert.equal(pa.pollNow([{ fd, events: POLLOUT }]), 1, 'POLLOUT after SHUT_WR, as Linux');
    assert.equal((await drive(sim, pb.recvAsync(child, 100))).length, 0);
    assert.equal(pb.send(child, text('bye')), 3);
    assert.equal(str(await drive(sim, pa.recvAsync(fd, 100))), 'bye');
    pb.close(child);
    assert.equal((await drive(sim, pa.recvAsync(fd, 100))).length, 0);
    const pf: PollFd = { fd, events: POLLIN };
    pa.pollNow([pf]);
    assert.ok(pf.revents! & POLLHUP, 'both directions done: POLLHUP');
    pa.close(fd);
    pb.close(ls);
  });

  test('MSG_PEEK leaves the bytes for the next recv; SHUT_RD reads EOF', async () => {
    const { sim, pa, pb } = posixPair(5);
    const ls = pb.socket(AF_INET, SOCK_STREAM);
    pb.bind(ls, sockaddrIn('0.0.0.0', 5000));
    pb.listen(ls);
    const fd = pa.socket(AF_INET, SOCK_STREAM);
    const [{ fd: child }] = await drive(
      sim,
      Promise.all([pb.acceptAsync(ls), pa.connectAsync(fd, sockaddrIn('10.0.0.2', 5000))]),
    );
    pa.send(fd, text('hello world'));
    await drive(sim, pb.poll([{ fd: child, events: POLLIN }], -1));
    assert.equal(str(pb.recv(child, 5, MSG_PEEK)), 'hello');
    assert.equal(str(pb.recv(child, 8, MSG_PEEK)), 'hello wo');
    assert.equal(str(pb.recv(child, 3)), 'hel');
    assert.equal(str(pb.recv(child, 100)), 'lo world');
    throwsErrno(() => pb.recv(child, 100), 'EAGAIN');
    pb.shutdown(child, SHUT_RD);
    assert.equal(pb.recv(child, 100).length, 0);
    pa.close(fd);
    pb.close(child);
    pb.close(ls);
  });

  test('close with SO_LINGER 0 resets: the peer gets ECONNRESET once, then EOF and EPIPE', async () => {
    const { sim, pa, pb } = posixPair(6);
    const ls = pb.socket(AF_INET, SOCK_STREAM);
    pb.bind(ls, sockaddrIn('0.0.0.0', 5001));
    pb.listen(ls);
    const fd = pa.socket(AF_INET, SOCK_STREAM);
    const [{ fd: child }] = await drive(
      sim,
      Promise.all([pb.acceptAsync(ls), pa.connectAsync(fd, sockaddrIn('10.0.0.2', 5001))]),
    );
    pa.setsockopt(fd, SOL_SOCKET, SO_LINGER, { onoff: 1, linger: 0 });
    pa.close(fd);
    const pf: PollFd = { fd: child, events: POLLIN };
    await drive(sim, pb.poll([pf], -1));
    assert.ok(pf.revents! & POLLERR);
    throwsErrno(() => pb.recv(child, 10), 'ECONNRESET', ERRNO.ECONNRESET);
    assert.equal(pb.recv(child, 10).length, 0);
    throwsErrno(() => pb.send(child, text('x')), 'EPIPE');
    pb.close(child);
    pb.close(ls);
  });

  test('accept of a connection reset while it waited: its peer, then ECONNRESET', async () => {
    const { sim, pa, pb } = posixPair(8);
    const ls = pb.socket(AF_INET, SOCK_STREAM);
    pb.bind(ls, sockaddrIn('0.0.0.0', 5002));
    pb.listen(ls);
    const fd = pa.socket(AF_INET, SOCK_STREAM);
    await drive(sim, pa.connectAsync(fd, sockaddrIn('10.0.0.2', 5002)));
    const local = pa.getsockname(fd);
    pa.setsockopt(fd, SOL_SOCKET, SO_LINGER, { onoff: 1, linger: 0 });
    pa.close(fd);
    sim.advance(100);
    const { fd: child, addr } = pb.accept(ls);
    assert.deepEqual(addr, local);
    throwsErrno(() => pb.recv(child, 10), 'ECONNRESET');
    throwsErrno(() => pb.getpeername(child), 'ENOTCONN');
    pb.close(child);
    pb.close(ls);
  });

  test('bind conflicts: EADDRINUSE, SO_REUSEADDR for bound sockets, one listener per port', () => {
    const { pa } = posixPair(7);
    const a = pa.socket(AF_INET, SOCK_STREAM);
    pa.bind(a, sockaddrIn('0.0.0.0', 8080));
    throwsErrno(() => pa.bind(a, sockaddrIn('0.0.0.0', 8081)), 'EINVAL');
    const b = pa.socket(AF_INET, SOCK_STREAM);
    throwsErrno(() => pa.bind(b, sockaddrIn('10.0.0.1', 8080)), 'EADDRINUSE', ERRNO.EADDRINUSE);
    throwsErrno(() => pa.bind(b, sockaddrIn('10.9.9.9', 8082)), 'EADDRNOTAVAIL');
    pa.close(a);
    pa.bind(b, sockaddrIn('10.0.0.1', 8080));
    const c = pa.socket(AF_INET, SOCK_STREAM);
    const d = pa.socket(AF_INET, SOCK_STREAM);
    for (const fd of [c, d]) {
      pa.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
      pa.bind(fd, sockaddrIn('127.0.0.1', 9090));
    }
    pa.listen(c);
    throwsErrno(() => pa.listen(d), 'EADDRINUSE');
    const e = pa.socket(AF_INET, SOCK_STREAM);
    pa.setsockopt(e, SOL_SOCKET, SO_REUSEPORT, 1);
    pa.bind(e, sockaddrIn('0.0.0.0', 9191));
    const f = pa.socket(AF_INET, SOCK_STREAM);
    pa.setsockopt(f, SOL_SOCKET, SO_REUSEPORT, 1);
    pa.bind(f, sockaddrIn('0.0.0.0', 9191));
    pa.listen(e);
    // The core has one listener per address and port: SO_REUSEPORT listeners are refused.
    throwsErrno(() => pa.listen(f), 'EADDRINUSE');
    for (const fd of [b, c, d, e, f]) pa.close(fd);
  });
});
