#!/usr/bin/env python3
"""Kernel-socket peers for the over-TAP benchmarks (bench/over-tap.ts), run inside a namespace.

  tap-peer.py rr HOST PORT SECONDS        TCP request/response like netperf TCP_RR: one connection,
                                          1-byte request, 1-byte answer, one transaction at a time;
                                          prints {"transactions": N, "seconds": S}
  tap-peer.py echo-server ADDR PORT       a TCP echo server (the kernel reference for rr); prints
                                          "ready" once it listens, serves until killed
  tap-peer.py tcp-send HOST PORT SECONDS  TCP bulk to a discard server, then FIN and wait for its
                                          close; prints {"bytes": N, "seconds": S}
  tap-peer.py tcp-recv HOST PORT SECONDS  TCP bulk from a chargen server; prints {"bytes": N, "seconds": S}
  tap-peer.py udp-send HOST PORT SIZE SECONDS
                                          sends SIZE-byte datagrams as fast as the socket takes them;
                                          prints {"sent": N, "seconds": S}
  tap-peer.py udp-sink ADDR PORT          counts datagrams from the first to the last, stops once
                                          none came for a second; prints {"received": N, "seconds": S}
"""
import json
import socket
import sys
import threading
import time


def rr(host: str, port: int, seconds: float) -> None:
    s = socket.create_connection((host, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    send, recv = s.send, s.recv
    request = b"x"
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds
    # Check the clock once every 64 transactions, so the loop is send + recv and little else.
    while True:
        for _ in range(64):
            send(request)
            if not recv(1):
                raise SystemExit("rr: the server closed the connection")
        n += 64
        if time.perf_counter() >= deadline:
            break
    elapsed = time.perf_counter() - t0
    s.close()
    print(json.dumps({"transactions": n, "seconds": elapsed}), flush=True)


def echo_connection(c: socket.socket) -> None:
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with c:
        while True:
            data = c.recv(65536)
            if not data:
                return
            c.sendall(data)


def echo_server(addr: str, port: int) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((addr, port))
    server.listen(16)
    print("ready", flush=True)
    while True:
        c, _ = server.accept()
        threading.Thread(target=echo_connection, args=(c,), daemon=True).start()


def tcp_send(host: str, port: int, seconds: float) -> None:
    s = socket.create_connection((host, port))
    chunk = bytes(256 * 1024)
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while time.perf_counter() < deadline:
        s.sendall(chunk)
        n += len(chunk)
    # Everything counted has arrived once the server, having read to our FIN, closes too.
    s.shutdown(socket.SHUT_WR)
    s.settimeout(30)
    while s.recv(65536):
        pass
    print(json.dumps({"bytes": n, "seconds": time.perf_counter() - t0}), flush=True)


def tcp_recv(host: str, port: int, seconds: float) -> None:
    s = socket.create_connection((host, port))
    buf = bytearray(256 * 1024)
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while time.perf_counter() < deadline:
        got = s.recv_into(buf)
        if not got:
            raise SystemExit("tcp-recv: the server closed the connection")
        n += got
    print(json.dumps({"bytes": n, "seconds": time.perf_counter() - t0}), flush=True)
    s.close()


def udp_send(host: str, port: int, size: int, seconds: float) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((host, port))
    send = s.send
    data = bytes(size)
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while True:
        for _ in range(64):
            try:
                send(data)
                n += 1
            except OSError:
                # ENOBUFS, or ECONNREFUSED from an ICMP error: the datagram was not sent.
                pass
        if time.perf_counter() >= deadline:
            break
    print(json.dumps({"sent": n, "seconds": time.perf_counter() - t0}), flush=True)


def udp_sink(addr: str, port: int) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((addr, port))
    print("ready", flush=True)
    buf = bytearray(65536)
    recv_into = s.recv_into
    recv_into(buf)
    n = 1
    first = last = time.perf_counter()
    s.settimeout(1.0)
    try:
        while True:
            recv_into(buf)
            n += 1
            last = time.perf_counter()
    except socket.timeout:
        pass
    print(json.dumps({"received": n, "seconds": last - first}), flush=True)


def main() -> None:
    command, args = sys.argv[1], sys.argv[2:]
    if command == "rr":
        rr(args[0], int(args[1]), float(args[2]))
    elif command == "echo-server":
        echo_server(args[0], int(args[1]))
    elif command == "tcp-send":
        tcp_send(args[0], int(args[1]), float(args[2]))
    elif command == "tcp-recv":
        tcp_recv(args[0], int(args[1]), float(args[2]))
    elif command == "udp-send":
        udp_send(args[0], int(args[1]), int(args[2]), float(args[3]))
    elif command == "udp-sink":
        udp_sink(args[0], int(args[1]))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
