"""Webhook destinations: the host is resolved at delivery and every address checked, so neither a
private address nor a name that resolves to one (now, or only at delivery: DNS rebinding) is reached."""

import socket
from typing import Any

import pytest

from wallet import safe_http
from wallet.errors import InvalidInput
from wallet.safe_http import UnsafeDestination


def _resolving_to(*addresses: str) -> Any:
    def getaddrinfo(host: str, port: int, *_: Any, **__: Any) -> list[tuple[Any, ...]]:
        family = socket.AF_INET6 if ":" in addresses[0] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port)) for address in addresses]

    return getaddrinfo


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.8",
        "172.16.3.4",
        "192.168.1.1",
        "169.254.169.254",
        "169.254.10.10",
        "0.0.0.0",  # noqa: S104 - an address under test, not a binding
        "::1",
        "fd00:ec2::254",
        "::ffff:127.0.0.1",
        "100.64.0.1",
    ],
)
def test_a_name_resolving_to_a_private_loopback_link_local_or_metadata_address_is_refused(
    address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _resolving_to(address))
    with pytest.raises(InvalidInput) as refused:
        safe_http.check_url("https://hooks.example.com/wallet", allow_loopback=False)
    assert refused.value.details[0]["field"] == "url"


def test_one_bad_address_among_good_ones_is_enough_to_refuse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _resolving_to("93.184.216.34", "127.0.0.1"))
    with pytest.raises(UnsafeDestination):
        safe_http.resolve("https://hooks.example.com/", allow_loopback=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/",
        "ftp://hooks.example.com/",
        "https://user:pw@hooks.example.com/",
        "http://127.0.0.1:8080/",
    ],
)
def test_only_https_without_credentials_outside_make_run(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _resolving_to("93.184.216.34"))
    with pytest.raises(UnsafeDestination):
        safe_http.resolve(url, allow_loopback=False)


def test_make_run_allows_plain_http_to_127_0_0_1_only() -> None:
    assert safe_http.resolve("http://127.0.0.1:8080/hook", allow_loopback=True).address == "127.0.0.1"
    with pytest.raises(UnsafeDestination):
        safe_http.resolve("http://localhost:8080/hook", allow_loopback=True)
    with pytest.raises(UnsafeDestination):
        safe_http.resolve("https://169.254.169.254/", allow_loopback=True)


def test_delivery_connects_to_the_address_it_checked_so_rebinding_does_not_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Public when subscribed; at delivery the name answers the metadata address: nothing is connected."""
    monkeypatch.setattr(socket, "getaddrinfo", _resolving_to("93.184.216.34"))
    safe_http.check_url("https://rebind.example.com/hook", allow_loopback=False)
    monkeypatch.setattr(socket, "getaddrinfo", _resolving_to("169.254.169.254"))
    connections: list[Any] = []
    monkeypatch.setattr(socket, "create_connection", lambda *args, **kwargs: connections.append(args))
    with pytest.raises(UnsafeDestination):
        safe_http.post("https://rebind.example.com/hook", b"{}", {}, timeout=1, allow_loopback=False)
    assert connections == []
