"""Who sent a request: the socket peer, or the client a trusted proxy forwarded it for.

A proxy appends the address it received a request from to ``X-Forwarded-For``, so only the
hops added by trusted proxies are facts; whatever stands left of them the client wrote itself.
Starting from the socket peer and walking the header from the right, the first address outside
the trusted networks is the client (nginx's ``real_ip_recursive``, the same rule Envoy and
Traefik apply). With no trusted networks the peer is the client and the header is ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_address(text: str) -> Address | None:
    """An address from a socket peer or a header hop (``[v6]:port`` and ``v4:port`` too)."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    def __init__(self, networks: Iterable[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(network, strict=False) for network in networks
        )

    def __contains__(self, address: Address) -> bool:
        return any(address in network for network in self.networks)

    def client(self, peer: str | None, forwarded_for: Sequence[str]) -> str | None:
        """The client's address; ``forwarded_for`` holds every X-Forwarded-For header, in order.

        None when the first untrusted hop is not an address (``unknown``, a name, garbage).
        """
        address = parse_address(peer) if peer else None
        if address is None or address not in self:
            return peer
        hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
        for hop in reversed(hops):
            forwarded = parse_address(hop)
            if forwarded is None:
                return None
            address = forwarded
            if address not in self:
                break
        return str(address)
