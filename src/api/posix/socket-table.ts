/**
 * Integer file descriptors: the lowest free one is handed out first (POSIX 2.14 "File Descriptor
 * Allocation"), up to a bound like RLIMIT_NOFILE (EMFILE beyond it). Descriptors 0, 1 and 2 stand
 * for a process's standard input, output and error: they are open but are not sockets, so the
 * socket calls answer ENOTSOCK for them, and the first socket is 3, as in a C program.
 */
import { fail } from './socket-error.ts';

/** Linux's default soft RLIMIT_NOFILE. */
export const DEFAULT_MAX_FDS = 1024;
/** Descriptors 0..2: standard streams, open and not sockets. */
export const FIRST_SOCKET_FD = 3;

export class SocketTable<S> {
  private readonly slots: Array<S | undefined> = [];
  /** No descriptor below this one is free. */
  private lowestFree = FIRST_SOCKET_FD;
  private open = 0;
  /** Refused allocations (EMFILE), the bound's counter. */
  refused = 0;

  /** @param limit descriptors are 0..limit-1, as with RLIMIT_NOFILE. */
  constructor(public limit = DEFAULT_MAX_FDS) {}

  /** Sockets open. */
  get size(): number {
    return this.open;
  }

  /** EMFILE unless a descriptor is free (checked before making what it will hold). */
  checkRoom(call: string): void {
    if (this.lowestFree < this.limit) return;
    this.refused++;
    fail('EMFILE', call, `all ${this.limit} descriptors are open`);
  }

  /** The lowest free descriptor, now holding `s`. EMFILE at the limit. */
  alloc(s: S, call: string): number {
    this.checkRoom(call);
    const fd = this.lowestFree;
    this.slots[fd] = s;
    this.open++;
    let next = fd + 1;
    while (next < this.slots.length && this.slots[next] !== undefined) next++;
    this.lowestFree = next;
    return fd;
  }

  /** The socket of `fd`: ENOTSOCK for 0..2, EBADF for anything not open. */
  get(fd: number, call: string): S {
    const s = Number.isInteger(fd) && fd >= 0 ? this.slots[fd] : undefined;
    if (s !== undefined) return s;
    if (fd === 0 || fd === 1 || fd === 2) fail('ENOTSOCK', call, `descriptor ${fd} is not a socket`);
    return fail('EBADF', call, `descriptor ${fd} is not open`);
  }

  /** The socket of `fd`, or undefined (for poll's POLLNVAL). */
  peek(fd: number): S | undefined {
    return Number.isInteger(fd) && fd >= 0 ? this.slots[fd] : undefined;
  }

  /** Frees `fd` for reuse. */
  free(fd: number): void {
    if (this.slots[fd] === undefined) return;
    this.slots[fd] = undefined;
    this.open--;
    if (fd < this.lowestFree) this.lowestFree = fd;
    while (this.slots.length > 0 && this.slots[this.slots.length - 1] === undefined) this.slots.pop();
  }

  /** Every open descriptor and its socket, in ascending order. */
  *entries(): IterableIterator<[number, S]> {
    for (let fd = 0; fd < this.slots.length; fd++) {
      const s = this.slots[fd];
      if (s !== undefined) yield [fd, s];
    }
  }
}
