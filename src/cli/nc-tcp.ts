/**
 * `netstack nc` over TCP: one connection, made (`HOST PORT`) or accepted (`-l PORT`, after which
 * the listener closes, like OpenBSD nc without -k). Standard input goes to the socket, the socket to
 * standard output, each with backpressure (standard input is paused while the socket's queue is
 * full; the socket is not read while standard output is).
 *
 * Ending: each direction ends on its own (half-close, RFC 9293 3.6). The end of standard input
 * sends a FIN after the data queued (as OpenBSD nc with -N); the peer's FIN ends standard output.
 * The command exits 0 once both directions have ended and our FIN was acknowledged, or at once
 * with 1 on a reset, a refusal or another connection error. `-q SECONDS` quits that long after
 * standard input ends, whatever the peer does. (OpenBSD nc -l also quits when the peer's FIN comes
 * first; here the listener, like the client, keeps sending standard input until it ends.)
 */
import { SocketWriter } from '../apps/socket-writer.ts';
import { type IpAddr, ipToString } from '../core/ip-address.ts';
import type { TcpSocket } from '../core/tcp/tcp-socket.ts';
import { type Session, untilSignal } from './interface-options.ts';
import type { NcPlan, Remote } from './nc.ts';
import { connectTarget } from './resolve-host.ts';

/** Bytes of standard input waiting for the socket before standard input is paused. */
const STDIN_QUEUE = 1024 * 1024;
/** How long the closing handshake may take once both sides have sent their FIN. */
const LINGER_MS = 10_000;

export async function runTcpNc(
  p: NcPlan,
  remote: Remote | undefined,
  target: string,
  session: Session,
): Promise<number> {
  const { stack } = session;
  const stdin = process.stdin;
  const stdout = process.stdout;
  const timers: NodeJS.Timeout[] = [];
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });
  const report = (e: Error & { code?: string }) => {
    session.event('error', { code: e.code, message: e.message }, () => `netstack nc: ${e.message}`);
  };

  /** Runs the data in both directions on an established connection. */
  const run = (socket: TcpSocket<IpAddr>) => {
    const writer = new SocketWriter(socket);
    let stdinEnded = false;
    let peerEnded = false;
    let shut = false;
    /** Both FINs went: exit once ours is acknowledged (TIME-WAIT, or CLOSED after LAST-ACK). */
    const whenBothEnded = () => {
      if (!shut || !peerEnded) return;
      const deadline = Date.now() + LINGER_MS;
      const poll = setInterval(() => {
        const s = socket.state;
        if (s === 'TIME-WAIT' || s === 'CLOSED' || Date.now() > deadline) finish(0);
      }, 10);
      timers.push(poll);
    };
    const shutdownWhenDrained = () => {
      if (!shut && writer.idle) {
        shut = true;
        socket.shutdown();
        whenBothEnded();
      }
    };
    writer.onDrain = () => {
      if (stdinEnded) shutdownWhenDrained();
      else stdin.resume();
    };
    writer.onError = (e) => {
      report(e);
      finish(1);
    };
    stdin.on('data', (chunk: Buffer) => {
      writer.write(chunk);
      if (writer.queued > STDIN_QUEUE) stdin.pause();
    });
    stdin.on('end', () => {
      stdinEnded = true;
      shutdownWhenDrained();
      if (p.quitAfter !== undefined) timers.push(setTimeout(() => finish(0), p.quitAfter));
    });
    stdin.resume();

    let waiting = false;
    const pump = () => {
      for (;;) {
        if (waiting) return;
        const d = socket.read();
        if (d === undefined) break;
        if (!stdout.write(d)) {
          waiting = true;
          stdout.once('drain', () => {
            waiting = false;
            pump();
          });
        }
      }
      if (!socket.readableEnded || peerEnded) return;
      peerEnded = true;
      whenBothEnded();
    };
    socket.onReadable = pump;
    socket.onEnd = pump;
    socket.onClose = (err) => {
      if (err === undefined) {
        finish(0);
        return;
      }
      report(err);
      finish(1);
    };
  };

  let socket: TcpSocket<IpAddr> | undefined;
  let listener: ReturnType<typeof stack.tcp.listen> | undefined;
  try {
    stdin.pause();
    if (p.listen) {
      const l = stack.run(() => stack.tcp.listen({ port: p.local.port, address: p.local.addr, backlog: 1 }));
      listener = l;
      l.onConnection = () => {
        const s = l.accept();
        if (s === undefined || socket !== undefined) return;
        socket = s;
        l.close();
        const peer = `${ipToString(s.remoteAddress)}:${s.remotePort}`;
        session.event('connection', { peer }, () => `  connection from ${peer}`);
        run(s);
      };
    } else {
      if (remote === undefined) throw new Error('nc: a client needs HOST');
      const where = await connectTarget(session, remote);
      const s = stack.tcp.connect({
        ...where,
        port: remote.port,
        ...(p.local.port !== 0 ? { localPort: p.local.port } : {}),
      });
      socket = s;
      s.onConnect = () => {
        session.event('connected', { remote: target }, () => `  connected to ${target}`);
        run(s);
      };
      s.onClose = (err) => {
        report(err ?? Object.assign(new Error('connection closed'), { code: 'ECONNRESET' }));
        finish(1);
      };
    }
    session.ready({ protocol: 'tcp', ...(p.listen ? { listening: p.local.port } : { remote: target }) }, [
      p.listen ? `  listening on tcp port ${p.local.port}` : `  connecting to ${target} over tcp`,
    ]);
    const code = await Promise.race([finished, untilSignal().then(() => 0), session.failed]);
    const s = socket as TcpSocket<IpAddr> | undefined;
    if (s !== undefined && s.state !== 'CLOSED' && s.state !== 'TIME-WAIT') stack.run(() => s.abort());
    listener?.close();
    // What is left for standard output goes before the exit.
    await new Promise<void>((resolve) =>
      stdout.writableLength === 0 ? resolve() : stdout.once('drain', resolve),
    );
    return code;
  } finally {
    for (const t of timers) clearTimeout(t);
    stdin.pause();
    stdin.destroy();
    session.close();
  }
}
