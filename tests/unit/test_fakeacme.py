"""The fake CA is the oracle of the other tests: prove it rejects what a real CA rejects."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from mdcore.acme.jws import AccountKey, sign_request
from mdcore.clock import Deadline

from .fakeacme import FakeAcme


def _post(fake: FakeAcme, url: str, jws: dict) -> tuple[int, dict]:
    resp = fake.http().exchange("POST", url, json.dumps(jws).encode(), Deadline(fake.clock, 10),
                                {"Content-Type": "application/jose+json"})
    return resp.status, resp.json()


@pytest.fixture
def key() -> AccountKey:
    return AccountKey(ec.generate_private_key(ec.SECP256R1()))


def test_registers_with_valid_jws(fake_ca: FakeAcme, key: AccountKey) -> None:
    url = fake_ca.url("/new-acct")
    status, _body = _post(fake_ca, url, sign_request(key, url, {}, fake_ca.new_nonce(), None))
    assert status == 201


def test_rejects_unknown_or_reused_nonce(fake_ca: FakeAcme, key: AccountKey) -> None:
    url = fake_ca.url("/new-acct")
    assert _post(fake_ca, url, sign_request(key, url, {}, "made-up", None))[1]["type"].endswith("badNonce")
    nonce = fake_ca.new_nonce()
    assert _post(fake_ca, url, sign_request(key, url, {}, nonce, None))[0] == 201
    assert _post(fake_ca, url, sign_request(key, url, {}, nonce, None))[1]["type"].endswith("badNonce")


def test_rejects_wrong_url_header(fake_ca: FakeAcme, key: AccountKey) -> None:
    jws = sign_request(key, fake_ca.url("/new-order"), {}, fake_ca.new_nonce(), None)
    status, body = _post(fake_ca, fake_ca.url("/new-acct"), jws)
    assert status == 401 and "url" in body["detail"]


def test_rejects_bad_signature(fake_ca: FakeAcme, key: AccountKey) -> None:
    url = fake_ca.url("/new-acct")
    jws = sign_request(key, url, {}, fake_ca.new_nonce(), None)
    other = AccountKey(ec.generate_private_key(ec.SECP256R1()))
    jws["signature"] = sign_request(other, url, {}, "x", None)["signature"]
    status, body = _post(fake_ca, url, jws)
    assert status == 400 and "signature" in body["detail"]


def test_rejects_kid_request_with_jwk(fake_ca: FakeAcme, key: AccountKey) -> None:
    url = fake_ca.url("/new-order")
    status, body = _post(fake_ca, url, sign_request(key, url, {}, fake_ca.new_nonce(), None))
    assert status == 400 and "kid" in body["detail"]
