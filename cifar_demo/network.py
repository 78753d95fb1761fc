"""Where students reach the app on the class network: the laptop's own address there, worked out from the address the
app listens on, so the teacher never has to read it from a settings panel and dictate it to thirty people."""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from enum import Enum
from typing import Callable

EVERY_ADDRESS = {"0.0.0.0", "::", ""}  # listening on these, the app answers on every address the laptop has
PROBE = ("10.255.255.255", 1)  # any routable address: connecting a UDP socket to it picks the way out, sends nothing


class Reach(Enum):
    """Whether students can reach the app, and if not, why."""
    REACHABLE = "reachable"
    THIS_COMPUTER_ONLY = "this computer only"  # it listens on the loopback address
    NO_NETWORK = "no network"                  # it listens everywhere, but the laptop has no network address


@dataclass(frozen=True)
class JoinAddress:
    reach: Reach
    url: str | None  # the address a student opens, when reachable
    host: str        # what the app listens on, as given


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on at this address now: where a bench or a test starts an app of its own."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def network_address() -> str | None:
    """This machine's address on the network its traffic leaves by; None with no network (loopback only)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(PROBE)
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if is_loopback(address) else address


def is_loopback(host: str) -> bool:
    """This machine only: 'localhost' or any loopback address (127.0.0.0/8, ::1). The one test of it, for the
    teacher's rule, the start-up warning and the join address alike."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: whatever it names, the teacher chose it
        return False


def join_address(host: str | None, port: int, path: str,
                 find: Callable[[], str | None] = network_address) -> JoinAddress:
    """The page at `path` as a student's phone reaches it, for an app listening on host:port."""
    host = host or ""
    if is_loopback(host):
        return JoinAddress(Reach.THIS_COMPUTER_ONLY, None, host)
    address = find() if host in EVERY_ADDRESS else host
    if address is None:
        return JoinAddress(Reach.NO_NETWORK, None, host)
    shown = f"[{address}]" if ":" in address else address  # an IPv6 address in a URL
    return JoinAddress(Reach.REACHABLE, f"http://{shown}:{port}/{path.strip('/')}", host)
