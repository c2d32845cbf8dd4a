"""Test-suite wide fixtures, and the network guard.

The workbench must run with no internet. Every test runs with outbound connections blocked
except loopback: `scripts/test.sh` runs pytest in a network namespace that has only `lo`, and
this guard, installed before any test imports a library, refuses and records every attempt to
reach a non-loopback address (or to resolve a non-local name), so a test can prove that a whole
train-and-export run tried none.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest

BLOCKED: list[str] = []

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "0.0.0.0", "::", ""}


def _is_local(host: object) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode()
    host = str(host).strip("[]")
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _check(sock: socket.socket, address: object) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    host = address[0] if isinstance(address, tuple) else address
    if not _is_local(host):
        BLOCKED.append(f"connect {address}")
        raise ConnectionRefusedError(f"network guard: outbound connection to {address} blocked")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check(self, address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if not _is_local(host):
        BLOCKED.append(f"resolve {host}")
        raise socket.gaierror(socket.EAI_NONAME, f"network guard: name lookup of {host} blocked")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = _guarded_getaddrinfo


@pytest.fixture
def network_attempts() -> list[str]:
    """The non-loopback attempts made during the test (empty at its start)."""
    BLOCKED.clear()
    return BLOCKED
