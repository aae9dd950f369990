"""Outbound HTTP to addresses customers choose, safe from server-side request forgery.

The host is resolved at delivery time and every address it resolves to is checked; the connection
is then made to the checked address itself (the name kept for the Host header, SNI and certificate
check), so a name that resolves elsewhere a moment later (DNS rebinding) is never reached."""

import ipaddress
import socket
from typing import NamedTuple
from urllib.parse import urlsplit

import urllib3

from wallet.errors import InvalidInput

# Instance metadata and other addresses no webhook may reach, besides private, loopback and link-local ranges.
METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
LOOPBACK_V4 = ipaddress.ip_address("127.0.0.1")


class UnsafeDestination(ValueError):
    pass


class Destination(NamedTuple):
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked address the connection goes to


def check_url(url: str, *, allow_loopback: bool, field: str = "url") -> None:
    """At subscription: the URL's form and what its host resolves to now (delivery checks again)."""
    try:
        resolve(url, allow_loopback=allow_loopback)
    except UnsafeDestination as error:
        raise InvalidInput(field, str(error)) from None


def resolve(url: str, *, allow_loopback: bool) -> Destination:
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeDestination("has an invalid port") from None
    if parts.username or parts.password:
        raise UnsafeDestination("must not carry credentials")
    loopback = allow_loopback and host == "127.0.0.1"  # make run's receivers, named by the literal address only
    if parts.scheme != "https" and not (loopback and parts.scheme == "http"):
        raise UnsafeDestination("must be an https:// URL")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeDestination("has a host that does not resolve") from None
    addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    for address in addresses:
        if not (loopback and address == LOOPBACK_V4) and not _public(address):
            raise UnsafeDestination("resolves to a private, loopback, link-local or metadata address")
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    return Destination(parts.scheme, host, port, path, str(sorted(addresses, key=str)[0]))


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return _public(address.ipv4_mapped)
    return address not in METADATA and address.is_global and not address.is_multicast


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float, allow_loopback: bool) -> int:
    """POSTs to the address checked now; answers the status code. Redirects are not followed."""
    target = resolve(url, allow_loopback=allow_loopback)
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address, target.port, server_hostname=target.host, assert_hostname=target.host, retries=False
        )
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, retries=False)
    host_header = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
    with pool:
        answer = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": host_header},
            timeout=urllib3.Timeout(total=timeout),
            redirect=False,
            preload_content=True,
        )
    return int(answer.status)
