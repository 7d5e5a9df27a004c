/**
 * TCP connection states (RFC 9293 3.3.2) as a discriminated union: each state carries only what
 * it needs. LISTEN belongs to a `TcpListener` (listener.ts); a connection block starts in
 * SYN-SENT (active OPEN) or SYN-RECEIVED (passive OPEN) and ends in CLOSED.
 */

/** RFC 9293 3.3.2: "represents no connection state at all". `error` says why it ended, if not normally. */
export interface Closed {
  readonly name: 'CLOSED';
  readonly error: string | undefined;
}

/** "represents waiting for a matching connection request after having sent a connection request". */
export interface SynSent {
  readonly name: 'SYN-SENT';
}

/**
 * "represents waiting for a confirming connection request acknowledgment after having both
 * received and sent a connection request". MUST-11: whether it came from a passive OPEN (a
 * listener) or an active one (simultaneous open) decides what a RST does (RFC 9293 3.10.7.4).
 */
export interface SynReceived {
  readonly name: 'SYN-RECEIVED';
  readonly passive: boolean;
}

/** "represents an open connection, data received can be delivered to the user". */
export interface Established {
  readonly name: 'ESTABLISHED';
}

/** "represents waiting for a connection termination request from the remote TCP peer, or an
 * acknowledgment of the connection termination request previously sent". */
export interface FinWait1 {
  readonly name: 'FIN-WAIT-1';
}

/** "represents waiting for a connection termination request from the remote TCP peer". */
export interface FinWait2 {
  readonly name: 'FIN-WAIT-2';
}

/** "represents waiting for a connection termination request from the local user". */
export interface CloseWait {
  readonly name: 'CLOSE-WAIT';
}

/** "represents waiting for a connection termination request acknowledgment from the remote TCP peer". */
export interface Closing {
  readonly name: 'CLOSING';
}

/** "represents waiting for an acknowledgment of the connection termination request previously
 * sent to the remote TCP peer (this termination request sent to the remote TCP peer already
 * included an acknowledgment of the termination request sent from the remote TCP peer)". */
export interface LastAck {
  readonly name: 'LAST-ACK';
}

/** "represents waiting for enough time to pass to be sure the remote TCP peer received the
 * acknowledgment of its connection termination request" (2 MSL, MUST-13). */
export interface TimeWait {
  readonly name: 'TIME-WAIT';
}

export type TcpState =
  | Closed
  | SynSent
  | SynReceived
  | Established
  | FinWait1
  | FinWait2
  | CloseWait
  | Closing
  | LastAck
  | TimeWait;

export type TcpStateName = TcpState['name'] | 'LISTEN';

export const SYN_SENT: SynSent = { name: 'SYN-SENT' };
export const ESTABLISHED: Established = { name: 'ESTABLISHED' };
export const FIN_WAIT_1: FinWait1 = { name: 'FIN-WAIT-1' };
export const FIN_WAIT_2: FinWait2 = { name: 'FIN-WAIT-2' };
export const CLOSE_WAIT: CloseWait = { name: 'CLOSE-WAIT' };
export const CLOSING: Closing = { name: 'CLOSING' };
export const LAST_ACK: LastAck = { name: 'LAST-ACK' };
export const TIME_WAIT: TimeWait = { name: 'TIME-WAIT' };

const CLOSED: Closed = { name: 'CLOSED', error: undefined };
const SYN_RECEIVED_PASSIVE: SynReceived = { name: 'SYN-RECEIVED', passive: true };
const SYN_RECEIVED_ACTIVE: SynReceived = { name: 'SYN-RECEIVED', passive: false };

/** CLOSED, with the error that ended the connection (one shared object when none). */
export function closed(error?: string): Closed {
  return error === undefined ? CLOSED : { name: 'CLOSED', error };
}

export function synReceived(passive: boolean): SynReceived {
  return passive ? SYN_RECEIVED_PASSIVE : SYN_RECEIVED_ACTIVE;
}

/** RFC 9293 3.5.2: the states after the handshake, where both sequence spaces are known. */
export function isSynchronized(s: TcpState): boolean {
  return s.name !== 'CLOSED' && s.name !== 'SYN-SENT' && s.name !== 'SYN-RECEIVED';
}

/** States in which the user may still queue data (RFC 9293 3.10.2 SEND). */
export function canSend(s: TcpState): boolean {
  return (
    s.name === 'ESTABLISHED' || s.name === 'CLOSE-WAIT' || s.name === 'SYN-SENT' || s.name === 'SYN-RECEIVED'
  );
}

/** States in which received data is accepted (RFC 9293 3.10.7.4, seventh step). */
export function acceptsData(s: TcpState): boolean {
  return s.name === 'ESTABLISHED' || s.name === 'FIN-WAIT-1' || s.name === 'FIN-WAIT-2';
}

/** States in which our FIN has been sent. */
export function finSent(s: TcpState): boolean {
  return (
    s.name === 'FIN-WAIT-1' ||
    s.name === 'FIN-WAIT-2' ||
    s.name === 'CLOSING' ||
    s.name === 'LAST-ACK' ||
    s.name === 'TIME-WAIT'
  );
}
