"""Webhook verifiers: the reference's test vectors (section 9) and every way to refuse."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bigledger.errors import ErrorCode, ValidationFailed
from connectors.webhook_signatures import (
    PLATFORMS,
    WebhookVerificationFailed,
    verify_quickbooks,
    verify_shopify,
    verify_stripe,
    verify_webhook,
    verify_woocommerce,
    verify_xero,
    wp_specialchars_decode,
)

# -- section 9 vectors (exact strings, no trailing newline) --
STRIPE_SECRET = "whsec_test_secret"
STRIPE_BODY = b'{"id":"evt_test_webhook","object":"event"}'
STRIPE_HEADER = (
    "t=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990"
)
STRIPE_T = 1700000000

B64_SECRET = "hush"
B64_BODY = b'{"id":820982911946154508,"email":"jon@example.com"}'
B64_SIG = "D0UMXmhjwBRi4y66TmhJrDlhQABD7zI2fm3p6/QLMo8="

QBO_SECRET = "verifier-token-123"
QBO_BODY = (
    b'{"eventNotifications":[{"realmId":"1185883450","dataChangeEvent":{"entities":'
    b'[{"name":"Invoice","id":"130","operation":"Create","lastUpdated":"2024-01-01T00:00:00.000Z"}]}}]}'
)
QBO_SIG = "C3m0tPArEGaPLzzp7X82ecWi/P56XTew1KfHkZe2nB4="


def b64sig(secret: str | bytes, body: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def stripe_header(body: bytes, t: int, secret: str = STRIPE_SECRET) -> str:
    sig = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={sig}"


def refused(match: str) -> pytest.RaisesContext:
    return pytest.raises(WebhookVerificationFailed, match=match)


# -- the vectors -----------------------------------------------------------------------------


def test_stripe_vector_from_reference():
    v = verify_stripe(STRIPE_BODY, {"Stripe-Signature": STRIPE_HEADER}, STRIPE_SECRET,
                      now=STRIPE_T)
    assert v.platform == "stripe"
    assert v.event_id == "evt_test_webhook"
    assert v.signed_at == STRIPE_T
    assert v.dedup_key == "stripe:evt_test_webhook"


def test_base64_vector_for_shopify_woo_xero_and_qbo_forms():
    assert b64sig(B64_SECRET, B64_BODY) == B64_SIG
    shop = verify_shopify(B64_BODY, {"X-Shopify-Hmac-Sha256": B64_SIG}, B64_SECRET)
    assert shop.payload == {"id": 820982911946154508, "email": "jon@example.com"}
    woo = verify_woocommerce(B64_BODY, {"X-WC-Webhook-Signature": B64_SIG}, B64_SECRET)
    assert not woo.ping
    # Xero and QBO demand their own body shape; the signature check itself is the same.
    with pytest.raises(ValidationFailed):
        verify_xero(B64_BODY, {"x-xero-signature": B64_SIG}, B64_SECRET)
    with pytest.raises(ValidationFailed):
        verify_quickbooks(B64_BODY, {"intuit-signature": B64_SIG}, B64_SECRET)
    with refused("x-xero-signature does not match"):
        verify_xero(B64_BODY, {"x-xero-signature": B64_SIG}, "other")


def test_quickbooks_vector_from_reference():
    v = verify_quickbooks(QBO_BODY, {"intuit-signature": QBO_SIG}, QBO_SECRET)
    assert v.source == "1185883450"
    assert v.topic == "eventNotifications"
    assert v.event_id is None
    assert v.dedup_key == "quickbooks:sha256:" + hashlib.sha256(QBO_BODY).hexdigest()


# -- header handling -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["x-shopify-hmac-sha256", "X-SHOPIFY-HMAC-SHA256"])
def test_header_names_are_case_insensitive(name):
    assert verify_shopify(B64_BODY, {name: B64_SIG}, B64_SECRET).platform == "shopify"


def test_starlette_headers_are_accepted_and_conflicting_duplicates_refused():
    from starlette.datastructures import Headers

    ok = Headers(raw=[(b"x-shopify-hmac-sha256", B64_SIG.encode())])
    assert verify_shopify(B64_BODY, ok, B64_SECRET).platform == "shopify"
    forged = base64.b64encode(b"\0" * 32).decode().encode()
    twice = Headers(raw=[(b"x-shopify-hmac-sha256", B64_SIG.encode()),
                         (b"x-shopify-hmac-sha256", forged)])
    with refused("more than once"):
        verify_shopify(B64_BODY, twice, B64_SECRET)


def test_shopify_returns_event_id_topic_and_domain():
    headers = {
        "X-Shopify-Hmac-Sha256": B64_SIG,
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": "demo.myshopify.com",
        "X-Shopify-Webhook-Id": "wh-1",
        "X-Shopify-Event-Id": "ev-1",
        "X-Shopify-Triggered-At": "2024-01-15T10:30:00Z",
    }
    v = verify_shopify(B64_BODY, headers, B64_SECRET)
    assert (v.event_id, v.delivery_id, v.topic, v.source) == (
        "ev-1", "wh-1", "orders/create", "demo.myshopify.com")
    assert v.triggered_at == "2024-01-15T10:30:00Z"
    del headers["X-Shopify-Event-Id"]
    assert verify_shopify(B64_BODY, headers, B64_SECRET).event_id == "wh-1"


# -- refusals --------------------------------------------------------------------------------

CASES = [
    ("shopify", "X-Shopify-Hmac-Sha256", B64_BODY, B64_SECRET, B64_SIG),
    ("woocommerce", "X-WC-Webhook-Signature", B64_BODY, B64_SECRET, B64_SIG),
    ("quickbooks", "intuit-signature", QBO_BODY, QBO_SECRET, QBO_SIG),
]
VERIFY = {"shopify": verify_shopify, "woocommerce": verify_woocommerce,
          "quickbooks": verify_quickbooks, "xero": verify_xero}


@pytest.mark.parametrize(("platform", "header", "body", "secret", "sig"), CASES)
def test_missing_header_refused(platform, header, body, secret, sig):
    with refused(f"{platform} webhook refused: header {header} is missing") as info:
        VERIFY[platform](body, {"Content-Type": "application/json"}, secret)
    assert info.value.code == ErrorCode.WEBHOOK_VERIFICATION_FAILED
    assert info.value.http_status == 401


@pytest.mark.parametrize(("platform", "header", "body", "secret", "sig"), CASES)
def test_forged_body_refused(platform, header, body, secret, sig):
    with refused(f"{platform} webhook refused: header {header} does not match"):
        VERIFY[platform](body.replace(b"}", b" }", 1), {header: sig}, secret)


@pytest.mark.parametrize(("platform", "header", "body", "secret", "sig"), CASES)
def test_wrong_secret_refused(platform, header, body, secret, sig):
    with refused("does not match"):
        VERIFY[platform](body, {header: sig}, secret + "x")


@pytest.mark.parametrize(("platform", "header", "body", "secret", "sig"), CASES)
@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("not*base64!", "not valid base64"),
        (base64.b64encode(b"x" * 20).decode(), "wrong length"),
        (hashlib.sha256(b"x").hexdigest(), "wrong length"),  # hex where base64 is due
    ],
)
def test_wrong_encoding_or_length_refused(platform, header, body, secret, sig, bad, reason):
    with refused(f"{platform} webhook refused: header {header} .*{reason}"):
        VERIFY[platform](body, {header: bad}, secret)


@pytest.mark.parametrize("platform", ["shopify", "woocommerce", "quickbooks", "xero"])
def test_empty_secret_refused_even_with_matching_signature(platform):
    body = b'{"events":[]}'
    header = {"shopify": "X-Shopify-Hmac-Sha256", "woocommerce": "X-WC-Webhook-Signature",
              "quickbooks": "intuit-signature", "xero": "x-xero-signature"}[platform]
    with refused("no webhook secret"):
        VERIFY[platform](body, {header: b64sig(b"", body)}, "")


def test_body_must_be_raw_bytes():
    with pytest.raises(TypeError):
        verify_shopify(B64_BODY.decode(), {"X-Shopify-Hmac-Sha256": B64_SIG}, B64_SECRET)


def test_secrets_and_signatures_never_in_messages():
    secret = "s3cr3t-value-that-must-not-leak"
    body = b'{"events":[{"resourceId":"x"}]}'
    expected = b64sig(secret, body)
    expected_hex = hmac.new(secret.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    sent = b64sig("attacker", body)
    attempts = [
        lambda: verify_shopify(body, {"X-Shopify-Hmac-Sha256": sent}, secret),
        lambda: verify_woocommerce(body, {"X-WC-Webhook-Signature": sent}, secret),
        lambda: verify_quickbooks(body, {"intuit-signature": sent}, secret),
        lambda: verify_xero(body, {"x-xero-signature": sent}, secret),
        lambda: verify_xero(body, {"x-xero-signature": "!!"}, secret),
        lambda: verify_stripe(body, {"Stripe-Signature": stripe_header(body, 1700000000,
                                                                       "whsec_other")},
                              secret, now=1700000000),
        lambda: verify_stripe(body, {"Stripe-Signature": stripe_header(body, 1, secret)},
                              secret, now=1700000000),
    ]
    for attempt in attempts:
        with pytest.raises(WebhookVerificationFailed) as info:
            attempt()
        text = f"{info.value} {info.value!r} {info.value.to_dict()} {info.value.details}"
        for leak in (secret, expected, expected_hex, sent):
            assert leak not in text


# -- WooCommerce -----------------------------------------------------------------------------


def test_woo_unsigned_ping_is_a_ping_not_an_event():
    v = verify_woocommerce(b"webhook_id=42", {"Content-Type": "application/x-www-form-urlencoded"},
                           "secret")
    assert v.ping and not v.is_event
    assert v.webhook_id == "42"
    assert v.event_id is None and v.payload is None


def test_woo_unsigned_non_ping_refused():
    with refused("X-WC-Webhook-Signature is missing"):
        verify_woocommerce(b'{"id": 1}', {}, "secret")
    with refused("X-WC-Webhook-Signature is missing"):
        verify_woocommerce(b"webhook_id=42&topic=order.created", {}, "secret")


def test_woo_ping_with_wrong_signature_refused():
    with refused("does not match"):
        verify_woocommerce(b"webhook_id=42", {"X-WC-Webhook-Signature": B64_SIG}, "secret")


def test_woo_event_fields_and_entity_decoded_secret():
    body = b'{"id":7,"status":"processing"}'
    stored = "a&amp;b&lt;c&#039;d&#x27;e&quot;"
    real = "a&b<c'd'e\""
    assert wp_specialchars_decode(stored) == real
    assert wp_specialchars_decode("&amp;lt;") == "&lt;"  # one pass, like PHP strtr
    assert wp_specialchars_decode("&eacute;") == "&eacute;"  # WP leaves other entities
    headers = {
        "X-WC-Webhook-Signature": b64sig(real, body),
        "X-WC-Webhook-Topic": "order.created",
        "X-WC-Webhook-Delivery-ID": "d-1",
        "X-WC-Webhook-ID": "3",
        "X-WC-Webhook-Source": "https://shop.example/",
    }
    v = verify_woocommerce(body, headers, stored)
    assert (v.event_id, v.topic, v.webhook_id, v.source) == (
        "d-1", "order.created", "3", "https://shop.example/")
    # Signed with the literal (undecoded) secret: refused.
    headers["X-WC-Webhook-Signature"] = b64sig(stored, body)
    with refused("does not match"):
        verify_woocommerce(body, headers, stored)


# -- Stripe ----------------------------------------------------------------------------------


def test_stripe_stale_and_future_beyond_tolerance_refused():
    headers = {"Stripe-Signature": STRIPE_HEADER}
    for now in (STRIPE_T + 301, STRIPE_T - 301):
        with refused("Stripe-Signature timestamp is outside the 300 s tolerance"):
            verify_stripe(STRIPE_BODY, headers, STRIPE_SECRET, now=now)
    for now in (STRIPE_T + 300, STRIPE_T - 300):
        assert verify_stripe(STRIPE_BODY, headers, STRIPE_SECRET, now=now).event_id
    with refused("outside the 10 s"):
        verify_stripe(STRIPE_BODY, headers, STRIPE_SECRET, now=STRIPE_T + 11, tolerance=10)
    aware = datetime.fromtimestamp(STRIPE_T + 5, UTC)
    assert verify_stripe(STRIPE_BODY, headers, STRIPE_SECRET, now=aware).event_id


def test_stripe_any_v1_may_match_and_v0_is_ignored():
    good = STRIPE_HEADER.split("v1=")[1]
    header = f"t={STRIPE_T},v1={'0' * 64},v0={good},v1={good}"
    v = verify_stripe(STRIPE_BODY, {"stripe-signature": header}, STRIPE_SECRET, now=STRIPE_T)
    assert v.event_id == "evt_test_webhook"
    with refused("no v1 signature"):
        verify_stripe(STRIPE_BODY, {"stripe-signature": f"t={STRIPE_T},v0={good}"},
                      STRIPE_SECRET, now=STRIPE_T)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("v1=" + "a" * 64, "no timestamp"),
        (f"t={STRIPE_T}", "no v1 signature"),
        (f"t=abc,v1={'a' * 64}", "not unix seconds"),
        (f"t={STRIPE_T},t={STRIPE_T + 1},v1={'a' * 64}", "more than one timestamp"),
        (f"t={STRIPE_T},v1=zz", "not a hex HMAC-SHA256"),
        (f"t={STRIPE_T},v1={'A' * 64}", "not a hex HMAC-SHA256"),
        (f"t={STRIPE_T},v1={'a' * 64}", "does not match"),
        ("garbage", "no timestamp"),
    ],
)
def test_stripe_malformed_headers_refused(header, reason):
    with refused(f"stripe webhook refused: header Stripe-Signature .*{reason}"):
        verify_stripe(STRIPE_BODY, {"Stripe-Signature": header}, STRIPE_SECRET, now=STRIPE_T)


def test_stripe_missing_header_forged_body_and_timestamp_swap_refused():
    with refused("Stripe-Signature is missing"):
        verify_stripe(STRIPE_BODY, {}, STRIPE_SECRET, now=STRIPE_T)
    with refused("does not match"):
        verify_stripe(STRIPE_BODY + b" ", {"Stripe-Signature": STRIPE_HEADER}, STRIPE_SECRET,
                      now=STRIPE_T)
    # A replayer who moves t forward breaks the signature: t is part of the signed bytes.
    moved = STRIPE_HEADER.replace(f"t={STRIPE_T}", f"t={STRIPE_T + 1000}")
    with refused("does not match"):
        verify_stripe(STRIPE_BODY, {"Stripe-Signature": moved}, STRIPE_SECRET,
                      now=STRIPE_T + 1000)


def test_stripe_signed_body_without_event_id_is_a_validation_error():
    body = b'{"object":"event"}'
    with pytest.raises(ValidationFailed):
        verify_stripe(body, {"Stripe-Signature": stripe_header(body, STRIPE_T)}, STRIPE_SECRET,
                      now=STRIPE_T)


def test_stripe_body_parsed_without_floats():
    body = b'{"id":"evt_1","type":"charge.succeeded","data":{"object":{"x":1.10}}}'
    v = verify_stripe(body, {"Stripe-Signature": stripe_header(body, STRIPE_T)}, STRIPE_SECRET,
                      now=STRIPE_T)
    assert v.topic == "charge.succeeded"
    assert v.payload["data"]["object"]["x"] == Decimal("1.10")


# -- QuickBooks CloudEvents ------------------------------------------------------------------


def test_quickbooks_cloudevents_single_and_list():
    one = (b'{"specversion":"1.0","id":"ce-1","source":"intuit","type":"qbo.invoice.created.v1",'
           b'"time":"2024-01-01T00:00:00Z","intuitentityid":"130","intuitaccountid":"99"}')
    v = verify_quickbooks(one, {"intuit-signature": b64sig(QBO_SECRET, one)}, QBO_SECRET)
    assert (v.event_id, v.topic, v.source) == ("ce-1", "qbo.invoice.created.v1", "99")
    many = b"[" + one + b"," + one.replace(b"ce-1", b"ce-2") + b"]"
    v = verify_quickbooks(many, {"intuit-signature": b64sig(QBO_SECRET, many)}, QBO_SECRET)
    assert v.event_id is None and v.dedup_key.startswith("quickbooks:sha256:")


# -- Xero intent to receive ------------------------------------------------------------------

ITR = b'{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}'


def test_xero_intent_to_receive_right_key():
    v = verify_xero(ITR, {"x-xero-signature": b64sig("signing-key", ITR)}, "signing-key")
    assert v.intent_to_receive and not v.is_event


def test_xero_intent_to_receive_wrong_key_refused():
    with refused("xero webhook refused: header x-xero-signature does not match") as info:
        verify_xero(ITR, {"x-xero-signature": b64sig("wrong-key", ITR)}, "signing-key")
    assert info.value.http_status == 401


def test_xero_events_are_events():
    body = (b'{"events":[{"resourceId":"r1","eventCategory":"INVOICE","eventType":"CREATE",'
            b'"tenantId":"t1","eventDateUtc":"2024-01-01T00:00:00.000"}],'
            b'"firstEventSequence":1,"lastEventSequence":1,"entropy":"x"}')
    v = verify_xero(body, {"x-xero-signature": b64sig("k", body)}, "k")
    assert v.is_event and v.source == "t1"


# -- dispatcher ------------------------------------------------------------------------------


def test_dispatcher_routes_every_platform():
    assert PLATFORMS == {"shopify", "woocommerce", "stripe", "quickbooks", "xero"}
    assert verify_webhook("stripe", STRIPE_BODY, {"Stripe-Signature": STRIPE_HEADER},
                          STRIPE_SECRET, now=STRIPE_T).event_id == "evt_test_webhook"
    with refused("outside"):
        verify_webhook("stripe", STRIPE_BODY, {"Stripe-Signature": STRIPE_HEADER},
                       STRIPE_SECRET, now=STRIPE_T + 10, stripe_tolerance=5)
    assert verify_webhook("quickbooks", QBO_BODY, {"intuit-signature": QBO_SIG}, QBO_SECRET,
                          now=0).platform == "quickbooks"
    with pytest.raises(ValueError):
        verify_webhook("paypal", b"{}", {}, "x", now=0)


def test_secretstr_is_accepted():
    from pydantic import SecretStr

    v = verify_shopify(B64_BODY, {"X-Shopify-Hmac-Sha256": B64_SIG}, SecretStr(B64_SECRET))
    assert v.platform == "shopify"
