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

The UDP rows' kernel end is bench/udp-blast.c (sendmmsg / recvmmsg batches: Python capped them).
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
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
