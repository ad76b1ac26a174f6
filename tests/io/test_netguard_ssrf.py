"""Hosts that aiohttp connects to without asking the resolver must be checked before the request."""

from __future__ import annotations

import pytest

from connect.io.netguard import BlockedAddress, check_literal_host, parse_networks, permitted


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("127.0.0.1", id="loopback"),
        pytest.param("[::1]", id="ipv6-loopback"),
        pytest.param("::ffff:127.0.0.1", id="ipv4-mapped"),
        pytest.param("2130706433", id="decimal"),
        pytest.param("127.1", id="short-form"),
        pytest.param("0177.0.0.1", id="octal"),
        pytest.param("127.000.000.001", id="leading-zeros"),
        pytest.param("8.8.8.08", id="public-but-not-canonical"),
        pytest.param("10.0.0.1", id="private"),
        pytest.param("169.254.169.254", id="link-local-metadata"),
    ],
)
def test_literal_hosts_that_are_not_public_are_blocked(host: str) -> None:
    with pytest.raises(BlockedAddress):
        check_literal_host(host)


@pytest.mark.parametrize("host", ["8.8.8.8", "example.com", "[2606:4700:4700::1111]"])
def test_public_addresses_and_names_pass_to_the_resolver(host: str) -> None:
    check_literal_host(host)


def test_allowed_networks_open_only_themselves() -> None:
    allowed = parse_networks("127.0.0.2/32, fd00::/8")
    check_literal_host("127.0.0.2", allowed)
    assert permitted("fd00::5", allowed)
    with pytest.raises(BlockedAddress):
        check_literal_host("127.0.0.1", allowed)


def test_a_bad_network_setting_is_an_error() -> None:
    with pytest.raises(ValueError, match="not-a-network"):
        parse_networks("10.0.0.0/8, not-a-network")
