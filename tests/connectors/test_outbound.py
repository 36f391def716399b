"""Outbound deliveries: signatures a receiver can verify, endpoints that cannot reach inside
this network, and the retry schedule."""

from __future__ import annotations

import pytest

from bigledger.errors import ValidationFailed
from connectors.outbound import (
    RETRY_DELAYS,
    EndpointPolicy,
    check_endpoint,
    retry_delay,
    sign,
    verify,
)

BODY = b'{"event":"order.created","source":"shopify"}'


def test_a_signature_verifies_and_any_change_breaks_it():
    header = sign(BODY, "whsec_sub", 1_700_000_000)
    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64
    assert verify(BODY, header, "whsec_sub", now=1_700_000_100)
    assert not verify(BODY + b" ", header, "whsec_sub", now=1_700_000_100)
    assert not verify(BODY, header, "other", now=1_700_000_100)
    assert not verify(BODY, header, "whsec_sub", now=1_700_000_000 + 301)  # stale
    assert not verify(BODY, "v1=" + header.split("v1=")[1], "whsec_sub", now=1_700_000_000)
    assert not verify(BODY, "t=abc,v1=00", "whsec_sub", now=0)


def test_the_retry_schedule_backs_off_then_ends():
    assert retry_delay(1) == RETRY_DELAYS[0]
    assert [retry_delay(n) for n in range(1, len(RETRY_DELAYS) + 1)] == list(RETRY_DELAYS)
    assert list(RETRY_DELAYS) == sorted(RETRY_DELAYS)
    assert retry_delay(len(RETRY_DELAYS) + 1) is None


def public(host: str, port: int) -> list[str]:
    return ["93.184.215.14"]


@pytest.mark.parametrize(("url", "addresses"), [
    ("https://127.0.0.1/hook", ["127.0.0.1"]),
    ("https://169.254.169.254/latest/meta-data", ["169.254.169.254"]),
    ("https://internal.example/hook", ["10.0.0.7"]),
    ("https://rebind.example/hook", ["93.184.215.14", "192.168.1.1"]),
    ("https://[::1]/hook", ["::1"]),
    ("https://mapped.example/hook", ["::ffff:127.0.0.1"]),
])
def test_endpoints_inside_this_network_are_refused(url, addresses):
    with pytest.raises(ValidationFailed) as info:
        check_endpoint(url, EndpointPolicy(), lambda host, port: addresses)
    assert "inside this network" in info.value.message


def test_https_public_endpoints_pass_and_the_settings_open_the_rest():
    assert check_endpoint("https://hooks.example.com/x", EndpointPolicy(), public).host == \
        "hooks.example.com"
    with pytest.raises(ValidationFailed):
        check_endpoint("http://hooks.example.com/x", EndpointPolicy(), public)
    with pytest.raises(ValidationFailed):
        check_endpoint("https://user:pw@hooks.example.com/x", EndpointPolicy(), public)
    with pytest.raises(ValidationFailed):
        check_endpoint("ftp://hooks.example.com/x", EndpointPolicy(), public)
    loopback = EndpointPolicy(allow_http=True, allow_private=True)
    assert check_endpoint("http://127.0.0.1:9000/x", loopback,
                          lambda h, p: ["127.0.0.1"]).port == 9000
