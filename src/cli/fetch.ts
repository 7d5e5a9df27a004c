/**
 * `netstack fetch URL [-o FILE]`: an HTTP GET over the stack (src/apps/http/client.ts). The body
 * goes to standard output, or to FILE with `-o`; status, progress and throughput go to standard
 * error (JSON lines with `--json`). The file or pipe holds the connection back when it is slower
 * than the network (the client stops reading; TCP's window closes).
 *
 * The URL's host is an address (IPv6 in brackets, a link-local one with its zone:
 * `http://[fe80::1%25tap0]/` as RFC 6874 writes it, or `%tap0`) or a name resolved over the stack
 * (`--dns`, or the servers DHCP gave); `-4`/`-6` choose the family of the name's addresses.
 *
 * Exit 0 when a 2xx response arrived whole; 6 when the host name does not resolve (curl's code:
 * `netstack fetch: (6) Could not resolve host: NAME`); 1 for another status, a connection error or
 * a body cut short.
 */
import { createWriteStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { HttpGet } from '../apps/http/client.ts';
import { type FlagSpec, parseArgs, UsageError } from './args.ts';
import { leased } from './dhcp.ts';
import {
  interfaceFlags,
  parseInterfaceOptions,
  parsePortArg,
  Session,
  untilSignal,
} from './interface-options.ts';
import { type HostArg, parseHostArg } from './ipv6-options.ts';
import {
  connectTarget,
  familyFlags,
  familyOf,
  isLiteral,
  ResolveError,
  resolveHost,
} from './resolve-host.ts';

export const fetchFlags: Record<string, FlagSpec> = {
  output: {
    type: 'string',
    short: 'o',
    help: 'write the body to FILE instead of standard output',
    value: 'FILE',
  },
  quiet: { type: 'boolean', short: 'q', help: 'no progress lines (the summary and errors still print)' },
  ...familyFlags,
  ...interfaceFlags,
};

/** Progress lines come this often while a body arrives. */
const PROGRESS_MS = 1000;

export interface FetchPlan {
  /** The URL's host: an address (IPv6 without its brackets) or a name. */
  hostname: string;
  port: number;
  /** The Host field: the URL's authority as written. */
  host: string;
  path: string;
}

/** `http://HOST[:PORT][/path]` (HOST a name, an IPv4 address or `[IPv6]`) to what the request needs. */
export function parseFetchUrl(text: string): FetchPlan {
  const m = /^http:\/\/(\[[^\]/]*\]|[^/?#:[\]]+)(?::([^/?#]*))?([/?][^#]*)?(?:#.*)?$/i.exec(text);
  if (m === null) {
    if (/^https:/i.test(text)) throw new UsageError('https is not supported (no TLS): use http://');
    throw new UsageError(`not an http URL: ${text} (expected http://HOST[:PORT]/path)`);
  }
  const bracketed = m[1]!.startsWith('[');
  // RFC 6874 2: a zone is `%25` in a URL (`%` alone accepted, as curl does); it stays out of Host.
  const hostname = bracketed ? m[1]!.slice(1, -1).replace(/%25/, '%') : m[1]!;
  const authority = bracketed ? `[${hostname.replace(/%.*$/, '')}]` : hostname;
  // A malformed literal is a usage error now; a name is resolved once the stack is up.
  if (isLiteral(hostname) || bracketed) parseHostArg(hostname, 'URL host');
  const port = m[2] === undefined ? 80 : parsePortArg(m[2], 'URL port');
  const path = m[3] === undefined ? '/' : m[3].startsWith('?') ? `/${m[3]}` : m[3];
  return { hostname, port, host: m[2] === undefined ? authority : `${authority}:${m[2]}`, path };
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

export async function runFetch(argv: string[]): Promise<number> {
  const args = parseArgs(argv, fetchFlags);
  if (args.positionals.length !== 1)
    throw new UsageError(
      args.positionals.length === 0 ? 'needs a URL' : `unexpected argument ${args.positionals[1]}`,
    );
  const url = args.positionals[0]!;
  const plan = parseFetchUrl(url);
  const family = familyOf(args.flags);
  const config = parseInterfaceOptions(args);
  const outputPath = args.flags.output as string | undefined;
  if (outputPath === '') throw new UsageError('-o needs a file name');
  const quiet = args.flags.quiet === true;
  const session = new Session(config, 'netstack-fetch', process.stderr);
  const out = outputPath !== undefined ? createWriteStream(outputPath) : process.stdout;
  let progress: NodeJS.Timeout | undefined;
  try {
    const opened =
      outputPath === undefined
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            out.once('open', () => resolve());
            out.once('error', (e: NodeJS.ErrnoException) =>
              reject(
                Object.assign(new Error(`cannot write ${outputPath}: ${e.message}`), {
                  code: e.code ?? 'EIO',
                }),
              ),
            );
          });
    await opened;
    await leased(session, args);
    let dst: HostArg;
    try {
      dst = await Promise.race([
        resolveHost(session.stack, plan.hostname, family, 'URL host'),
        session.failed,
      ]);
    } catch (e) {
      if (!(e instanceof ResolveError)) throw e;
      // curl: `curl: (6) Could not resolve host: NAME`, exit 6.
      session.event(
        'error',
        { code: e.code, host: e.host, message: e.reason },
        () => `netstack fetch: (6) Could not resolve host: ${e.host}`,
      );
      return 6;
    }
    session.ready({ url }, [`  fetching ${url}`]);
    const where = await connectTarget(session, dst);
    const g = new HttpGet(session.stack, { ...where, port: plan.port, host: plan.host, path: plan.path });
    let status = 0;
    let length: number | undefined;
    let received = 0;
    let started = 0;
    const report = (event: 'progress' | 'done') => {
      const seconds = (performance.now() - started) / 1000;
      const rate = seconds > 0 ? received / seconds : 0;
      session.event(
        event,
        { bytes: received, length: length ?? null, seconds, bytesPerSecond: Math.round(rate), status },
        () =>
          event === 'done'
            ? `fetched ${received} bytes in ${seconds.toFixed(2)} s (${mib(rate)}/s), status ${status}`
            : `  ${mib(received)}${length !== undefined ? ` of ${mib(length)} (${Math.floor((100 * received) / Math.max(1, length))}%)` : ''}, ${mib(rate)}/s`,
      );
    };
    const result = new Promise<number>((resolve, reject) => {
      g.onConnect = () => {
        started = performance.now();
      };
      g.onResponse = (head) => {
        status = head.status;
        length = head.length;
        session.event(
          'response',
          { status: head.status, reason: head.reason, length: head.length ?? null },
          () =>
            `  HTTP ${head.status} ${head.reason}${head.length !== undefined ? `, ${head.length} bytes` : ''}`,
        );
        if (!quiet) progress = setInterval(() => report('progress'), PROGRESS_MS);
      };
      g.onData = (data) => {
        received += data.length;
        if (!out.write(data)) {
          g.pause();
          out.once('drain', () => g.resume());
        }
      };
      g.onEnd = () => resolve(status >= 200 && status < 300 ? 0 : 1);
      g.onError = reject;
    });
    const code = await Promise.race([result, untilSignal().then(() => 130), session.failed]);
    if (progress !== undefined) clearInterval(progress);
    if (code === 130) g.abort();
    else report('done');
    if (code === 1) session.event('error', { status }, () => `netstack fetch: HTTP status ${status}`);
    await new Promise<void>((resolve) => {
      if (out === process.stdout) {
        if (out.writableLength === 0) resolve();
        else out.once('drain', () => resolve());
      } else out.end(() => resolve());
    });
    return code;
  } finally {
    if (progress !== undefined) clearInterval(progress);
    if (out !== process.stdout && !out.closed) out.destroy();
    session.close();
  }
}
