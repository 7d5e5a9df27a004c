/**
 * In-memory bindings: virtual time (`Simulation`) and simulated networks (`VirtualNetwork` with
 * its wires and switches, and netem-like impairments on every cable).
 */
export type { AttachOptions } from './channel.ts';
export {
  DEFAULT_MTU,
  DEFAULT_QUEUE_BYTES,
  type GilbertElliottLoss,
  type Impairments,
  type LinkStats,
  validateImpairments,
} from './impairments.ts';
export { VirtualNetwork } from './network.ts';
export { DEFAULT_EPOCH, Simulation, type SimulationOptions } from './simulation.ts';
export {
  DEFAULT_AGEING_TIME,
  DEFAULT_MAC_TABLE_SIZE,
  type MacTableEntry,
  type PortDirection,
  type SwitchAttachOptions,
  type SwitchOptions,
  SwitchPort,
  type SwitchPortStats,
  type SwitchStats,
  VirtualSwitch,
} from './switch.ts';
export { VirtualWire, type WireDirection, type WireOptions } from './virtual-wire.ts';
