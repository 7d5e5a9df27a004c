/**
 * `netstack nc`: netcat over the stack, TCP by default, UDP with `-u`. Standard input goes to the
 * socket, what the socket receives goes to standard output.
 *
 *   netstack nc [interface options] HOST PORT           connects to HOST:PORT over TCP
 *   netstack nc -l [interface options] [ADDR] PORT      accepts one TCP connection on PORT
 *   netstack nc -u [interface options] HOST PORT        sends datagrams to HOST:PORT, prints the replies
 *   netstack nc -u -l [interface options] [ADDR] PORT   listens; replies go to the last peer
 *
 * TCP (nc-tcp.ts): the end of standard input sends a FIN (half-close, like OpenBSD nc with -N); the
 * command ends once the peer has closed its side too, or at once on a reset. UDP: each chunk read
 * is one datagram (split at the largest UDP payload); like OpenBSD nc it keeps running after
 * standard input ends, until SIGINT or SIGTERM. `-q SECONDS` quits that long after the end of
 * standard input, whatever the peer does.
 *
 * HOST is an address or a name resolved over the stack (`--dns`, or the servers DHCP gave; `-4`/`-6`
 * choose the family), over IPv4 or IPv6. A
 * name that does not resolve: `netstack nc: getaddrinfo for host "NAME" port PORT: Name or
 * service not known`, exit 1 (OpenBSD nc's words).
 *
 * Status lines (`ready ...`) go to standard error, since standard output carries the data.
 */
import type { IpAddr } from '../core/ip-address.ts';
import type { UdpSocket } from '../core/udp/udp-socket.ts';
import { type FlagSpec, type ParsedArgs, parseArgs, UsageError } from './args.ts';
import { leased } from './dhcp.ts';
import {
  interfaceFlags,
  parseAddressArg,
  parseInterfaceOptions,
  parsePortArg,
  Session,
  untilSignal,
} from './interface-options.ts';
import { type HostArg, parseHostArg } from './ipv6-options.ts';
import { runTcpNc } from './nc-tcp.ts';
import { familyFlags, familyOf, isLiteral, ResolveError, resolveHost } from './resolve-host.ts';

/** 65535 minus the IPv4 and UDP headers (the smaller of the two families' limits). */
const MAX_UDP_PAYLOAD = 65_507;

export const ncFlags: Record<string, FlagSpec> = {
  udp: { type: 'boolean', short: 'u', help: 'UDP instead of TCP' },
  listen: {
    type: 'boolean',
    short: 'l',
    help: 'listen on PORT (TCP: accept one connection; UDP: reply to the last peer heard from)',
  },
  port: {
    type: 'number',
    short: 'p',
    help: 'local port (client: source port; -l: alternative to PORT)',
    value: 'PORT',
  },
  quit: {
    type: 'number',
    short: 'q',
    help: 'quit SECONDS after standard input ends (default: run until SIGINT/SIGTERM)',
    value: 'SECONDS',
  },
  ...familyFlags,
  ...interfaceFlags,
};

export interface NcPlan {
  udp: boolean;
  listen: boolean;
  /** Where the client sends: HOST as given (an address or a name) and PORT. */
  remote?: { host: string; port: number };
  /** The family `-4`/`-6` asked for (0: either). */
  family: 0 | 4 | 6;
  /** What the socket binds to (port 0: an ephemeral port). */
  local: { addr?: number; port: number };
  quitAfter?: number;
}

/** Checks nc's own flags and positionals. */
export function parseNcPlan(flags: Record<string, unknown>, positionals: string[]): NcPlan {
  const udp = flags.udp === true;
  const family = familyOf(flags);
  const quit = flags.quit as number | undefined;
  if (quit !== undefined && !(quit >= 0 && quit <= 86_400))
    throw new UsageError('-q must be between 0 and 86400');
  const portFlag = flags.port as number | undefined;
  if (portFlag !== undefined && !(Number.isInteger(portFlag) && portFlag >= 1 && portFlag <= 65535))
    throw new UsageError(`-p: not a port: ${portFlag}`);
  const quitAfter = quit === undefined ? {} : { quitAfter: quit * 1000 };
  if (flags.listen === true) {
    if (positionals.length > 2) throw new UsageError(`unexpected argument ${positionals[2]}`);
    const portText = positionals.at(-1);
    if (portText === undefined && portFlag === undefined) throw new UsageError('-l needs a PORT');
    if (portText !== undefined && portFlag !== undefined)
      throw new UsageError('give the port once (PORT or -p)');
    const port = portText === undefined ? portFlag! : parsePortArg(portText, 'PORT');
    const addr = positionals.length === 2 ? parseAddressArg(positionals[0]!, 'ADDR') : undefined;
    return {
      udp,
      listen: true,
      family,
      local: { ...(addr !== undefined ? { addr } : {}), port },
      ...quitAfter,
    };
  }
  if (positionals.length !== 2) throw new UsageError('needs HOST PORT (or -l PORT)');
  const host = positionals[0]!;
  // A malformed literal is a usage error now; a name is resolved once the stack is up.
  if (isLiteral(host)) parseHostArg(host, 'HOST');
  return {
    udp,
    listen: false,
    family,
    remote: { host, port: parsePortArg(positionals[1]!, 'PORT') },
    local: { port: portFlag ?? 0 },
    ...quitAfter,
  };
}

/** Where the client goes: HOST resolved, and PORT. */
export type Remote = HostArg & { port: number };

/** HOST resolved over the stack (after the DHCP leases with `--dhcp`). */
async function resolveRemote(session: Session, args: ParsedArgs, p: NcPlan): Promise<Remote | undefined> {
  await leased(session, args);
  if (p.remote === undefined) return undefined;
  const host = await Promise.race([
    resolveHost(session.stack, p.remote.host, p.family, 'HOST'),
    session.failed,
  ]);
  return { ...host, port: p.remote.port };
}

export async function runNc(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ncFlags);
  const p = parseNcPlan(args.flags, args.positionals);
  const config = parseInterfaceOptions(args);
  const session = new Session(config, 'netstack-nc', process.stderr);
  let remote: Remote | undefined;
  try {
    remote = await resolveRemote(session, args, p);
  } catch (e) {
    session.close();
    if (!(e instanceof ResolveError)) throw e;
    // OpenBSD nc: `nc: getaddrinfo for host "NAME" port 80: Name or service not known`, exit 1.
    process.stderr.write(
      `netstack nc: getaddrinfo for host "${e.host}" port ${p.remote!.port}: ${e.reason}\n`,
    );
    return 1;
  }
  if (!p.udp) return runTcpNc(p, remote, args.positionals.join(' '), session);
  const { stack } = session;
  const stdin = process.stdin;
  let quitTimer: NodeJS.Timeout | undefined;
  try {
    const socket = stack.run(() => {
      const s = stack.udp.open({ family: remote?.family ?? 4 }) as UdpSocket<IpAddr>;
      try {
        if (p.local.port !== 0 || p.local.addr !== undefined) s.bind(p.local.port, p.local.addr);
        if (remote !== undefined) s.connect(remote.addr, remote.port);
      } catch (e) {
        s.close();
        throw e;
      }
      return s;
    });
    let peer: { addr: IpAddr; port: number } | undefined = remote;
    let fail: (e: Error) => void = () => {};
    const failed = new Promise<never>((_, reject) => {
      fail = reject;
    });
    socket.onReadable = () => {
      for (let d = socket.recv(); d; d = socket.recv()) {
        if (p.listen) {
          const first = peer === undefined;
          peer = { addr: d.address, port: d.port };
          // Standard input waits for a peer to send it to.
          if (first) stdin.resume();
        }
        process.stdout.write(d.data);
      }
    };
    // An ICMP error about what we sent (port unreachable, ...) is reported, as nc does, and is not fatal.
    socket.onError = (err: Error & { code?: string }) => {
      session.event('error', { code: err.code, message: err.message }, () => `netstack nc: ${err.message}`);
    };
    let ended: () => void = () => {};
    const stdinEnded = new Promise<void>((resolve) => {
      ended = resolve;
    });
    stdin.on('data', (chunk: Buffer) => {
      if (peer === undefined) return;
      const to = peer;
      try {
        stack.run(() => {
          for (let off = 0; off < chunk.length; off += MAX_UDP_PAYLOAD) {
            const data = chunk.subarray(off, off + MAX_UDP_PAYLOAD);
            if (p.listen) socket.send(data, to.addr, to.port);
            else socket.send(data);
          }
        });
      } catch (e) {
        fail(e as Error);
      }
    });
    stdin.on('end', ended);
    if (p.listen) stdin.pause();
    session.ready(
      {
        protocol: 'udp',
        ...(p.listen ? { listening: p.local.port } : { remote: args.positionals.join(' ') }),
      },
      [
        p.listen
          ? `  listening on udp port ${p.local.port}`
          : `  sending to ${args.positionals.join(' ')} over udp`,
      ],
    );
    const quitting =
      p.quitAfter === undefined
        ? new Promise<never>(() => {})
        : stdinEnded.then(
            () =>
              new Promise<string>((resolve) => {
                quitTimer = setTimeout(() => resolve('end of input'), p.quitAfter);
              }),
          );
    await Promise.race([untilSignal(), quitting, failed, session.failed]);
    stack.run(() => socket.close());
    return 0;
  } finally {
    if (quitTimer !== undefined) clearTimeout(quitTimer);
    stdin.pause();
    stdin.destroy();
    session.close();
  }
}
