/**
 * What every command that puts a stack on a real network shares: the interface flags (`--tap`,
 * `--tun`, `--ipv4`, `--gateway`, `--dns`, `--dhcp`, `--mtu`, `--pcap`, `--json`), their checks, and
 * a `Session` that builds the stack on Node's clock, attaches the devices, configures addresses,
 * routes and name servers, captures to a pcap file, prints events (text or JSON lines) and closes
 * everything with a counter report.
 *
 * Devices are numbered in the order `--tap` and `--tun` were given; the i-th `--ipv4` (and `--ipv6`)
 * belongs to the i-th device (`--tap a --ipv4 10.0.1.1/24 --tap b --ipv4 10.0.2.1/24`).
 */
import { performance } from 'node:perf_hooks';
import '../api/install.ts';
import { MAX_SERVERS, type NameServer, parseNameServer } from '../apps/dns/config.ts';
import type { Impairments } from '../bindings/memory/impairments.ts';
import { NodeEnvironment } from '../bindings/node/node-environment.ts';
import {
  type AttachedDevice,
  attachTap,
  attachTun,
  type TapDevice,
  type TunDevice,
} from '../bindings/node/tap.ts';
import { captureInterfaces } from '../bindings/pcap/capture.ts';
import { type CaptureWriter, openCaptureFile } from '../bindings/pcap/pcap-file.ts';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../bindings/pcap/pcap-format.ts';
import { Stack } from '../core/stack.ts';
import {
  type Ipv4Addr,
  ipv4Mask,
  ipv4ToString,
  macToString,
  parseIpv4,
  parseIpv4Cidr,
} from '../wire/address.ts';
import { type FlagSpec, type ParsedArgs, UsageError } from './args.ts';
import { impairFlag, impairReceive, parseImpairments } from './impair.ts';
import {
  formatIpv6,
  type Ipv6Cidr,
  ipv6InterfaceFlags,
  parseIpv6Addresses,
  usableIpv6,
} from './ipv6-options.ts';

export const interfaceFlags: Record<string, FlagSpec> = {
  tap: {
    type: 'string',
    repeatable: true,
    help: 'attach to TAP device NAME (created when missing, brought up); repeatable',
    value: 'NAME',
  },
  tun: {
    type: 'string',
    repeatable: true,
    help: 'attach to TUN device NAME (created when missing, brought up); repeatable',
    value: 'NAME',
  },
  ipv4: {
    type: 'string',
    repeatable: true,
    help: "the stack's address on a device: the i-th --ipv4 goes to the i-th --tap/--tun",
    value: 'ADDR/LEN',
  },
  ...ipv6InterfaceFlags,
  gateway: { type: 'string', help: 'default route via ADDR (on the subnet of an --ipv4)', value: 'ADDR' },
  dns: {
    type: 'string',
    repeatable: true,
    help: 'name server for host names: 10.0.0.53, 10.0.0.53:5353, 2001:db8::53 or [2001:db8::53]:5353; repeatable, asked in order (default: those DHCP gives)',
    value: 'ADDR',
  },
  dhcp: {
    type: 'boolean',
    help: 'configure every --tap given without --ipv4 by DHCP (address, routes, DNS)',
  },
  mtu: { type: 'number', help: 'MTU of every device, set on the kernel side too (default 1500)', value: 'N' },
  pcap: {
    type: 'string',
    help: 'capture every frame of every device to FILE (pcapng when it ends in .pcapng)',
    value: 'FILE',
  },
  json: { type: 'boolean', help: 'print events as JSON lines instead of text' },
  'no-offload': {
    type: 'boolean',
    help: 'TAP/TUN without checksum and TCP segmentation offloads (default: on; for debugging)',
  },
  impair: impairFlag,
};

export interface DeviceConfig {
  kind: 'tap' | 'tun';
  name: string;
  ipv4: { addr: Ipv4Addr; prefixLen: number } | undefined;
  ipv6: Ipv6Cidr | undefined;
}

export interface InterfaceConfig {
  devices: DeviceConfig[];
  gateway: Ipv4Addr | undefined;
  /** Name servers given with `--dns` (empty: those DHCP gives, if any). */
  dns: NameServer[];
  mtu: number | undefined;
  pcap: string | undefined;
  json: boolean;
  /** TAP/TUN checksum and segmentation offloads (`--no-offload` turns them off; default on). */
  offload?: boolean;
  /** Global IPv6 addresses from router advertisements (`--slaac`). */
  slaac: boolean;
  /** Impairments of what the devices receive (`--impair`, see impair.ts). */
  impair?: Impairments | undefined;
}

/** Parses an IPv4 literal (names come with DNS later) or throws a usage error naming `what`. */
export function parseAddressArg(text: string, what: string): Ipv4Addr {
  const addr = parseIpv4(text);
  if (addr === undefined) throw new UsageError(`${what}: not an IPv4 address: ${text}`);
  return addr;
}

/** Parses a port number 0..65535 (1..65535 unless `allowZero`) or throws a usage error. */
export function parsePortArg(text: string, what: string, allowZero = false): number {
  const port = /^[0-9]{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(port >= (allowZero ? 0 : 1) && port <= 65535)) throw new UsageError(`${what}: not a port: ${text}`);
  return port;
}

/** Checks the interface flags of `args` and returns them as a configuration. */
export function parseInterfaceOptions(args: ParsedArgs): InterfaceConfig {
  const devices: DeviceConfig[] = [];
  for (const { name, value } of args.sequence) {
    if (name !== 'tap' && name !== 'tun') continue;
    const dev = String(value);
    if (dev === '' || dev.length > 15 || /[\s/]/.test(dev))
      throw new UsageError(`--${name}: bad device name '${dev}' (1 to 15 characters, no '/' or spaces)`);
    if (devices.some((d) => d.name === dev)) throw new UsageError(`device ${dev} is given twice`);
    devices.push({ kind: name, name: dev, ipv4: undefined, ipv6: undefined });
  }
  const addresses = (args.flags.ipv4 as string[] | undefined) ?? [];
  if (addresses.length > devices.length) {
    throw new UsageError(
      devices.length === 0
        ? '--ipv4 needs a device (--tap NAME or --tun NAME)'
        : `${addresses.length} --ipv4 for ${devices.length} device(s): give one per --tap/--tun, in order`,
    );
  }
  addresses.forEach((text, i) => {
    const cidr = parseIpv4Cidr(text);
    if (cidr === undefined) throw new UsageError(`--ipv4: expected ADDR/LEN (e.g. 10.0.0.2/24): ${text}`);
    const { addr, prefixLen } = cidr;
    const host = addr & ~ipv4Mask(prefixLen);
    if (addr >>> 28 >= 0xe || addr >>> 24 === 0 || addr >>> 24 === 127)
      throw new UsageError(`--ipv4: ${text} is not a unicast address for a device`);
    if (prefixLen < 31 && (host === 0 || host === ~ipv4Mask(prefixLen) >>> 0))
      throw new UsageError(`--ipv4: ${text} is the network or broadcast address of its subnet`);
    devices[i]!.ipv4 = cidr;
  });
  parseIpv6Addresses(args, devices.length).forEach((cidr, i) => {
    devices[i]!.ipv6 = cidr;
  });
  const gatewayText = args.flags.gateway as string | undefined;
  const gateway = gatewayText === undefined ? undefined : parseAddressArg(gatewayText, '--gateway');
  if (
    gateway !== undefined &&
    !devices.some(
      (d) =>
        d.ipv4 !== undefined &&
        (d.ipv4.addr & ipv4Mask(d.ipv4.prefixLen)) >>> 0 === (gateway & ipv4Mask(d.ipv4.prefixLen)) >>> 0,
    )
  )
    throw new UsageError(`--gateway ${gatewayText} is not on the subnet of any --ipv4`);
  const dns = parseDnsServers((args.flags.dns as string[] | undefined) ?? []);
  const mtu = args.flags.mtu as number | undefined;
  if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535))
    throw new UsageError(`--mtu must be an integer between 68 and 65535`);
  const pcap = args.flags.pcap as string | undefined;
  if (pcap === '') throw new UsageError('--pcap needs a file name');
  if (pcap !== undefined && devices.length === 0) throw new UsageError('--pcap needs a device to capture');
  if (
    pcap !== undefined &&
    !pcap.endsWith('.pcapng') &&
    devices.some((d) => d.kind === 'tap') &&
    devices.some((d) => d.kind === 'tun')
  )
    throw new UsageError('a capture of both TAP and TUN devices needs a .pcapng file');
  const impair = parseImpairments(args.flags.impair as string | undefined);
  const slaac = args.flags.slaac === true;
  return {
    devices,
    gateway,
    dns,
    mtu,
    pcap,
    json: args.flags.json === true,
    offload: args.flags['no-offload'] !== true,
    slaac,
    ...(impair ? { impair } : {}),
  };
}

/** The `--dns` servers, checked (the form `dns.setServers` takes; at most MAX_SERVERS). */
export function parseDnsServers(texts: readonly string[]): NameServer[] {
  const servers = texts.map((text) => {
    const s = parseNameServer(text);
    if (s === undefined)
      throw new UsageError(
        `--dns: expected ADDR, ADDR:PORT or [IPV6]:PORT (e.g. 10.0.0.53, [2001:db8::53]:5353): ${text}`,
      );
    return s;
  });
  if (servers.length > MAX_SERVERS) throw new UsageError(`--dns: at most ${MAX_SERVERS} name servers`);
  return servers;
}

/** Counters of one device, as printed at exit. */
export interface DeviceReport {
  name: string;
  kind: 'tap' | 'tun';
  rxFrames: number;
  rxBatches: number;
  rxOversized: number;
  txFrames: number;
  txDrops: number;
}

/** What `close` returns and prints: the stack's counters and the devices'. */
export interface SessionReport {
  counters: Record<string, number>;
  devices: DeviceReport[];
}

/** A one-line hint for the usual reasons a device does not open. */
function deviceHint(code: string | undefined): string {
  switch (code) {
    case 'EPERM':
    case 'EACCES':
      return ' (needs root or CAP_NET_ADMIN)';
    case 'ENOENT':
      return ' (/dev/net/tun is missing: modprobe tun)';
    case 'EBUSY':
      return ' (another process has it open)';
    case 'EINVAL':
      return ' (a device of another kind may have this name)';
    default:
      return '';
  }
}

/**
 * A stack on Node's clock with the configured devices, addresses, routes and capture. Events go to
 * `out` (stdout for `up` and `ping`, stderr for `nc`, whose stdout carries data).
 */
export class Session {
  readonly stack: Stack;
  readonly devices: Array<AttachedDevice<TapDevice> | AttachedDevice<TunDevice>> = [];
  /** Rejects with the first fatal device error (e.g. the device was deleted). */
  readonly failed: Promise<never>;
  private readonly env = new NodeEnvironment();
  private capture: { writer: CaptureWriter; stop: () => void } | undefined;
  private closedReport: SessionReport | undefined;
  /** Run first by `close` (e.g. the DHCP clients release their leases while the devices are open). */
  readonly beforeClose: Array<() => void> = [];

  constructor(
    readonly config: InterfaceConfig,
    name: string,
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {
    this.stack = new Stack(this.env, { name, ipv6: { slaac: config.slaac } });
    let fail: (e: Error) => void = () => {};
    this.failed = new Promise<never>((_, reject) => {
      fail = reject;
    });
    // A device error must not go unhandled before anyone awaits `failed`.
    this.failed.catch(() => {});
    try {
      // The capture file first: a bad path fails before any device is created.
      if (config.pcap !== undefined) this.openCapture(config.pcap);
      for (const d of config.devices) {
        const options = {
          name: d.name,
          up: true,
          offload: config.offload !== false,
          onError: (e: NodeJS.ErrnoException) =>
            fail(Object.assign(new Error(`device ${d.name}: ${e.message}`), { code: e.code ?? 'EIO' })),
          ...(config.mtu !== undefined ? { mtu: config.mtu } : {}),
        };
        try {
          this.devices.push(
            d.kind === 'tap' ? attachTap(this.stack, options) : attachTun(this.stack, options),
          );
        } catch (e) {
          const err = e as NodeJS.ErrnoException;
          throw Object.assign(
            new Error(
              `cannot open ${d.kind.toUpperCase()} device ${d.name}: ${err.message}${deviceHint(err.code)}`,
            ),
            { code: err.code ?? 'EIO' },
          );
        }
      }
      const impair = config.impair;
      if (impair !== undefined) for (const d of this.devices) impairReceive(this.env, d.device, impair);
      this.configure();
      if (this.capture !== undefined)
        this.capture.stop = captureInterfaces(
          this.devices.map((d) => d.iface),
          this.capture.writer,
          { toWallClock: (now) => performance.timeOrigin + now },
        );
    } catch (e) {
      this.close();
      throw e;
    }
  }

  private configure(): void {
    const { stack, config } = this;
    this.stack.run(() => {
      config.devices.forEach((d, i) => {
        if (d.ipv4 !== undefined)
          stack.ipv4.addAddress(this.devices[i]!.iface, d.ipv4.addr, d.ipv4.prefixLen);
        if (d.ipv6 !== undefined)
          stack.ipv6?.addAddress(this.devices[i]!.iface, d.ipv6.addr, d.ipv6.prefixLen);
      });
      if (config.dns.length > 0) stack.dns.resolver.configure({ servers: config.dns });
      const gateway = config.gateway;
      if (gateway === undefined) return;
      const onLink = stack.ipv4.routes.lookup(gateway);
      if (onLink === undefined || onLink.route.gateway !== undefined)
        throw Object.assign(new Error(`gateway ${ipv4ToString(gateway)} is not on-link`), {
          code: 'ENETUNREACH',
        });
      stack.ipv4.routes.add({
        dest: 0,
        prefixLen: 0,
        gateway,
        iface: onLink.iface,
        metric: 0,
        origin: 'static',
      });
    });
  }

  private openCapture(path: string): void {
    const linkTypes = this.config.devices.map((d) => (d.kind === 'tap' ? LINKTYPE_ETHERNET : LINKTYPE_RAW));
    try {
      const writer = openCaptureFile(path, {
        interfaces: this.config.devices.map((d, i) => ({ linkType: linkTypes[i]!, name: d.name })),
        linkType: linkTypes[0] ?? LINKTYPE_ETHERNET,
      });
      this.capture = { writer, stop: () => {} };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw Object.assign(new Error(`cannot write the capture ${path}: ${err.message}`), {
        code: err.code ?? 'EIO',
      });
    }
  }

  /** The interfaces with their addresses (IPv6: those DAD passed), for the ready event. */
  interfaces(): Array<{
    name: string;
    kind: string;
    mac?: string;
    mtu: number;
    ipv4: string[];
    ipv6: string[];
  }> {
    return this.devices.map(({ iface }) => ({
      name: iface.name,
      kind: iface.link.kind === 'ethernet' ? 'tap' : 'tun',
      ...(iface.link.kind === 'ethernet' ? { mac: macToString(iface.mac) } : {}),
      mtu: iface.mtu,
      ipv4: this.stack.ipv4.listAddresses(iface).map((a) => `${ipv4ToString(a.addr)}/${a.prefixLen}`),
      ipv6: usableIpv6(this.stack, iface).map(formatIpv6),
    }));
  }

  /** Prints one event: a JSON line with `--json`, else the text lines. */
  event(name: string, fields: Record<string, unknown>, text: () => string | string[]): void {
    const lines = this.config.json ? JSON.stringify({ event: name, ...fields }) : text();
    this.out.write(`${Array.isArray(lines) ? lines.join('\n') : lines}\n`);
  }

  /** The `ready` event: the line begins with `ready` and the stack's addresses. */
  ready(extra: Record<string, unknown> = {}, extraText: string[] = []): void {
    const interfaces = this.interfaces();
    const dns = this.stack.dns.getServers();
    this.event('ready', { interfaces, ...(dns.length > 0 ? { dns } : {}), ...extra }, () => {
      // Link-local addresses (every TAP has one) are listed on the device's ipv6 line only.
      const addresses = interfaces.flatMap((i) => [
        ...i.ipv4,
        ...i.ipv6.filter((a) => !a.startsWith('fe80:')),
      ]);
      return [
        `ready ${addresses.length > 0 ? addresses.join(' ') : '(no addresses)'}`,
        ...interfaces.map(
          (i) =>
            `  ${i.name} ${i.kind}${i.mac !== undefined ? ` ${i.mac}` : ''} mtu ${i.mtu}` +
            (i.ipv4.length > 0 ? ` ${i.ipv4.join(' ')}` : '') +
            (i.ipv6.length > 0 ? `\n  ${i.name} ipv6 ${i.ipv6.join(' ')}` : ''),
        ),
        ...(dns.length > 0 ? [`  dns ${dns.join(' ')}`] : []),
        ...extraText,
      ];
    });
  }

  /** Stops capturing, closes the devices and the clock; returns the final counters. Idempotent. */
  close(): SessionReport {
    if (this.closedReport !== undefined) return this.closedReport;
    for (const f of this.beforeClose.splice(0)) this.stack.run(f);
    this.capture?.stop();
    this.capture?.writer.close();
    this.capture = undefined;
    const devices = this.devices.map(({ device }) => ({
      name: device.name,
      kind: device.kind === 'ethernet' ? ('tap' as const) : ('tun' as const),
      ...device.stats,
    }));
    for (const d of this.devices) d.close();
    this.env.close();
    this.closedReport = { counters: this.stack.counters.snapshot(), devices };
    return this.closedReport;
  }

  /** Closes the session and prints its counters (the `counters` event). */
  closeAndReport(): SessionReport {
    const report = this.close();
    this.event('counters', { ...report }, () => formatReport(report));
    return report;
  }
}

/** The report as text: the stack's counters like `nstat`, then one line per device. */
export function formatReport(report: SessionReport): string[] {
  const names = Object.keys(report.counters);
  const width = Math.max(0, ...names.map((n) => n.length));
  return [
    'counters:',
    ...names.map((n) => `  ${n.padEnd(width)}  ${report.counters[n]}`),
    ...report.devices.map(
      (d) =>
        `device ${d.name}: rx ${d.rxFrames} frames in ${d.rxBatches} batches (${d.rxOversized} oversized), ` +
        `tx ${d.txFrames} frames (${d.txDrops} dropped)`,
    ),
  ];
}

/** Resolves with the first of SIGINT or SIGTERM (the handlers are removed then). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
