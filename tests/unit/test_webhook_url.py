"""Server-side request forgery (OWASP API7): a live stage never delivers a webhook inside the network.

Every address class is refused as an IP literal, behind a host name that resolves to it, and wrapped in the IPv6
forms that carry an IPv4 address; a name is refused when any one of its addresses is.
"""

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from music_api.webhooks.url import (
    MAX_URL_LENGTH,
    UrlPolicy,
    WebhookUrlError,
    check_url,
    forbidden_reason,
    vetted_addresses,
)

LIVE = UrlPolicy(https_only=True, loopback=False)
LOCAL = UrlPolicy(https_only=False, loopback=True)

FORBIDDEN = {
    "127.0.0.1": "loopback",
    "127.255.0.9": "loopback",
    "::1": "loopback",
    "10.0.0.1": "private",
    "172.16.5.4": "private",
    "192.168.1.1": "private",
    "fd00::1": "private",
    "169.254.169.254": "link-local",  # the instance metadata service
    "fe80::1": "link-local",
    "224.0.0.1": "multicast",
    "ff02::1": "multicast",
    "240.0.0.1": "reserved",
    "0.0.0.0": "unspecified",  # noqa: S104 - the address under test
    "::": "unspecified",
    "100.64.0.1": "not global",  # carrier-grade NAT
    "192.0.2.10": "private",  # documentation
    "::ffff:127.0.0.1": "loopback",  # IPv4-mapped
    "::ffff:169.254.169.254": "link-local",
    "::ffff:10.1.2.3": "private",
    "::a9fe:a9fe": "link-local",  # IPv4-compatible 169.254.169.254
    "2002:a9fe:a9fe::1": "link-local",  # 6to4 of 169.254.169.254
    "2002:7f00:1::1": "loopback",  # 6to4 of 127.0.0.1
    "64:ff9b::a9fe:a9fe": "link-local",  # NAT64 of 169.254.169.254
    "64:ff9b::a00:1": "private",  # NAT64 of 10.0.0.1
    "2001:0:4136:e378:8000:63bf:f5ff:fffe": "private",  # Teredo whose client is 10.0.0.1
}
PUBLIC = ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.216.34", "64:ff9b::5db8:d822"]


@pytest.mark.parametrize(("address", "reason"), FORBIDDEN.items())
def test_every_address_class_is_refused_on_a_live_stage(address: str, reason: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", FORBIDDEN)
def test_an_ip_literal_url_is_refused_at_create(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(WebhookUrlError, match="must not point at"):
        check_url(f"https://{host}/hook", LIVE)


@pytest.mark.parametrize("address", FORBIDDEN)
def test_a_host_name_that_resolves_to_a_forbidden_address_is_refused_at_send(address: str) -> None:
    target = check_url("https://receiver.example.com/hook", LIVE)
    with pytest.raises(WebhookUrlError, match="must not point at"):
        vetted_addresses(target, LIVE, lambda host, port: [address])


def test_a_name_is_refused_when_any_one_of_its_addresses_is_forbidden() -> None:
    target = check_url("https://receiver.example.com/hook", LIVE)
    with pytest.raises(WebhookUrlError):
        vetted_addresses(target, LIVE, lambda host, port: ["93.184.216.34", "169.254.169.254"])


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_delivered_to(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is None
    target = check_url("https://receiver.example.com/hook", LIVE)
    assert vetted_addresses(target, LIVE, lambda host, port: [address]) == [address]


def test_a_live_stage_never_allows_loopback_while_the_local_stack_does() -> None:
    assert forbidden_reason(ipaddress.ip_address("127.0.0.1"), loopback_allowed=True) is None
    with pytest.raises(WebhookUrlError):
        check_url("https://localhost/hook", LIVE)
    with pytest.raises(WebhookUrlError):
        check_url("https://api.localhost/hook", LIVE)
    assert check_url("http://127.0.0.1:8080/hook?x=1", LOCAL).target == "/hook?x=1"
    # Loopback allowed never means private or metadata allowed.
    for address in ("10.0.0.1", "169.254.169.254", "::ffff:169.254.169.254"):
        assert forbidden_reason(ipaddress.ip_address(address), loopback_allowed=True) is not None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://receiver.example.com/hook", "must use https"),
        ("ftp://receiver.example.com/hook", "must use https"),
        ("https://user:pass@receiver.example.com/hook", "user name or password"),
        ("https://token@receiver.example.com/hook", "user name or password"),
        ("https://receiver.example.com/hook#part", "fragment"),
        ("https:///hook", "must name a host"),
        ("https://receiver.example.com:99999/hook", "invalid port"),
        ("https://receiver.example.com/h ook", "printable ASCII"),
        ("https://receiver.example.com/h\x00ook", "printable ASCII"),
        ("https://recéiver.example.com/hook", "printable ASCII"),
        ("https://receiver.example.com/" + "a" * MAX_URL_LENGTH, "at most"),
    ],
)
def test_malformed_urls_are_refused_with_a_reason(url: str, problem: str) -> None:
    with pytest.raises(WebhookUrlError, match=problem):
        check_url(url, LIVE)


def test_the_host_header_names_the_url_host_not_the_vetted_address() -> None:
    assert check_url("https://receiver.example.com/hook", LIVE).host_header == "receiver.example.com"
    assert check_url("https://receiver.example.com:8443/x", LIVE).host_header == "receiver.example.com:8443"
    assert check_url("http://[::1]:9000/x", LOCAL).host_header == "[::1]:9000"


@given(st.ip_addresses(v=4))
def test_an_ipv6_form_of_an_ipv4_address_is_judged_as_that_address(address: ipaddress.IPv4Address) -> None:
    reason = forbidden_reason(address)
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    nat64 = ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(address))
    sixtofour = ipaddress.IPv6Address((0x2002 << 112) | (int(address) << 80) | 1)
    for wrapped in (mapped, nat64, sixtofour):
        assert forbidden_reason(wrapped) == reason
