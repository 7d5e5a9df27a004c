/**
 * A UDP socket of a link-local service (the DHCP and DHCPv6 clients and servers): bound to one
 * interface alone (SO_BINDTODEVICE, so broadcasts and link-scope multicast leave and arrive
 * there) and to its port with SO_REUSEADDR, handing each datagram received to a callback.
 */
import type { NetworkInterface } from '../core/device/interface.ts';
import type { IpAddr } from '../core/ip-address.ts';
import type { UdpDatagram, UdpSocket } from '../core/udp/udp-socket.ts';

/**
 * Sets `socket` up with `configure` (family options), binds it to `iface` and `port`, and calls
 * `onDatagram` for each datagram it receives; closes it and throws when a step fails.
 */
export function bindToInterface<A extends IpAddr>(
  socket: UdpSocket<A>,
  iface: NetworkInterface,
  port: number,
  configure: (socket: UdpSocket<A>) => void,
  onDatagram: (d: UdpDatagram<A>) => void,
): UdpSocket<A> {
  try {
    configure(socket);
    socket.bindToDevice(iface);
    socket.bind(port, undefined, { reuseAddr: true });
  } catch (e) {
    socket.close();
    throw e;
  }
  socket.onReadable = () => {
    for (let d = socket.recv(); d !== undefined; d = socket.recv()) onDatagram(d);
  };
  return socket;
}
