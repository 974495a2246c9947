"""Internet sockets (issue 15): each section of net_inet.c runs natively and under CloudOS
and the outputs must agree; the guest's loopback is its own (no host socket), and without
the NETWORK capability nothing beyond it answers (a CloudOS-only check).

The sections run in one link mode: linking changes nothing in the socket calls.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

if shutil.which("gcc") is None:
    pytest.skip("gcc not found: cannot build the guest programs", allow_module_level=True)

# Lines each section's native run must print (guards against a vacuous comparison).
NET_SECTIONS = {
    "echo": [b"accepted 50, closed 50, clients ok 50", b"bytes echoed: 990"],
    "udp": [b"got [request] from the sender's port: 1, 127.0.0.1, length 16",
            b"msg_flags MSG_TRUNC: 1, name length 16, port matches: 1",
            b"recv: the port unreachable: -1 ECONNREFUSED", b"MSG_TRUNC: 10"],
    "errors": [b"bind a port in use: -1 EADDRINUSE", b"connect to a closed port: -1 ECONNREFUSED",
               b"non-blocking connect, closed: -1 EINPROGRESS", b"SO_ERROR: 111",
               b"ephemeral port nonzero: 1", b"bind a foreign address: -1 EADDRNOTAVAIL",
               b"two SO_REUSEPORT binds: 0"],
    "options": [b"SO_RCVBUF 131072", b"SO_LINGER 1 5, length 8", b"TCP_NODELAY 1"],
    "stream": [b"MSG_WAITALL of 16: 16", b"got [partpartpartpart]", b"read: EOF: 0",
               b"write after SHUT_WR: killed by signal 13", b"write to a closed peer: 4",
               b"and again: -1 EPIPE", b"read after the peer's reset: -1 ECONNRESET",
               b"SCM_RIGHTS over TCP: 1"],
    "ipv6": [b"accepted from ::1", b"accepted from ::ffff:127.0.0.1",
             b"AF_INET client to a V6ONLY listener: -1 ECONNREFUSED"],
    "procnet": [b"0100007F:L 00000000:0000 st 0A queues 00000000:00000000",
                b"0100007F:L 0100007F:C st 01 queues 00000000:00000003"],
    "timeouts": [b"reads back 0.200000, length 16", b"tv_usec 1000000: -1 EDOM",
                 b"UDP recv: -1 EAGAIN", b"accept: -1 EAGAIN", b"TCP recv: -1 EAGAIN",
                 b"waited about the timeout: 1", b"a send into a full buffer ended: short"],
    "files": [b"SOCK_CLOEXEC: FD_CLOEXEC 1", b"S_ISSOCK: 1", b"dup: FD_CLOEXEC 0",
              b"/proc/self/fd names a socket: 1", b"got [dup+child]", b"then EOF: 0",
              b"O_NONBLOCK by fcntl, nothing: -1 EAGAIN",
              b"write through the passed fd: 1"],
    "backlog": [b"connected 1 within 100 ms: 1", b"connected 2 within 100 ms: 0",
                b"the third gets in once there is room: 1, SO_ERROR 0",
                b"parent: accepting", b"child: blocking connect: 0"],
    "urgent": [b"recv MSG_OOB, none: -1 EINVAL", b"POLLPRI 1", b"got [ab]",
               b"urgent byte [c]", b"recv MSG_OOB again: -1 EINVAL", b"got [de]",
               b"inline: recv MSG_OOB: -1 EINVAL", b"got [x]", b"got [yz]",
               b"UDP send MSG_OOB: -1 EOPNOTSUPP"],
    "interrupted": [b"accept, interrupted: -1 EINTR", b"recv, interrupted: -1 EINTR",
                    b"recv, SA_RESTART: 2"],
    "buffers": [b"SO_SNDBUF before connect: 16384",
                b"SO_SNDBUF after connect above 1 MiB: 1, accepted end's: 1",
                b"one thread wrote 1048576 with no reader, then read 1048576, 0 bad",
                b"no reader: 1-16 MiB before EAGAIN, POLLOUT 0", b"read back all: 1, POLLOUT 1",
                b"SO_SNDBUF 10000 before connect: reads 20000, 20-256 KiB before EAGAIN"],
    "interfaces": [b"lo: family 2, flags 0x10049, 127.0.0.1/255.0.0.0",
                   b"if_nametoindex(lo): 1", b"if_indextoname(1): lo", b"mtu 65536"],
}


def _assert_same(native, guest) -> None:
    assert b"Traceback" not in guest[2], guest[2].decode(errors="replace")
    detail = f"cloudos stderr:\n{guest[2].decode(errors='replace')}"
    assert guest[1] == native[1], detail
    assert guest[0] == native[0], detail


@pytest.mark.parametrize("section", list(NET_SECTIONS))
def test_inet_section(section, guest_bins, run_native, run_cloudos):
    """One section of net_inet.c: native first, then the same under CloudOS."""
    prog = guest_bins.path("net_inet", "static")
    native = run_native([prog, section])
    assert native[0] == 0, native
    lines = native[1].splitlines()
    missing = [line for line in [f"== {section}".encode(), *NET_SECTIONS[section]]
               if line not in lines]
    assert not missing, f"native run lacks {missing!r}:\n{native[1].decode(errors='replace')}"
    _assert_same(native, run_cloudos([prog, section]))


def test_no_network_without_the_capability(guest_bins, run_cloudos):
    """Off the loopback, a guest without NETWORK gets ENETUNREACH (Linux, with a route,
    would try: this one is CloudOS's own)."""
    prog = guest_bins.path("net_inet", "static")
    status, out, err = run_cloudos([prog, "offline"])
    assert (status, out.splitlines()) == (0, [
        b"== offline", b"connect off the machine: -1 ENETUNREACH",
        b"UDP sendto off the machine: -1 ENETUNREACH",
        b"UDP connect off the machine: -1 ENETUNREACH"]), err.decode(errors="replace")


class HostServers:
    """A TCP server (answers "echo:" and what it read, then closes) and a UDP one
    (answers "udp:" and the datagram) on the host, each on its own thread."""

    def __init__(self, address: str) -> None:
        self.tcp = socket.create_server((address, 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((address, 0))
        self.tcp.settimeout(0.2)
        self.udp.settimeout(0.2)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._serve_tcp, daemon=True),
                        threading.Thread(target=self._serve_udp, daemon=True)]
        for thread in self.threads:
            thread.start()

    def ports(self) -> list[str]:
        return [str(self.tcp.getsockname()[1]), str(self.udp.getsockname()[1])]

    def _serve_tcp(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                conn.sendall(b"echo:" + conn.recv(100))

    def _serve_udp(self) -> None:
        while not self.stop.is_set():
            try:
                data, sender = self.udp.recvfrom(100)
            except OSError:
                continue
            self.udp.sendto(b"udp:" + data, sender)

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()
        self.tcp.close()
        self.udp.close()


REACHED = [b"tcp write: 5", b"tcp read 10 [echo:hello], then EOF",
           b"non-blocking connect: -1 EINPROGRESS", b"poll: 1, POLLOUT 1", b"SO_ERROR: 0",
           b"connected to the server's port: 1", b"udp sendto: 4",
           b"udp got 8 [udp:ping] from the server's port: 1"]


def _host_address() -> str | None:
    """The host's address toward its default route (None: it has none)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))
        return str(probe.getsockname()[0])
    except OSError:
        return None
    finally:
        probe.close()


def test_host_loopback_only_with_net_host(guest_bins, run_native, run_cloudos):
    """Servers on the host's 127.0.0.1: reached as natively with --net host; without it
    the guest's loopback is its own and nobody listens there."""
    prog = guest_bins.path("net_host", "static")
    servers = HostServers("127.0.0.1")
    try:
        argv = [prog, "127.0.0.1", *servers.ports()]
        native = run_native(argv)
        assert native[1].splitlines() == REACHED, native
        _assert_same(native, run_cloudos(argv, extra_args=["--net", "host"]))
        status, out, err = run_cloudos(argv)
        assert (status, out.splitlines()) == (0, [
            b"tcp connect: ECONNREFUSED", b"non-blocking connect: -1 EINPROGRESS",
            b"poll: 1, POLLOUT 1", b"SO_ERROR: ECONNREFUSED", b"getpeername: ENOTCONN",
            b"udp sendto: 4", b"udp: no answer"]), err
    finally:
        servers.close()


def test_host_network_with_net_host(guest_bins, run_native, run_cloudos):
    """A server on the host's own network address: --net host reaches it as natively;
    without the capability the connect is ENETUNREACH."""
    address = _host_address()
    if address is None:
        pytest.skip("the host has no network address")
    prog = guest_bins.path("net_host", "static")
    servers = HostServers("0.0.0.0")
    try:
        argv = [prog, address, *servers.ports()]
        native = run_native(argv)
        assert native[1].splitlines() == REACHED, native
        _assert_same(native, run_cloudos(argv, extra_args=["--net", "host"]))
        status, out, err = run_cloudos(argv)
        assert (status, out.splitlines()) == (0, [
            b"tcp connect: ENETUNREACH", b"non-blocking connect: -1 ENETUNREACH",
            b"poll: 1, POLLOUT 1", b"SO_ERROR: 0", b"getpeername: ENOTCONN",
            b"udp sendto: -1 ENETUNREACH", b"udp: no answer"]), err
    finally:
        servers.close()


def _free_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="no /usr/bin/python3")
def test_publish_python_http_server(tmp_path):
    """`python3 -m http.server` in the guest, on its loopback port 8000, answers a host
    client at the published host port; a missing page is its 404."""
    (tmp_path / "page.txt").write_text("served from the guest\n")
    host_port = _free_port()
    command = [sys.executable, "-m", "cloudos", "run", "--mount", str(tmp_path), "-w",
               str(tmp_path), "--publish", f"{host_port}:8000", "--timeout", "90", "--",
               "/usr/bin/python3", "-m", "http.server", "8000", "--bind", "127.0.0.1"]
    guest = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        body, deadline = None, time.monotonic() + 80
        while body is None and time.monotonic() < deadline and guest.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{host_port}/page.txt",
                                            timeout=5) as answer:
                    body = answer.read()
            except OSError:
                time.sleep(0.3)
        assert body == b"served from the guest\n", guest.poll()
        with urllib.request.urlopen(f"http://127.0.0.1:{host_port}/missing", timeout=5) as r:
            pytest.fail(f"a missing page answered {r.status}")
    except urllib.error.HTTPError as err:
        assert err.code == 404
    finally:
        guest.terminate()
        try:
            out, err = guest.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            guest.kill()
            out, err = guest.communicate()
    assert b'"GET /page.txt HTTP/1.1" 200' in err, err


@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="no /usr/bin/python3")
def test_publish_udp(tmp_path):
    """A UDP echo server in the guest on its loopback port 9000, published as a host
    UDP port: a host client's datagram comes back from it."""
    host_port = _free_port()
    server = ("import socket\n"
              "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
              "s.bind(('127.0.0.1', 9000))\n"
              "while True:\n"
              "    data, sender = s.recvfrom(100)\n"
              "    s.sendto(b'guest:' + data, sender)\n")
    command = [sys.executable, "-m", "cloudos", "run", "--publish", f"{host_port}:9000/udp",
               "--timeout", "90", "--", "/usr/bin/python3", "-c", server]
    guest = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.settimeout(0.5)
    try:
        answer, deadline = None, time.monotonic() + 80
        while answer is None and time.monotonic() < deadline and guest.poll() is None:
            client.sendto(b"ping", ("127.0.0.1", host_port))
            try:
                answer, sender = client.recvfrom(100)
            except OSError:
                continue
        assert answer == b"guest:ping", guest.poll()
        assert sender == ("127.0.0.1", host_port)
    finally:
        client.close()
        guest.terminate()
        try:
            guest.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            guest.kill()
            guest.communicate()
