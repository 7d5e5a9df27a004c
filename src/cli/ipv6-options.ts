/**
 * IPv6 on the command line: the interface flags `--ipv6 ADDR/PREFIX` (the i-th to the i-th device,
 * like `--ipv4`) and `--slaac`, host literals with a zone (`fe80::1%tap0`), waiting for duplicate
 * address detection before `ready`, and for `up` the router side: `--advertise PREFIX/64` sends
 * router advertisements (RFC 4861 6.2) on the device whose `--ipv6` address is in the prefix, so
 * hosts there configure themselves (SLAAC) and route through the stack. Events after `ready`:
 * `ipv6-address` when an address passes DAD (SLAAC), `ipv6-router` when a new router advertises.
 */
import type { NetworkInterface } from '../core/device/interface.ts';
import type { Ipv6InterfaceAddress } from '../core/ip6/addresses6.ts';
import { maskPrefix, prefixMatches } from '../core/ip6/ipv6-addr.ts';
import type { Stack } from '../core/stack.ts';
import {
  type Ipv4Addr,
  type Ipv6Addr,
  ipv6IsLinkLocal,
  ipv6IsMulticast,
  ipv6IsUnspecified,
  ipv6Key,
  ipv6ToString,
  parseIpv4,
  parseIpv6,
} from '../wire/address.ts';
import { type FlagSpec, type ParsedArgs, UsageError } from './args.ts';

export interface Ipv6Cidr {
  addr: Ipv6Addr;
  prefixLen: number;
}

export const ipv6InterfaceFlags: Record<string, FlagSpec> = {
  ipv6: {
    type: 'string',
    repeatable: true,
    help: "the stack's IPv6 address on a device: the i-th --ipv6 goes to the i-th --tap/--tun (a TAP always has its fe80:: link-local address too)",
    value: 'ADDR/PREFIX',
  },
  slaac: { type: 'boolean', help: 'configure global IPv6 addresses from router advertisements (SLAAC)' },
};

export const ipv6UpFlags: Record<string, FlagSpec> = {
  advertise: {
    type: 'string',
    repeatable: true,
    help: 'send router advertisements of PREFIX/64 (hosts do SLAAC and route through the stack) on the device whose --ipv6 is in it; repeatable',
    value: 'PREFIX/64',
  },
};

/** `ADDR/PREFIX` to an address and prefix length, or undefined. */
export function parseIpv6Cidr(text: string): Ipv6Cidr | undefined {
  const m = /^([0-9a-fA-F:.]+)\/([0-9]{1,3})$/.exec(text);
  const addr = m === null ? undefined : parseIpv6(m[1]!);
  const prefixLen = Number(m?.[2]);
  if (addr === undefined || !(prefixLen >= 0 && prefixLen <= 128)) return undefined;
  return { addr, prefixLen };
}

/** The `--ipv6` of each device (undefined where none was given). */
export function parseIpv6Addresses(args: ParsedArgs, devices: number): Array<Ipv6Cidr | undefined> {
  const texts = (args.flags.ipv6 as string[] | undefined) ?? [];
  if (texts.length > devices) {
    throw new UsageError(
      devices === 0
        ? '--ipv6 needs a device (--tap NAME or --tun NAME)'
        : `${texts.length} --ipv6 for ${devices} device(s): give one per --tap/--tun, in order`,
    );
  }
  const out: Array<Ipv6Cidr | undefined> = Array.from({ length: devices }, () => undefined);
  texts.forEach((text, i) => {
    const cidr = parseIpv6Cidr(text);
    if (cidr === undefined)
      throw new UsageError(`--ipv6: expected ADDR/PREFIX (e.g. 2001:db8::2/64): ${text}`);
    const a = cidr.addr;
    if (ipv6IsMulticast(a) || ipv6IsUnspecified(a) || ipv6Key(a) === ipv6Key(parseIpv6('::1')!))
      throw new UsageError(`--ipv6: ${text} is not a unicast address for a device`);
    out[i] = cidr;
  });
  return out;
}

/** A host on the command line: an IPv4 literal, or an IPv6 literal with an optional `%zone`. */
export type HostArg =
  | { family: 4; addr: Ipv4Addr; zone: undefined }
  | { family: 6; addr: Ipv6Addr; zone: string | undefined };

/** Parses an IPv4 or IPv6 literal (names come with DNS later) or throws a usage error naming `what`. */
export function parseHostArg(text: string, what: string): HostArg {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, addr: v4, zone: undefined };
  const at = text.indexOf('%');
  const v6 = parseIpv6(at >= 0 ? text.slice(0, at) : text);
  const zone = at >= 0 ? text.slice(at + 1) : undefined;
  if (v6 === undefined || zone === '') throw new UsageError(`${what}: not an IPv4 or IPv6 address: ${text}`);
  return { family: 6, addr: v6, zone };
}

/** The interface a zone names (a device given with --tap/--tun, or lo), or a usage error. */
export function zoneInterface(stack: Stack, zone: string): NetworkInterface {
  const iface = stack.getInterface(zone);
  if (iface === undefined) throw new UsageError(`unknown zone %${zone}: not a device of this command`);
  return iface;
}

/** `addr/len` of an address as the ready event lists it. */
export function formatIpv6(a: { addr: Ipv6Addr; prefixLen: number }): string {
  return `${ipv6ToString(a.addr)}/${a.prefixLen}`;
}

/** The usable IPv6 addresses of an interface (DAD done), link-local first. */
export function usableIpv6(stack: Stack, iface: NetworkInterface): Ipv6InterfaceAddress[] {
  return (stack.ipv6?.listAddresses(iface) ?? [])
    .filter((a) => a.state === 'preferred' || a.state === 'deprecated' || a.state === 'optimistic')
    .sort((x, y) => Number(ipv6IsLinkLocal(y.addr)) - Number(ipv6IsLinkLocal(x.addr)));
}

/**
 * Resolves once duplicate address detection is over on `ifaces`: each Ethernet device has its
 * link-local address and no address is tentative any more.
 */
export function ipv6Settled(stack: Stack, ifaces: readonly NetworkInterface[]): Promise<void> {
  const ip = stack.ipv6;
  if (ip === undefined) return Promise.resolve();
  const settled = () =>
    ifaces.every((iface) => {
      const list = ip.listAddresses(iface);
      return (
        list.every((a) => a.state !== 'tentative') &&
        (iface.link.kind !== 'ethernet' || list.some((a) => ipv6IsLinkLocal(a.addr)))
      );
    });
  return new Promise((resolve) => {
    const check = () => {
      if (!settled()) return;
      remove(ip.addresses.onStateChanged, check);
      remove(ip.addresses.onAdded, check);
      remove(ip.addresses.onRemoved, check);
      resolve();
    };
    ip.addresses.onStateChanged.push(check);
    ip.addresses.onAdded.push(check);
    ip.addresses.onRemoved.push(check);
    check();
  });
}

/** Removes `item` from `list` if it is there. */
export function remove<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

/** `up --advertise`: which prefix each device advertises. */
export interface Ipv6RouterPlan {
  advertise: Array<{ device: number; prefix: Ipv6Addr; prefixLen: number }>;
  /** Devices whose advertisements set M (RFC 4861 4.2): a DHCPv6 server gives addresses there. */
  managed?: readonly number[];
}

/** Checks `--advertise` against the devices' `--ipv6` addresses. */
export function parseIpv6RouterPlan(
  args: ParsedArgs,
  addresses: ReadonlyArray<Ipv6Cidr | undefined>,
): Ipv6RouterPlan {
  const advertise: Ipv6RouterPlan['advertise'] = [];
  for (const text of (args.flags.advertise as string[] | undefined) ?? []) {
    const cidr = parseIpv6Cidr(text);
    if (cidr === undefined)
      throw new UsageError(`--advertise: expected PREFIX/64 (e.g. 2001:db8:1::/64): ${text}`);
    // RFC 4862 5.5.3 (d): hosts autoconfigure only from prefixes that leave 64 bits of identifier.
    if (cidr.prefixLen !== 64) throw new UsageError(`--advertise: SLAAC needs a /64 prefix: ${text}`);
    if (ipv6IsLinkLocal(cidr.addr) || ipv6IsMulticast(cidr.addr))
      throw new UsageError(`--advertise: ${text} is not a prefix hosts can use`);
    const device = addresses.findIndex((a) => a !== undefined && prefixMatches(a.addr, cidr.addr, 64));
    if (device < 0)
      throw new UsageError(`--advertise ${text}: no --ipv6 address of a device is in this prefix`);
    if (advertise.some((x) => x.device === device && prefixMatches(x.prefix, cidr.addr, 64)))
      throw new UsageError(`--advertise ${text} is given twice`);
    advertise.push({ device, prefix: maskPrefix(cidr.addr, 64), prefixLen: 64 });
  }
  return { advertise };
}

/** What `up` needs to print and stop of the IPv6 side. */
export interface Ipv6Up {
  /** Fields of the ready event. */
  info: {
    forwardingIpv6: boolean;
    advertising: Array<{ interface: string; prefix: string }>;
    /** Default routers learned from advertisements so far (`fe80::1%tap0`). */
    ipv6Routers: string[];
  };
  /** Lines of the text ready event. */
  text: string[];
  /** Starts printing `ipv6-address` and `ipv6-router` events. */
  watch(event: (name: string, fields: Record<string, unknown>, text: () => string) => void): void;
  /** Final advertisements with router lifetime 0 (RFC 4861 6.2.5). */
  stop(): void;
}

/**
 * `up`: IPv6 forwarding (with `--forward` or `--advertise`), the advertisers, then waits for DAD
 * so the ready event lists usable addresses.
 */
export async function startIpv6(
  stack: Stack,
  ifaces: readonly NetworkInterface[],
  plan: Ipv6RouterPlan,
  forward: boolean,
): Promise<Ipv6Up> {
  const ip = stack.ipv6!;
  const byDevice = new Map<number, Array<{ prefix: Ipv6Addr; prefixLength: number }>>();
  for (const { device, prefix, prefixLen } of plan.advertise)
    byDevice.set(device, [...(byDevice.get(device) ?? []), { prefix, prefixLength: prefixLen }]);
  const advertisers = stack.run(() => {
    if (forward) ip.forwarding = true;
    return [...byDevice].map(([device, prefixes]) =>
      ip.advertise(ifaces[device]!, { prefixes, managed: plan.managed?.includes(device) ?? false }),
    );
  });
  await ipv6Settled(stack, ifaces);
  const advertising = plan.advertise.map((a) => ({
    interface: ifaces[a.device]!.name,
    prefix: formatIpv6({ addr: a.prefix, prefixLen: a.prefixLen }),
  }));
  const watchers: Array<() => void> = [];
  const routerName = (iface: NetworkInterface, router: Ipv6Addr) => `${ipv6ToString(router)}%${iface.name}`;
  const defaultRouters = () =>
    ip.routes
      .list()
      .filter(
        (r) => r.prefixLen === 0 && r.gateway !== undefined && r.origin === 'ra' && ifaces.includes(r.iface),
      )
      .map((r) => routerName(r.iface, r.gateway!));
  const known = new Set(defaultRouters());
  return {
    info: { forwardingIpv6: ip.forwarding, advertising, ipv6Routers: [...known] },
    text: [
      ...advertising.map((a) => `  advertising ${a.prefix} on ${a.interface}`),
      ...[...known].map((r) => `  ipv6 router ${r} (default route)`),
      ...(ip.forwarding && plan.advertise.length === 0 ? ['  forwarding IPv6 between the interfaces'] : []),
    ],
    watch(event) {
      const stateChanged = (a: Ipv6InterfaceAddress) => {
        if (!ifaces.includes(a.iface) || (a.state !== 'preferred' && a.state !== 'duplicate')) return;
        const address = formatIpv6(a);
        const fields = { interface: a.iface.name, address, origin: a.origin, state: a.state };
        event('ipv6-address', fields, () => `ipv6 ${a.iface.name} ${address} ${a.origin} ${a.state}`);
      };
      // Told after each advertisement is processed: report routers not seen before.
      const raFlags = (iface: NetworkInterface, _f: unknown, router: Ipv6Addr) => {
        const r = routerName(iface, router);
        if (known.has(r) || !ifaces.includes(iface)) return;
        known.add(r);
        const isDefault = defaultRouters().includes(r);
        event(
          'ipv6-router',
          { interface: iface.name, router: r, default: isDefault },
          () => `ipv6 router ${r}${isDefault ? ' (default route)' : ''}`,
        );
      };
      ip.addresses.onStateChanged.push(stateChanged);
      ip.onRaFlags.push(raFlags);
      watchers.push(() => {
        remove(ip.addresses.onStateChanged, stateChanged);
        remove(ip.onRaFlags, raFlags);
      });
    },
    stop() {
      for (const w of watchers.splice(0)) w();
      stack.run(() => {
        for (const a of advertisers) a.stop();
      });
    },
  };
}
