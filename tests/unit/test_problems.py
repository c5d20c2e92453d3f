"""RFC 7807 problem documents become one readable message that keeps what the operator needs."""

from __future__ import annotations

import pytest

from mdcore.acme.problems import ACME_NS, AcmeProblemError, Problem
from mdcore.errors import MdError

REJECTED = {
    "type": ACME_NS + "rejectedIdentifier",
    "detail": "Error creating new order :: Cannot issue for 2 identifiers",
    "status": 400,
    "subproblems": [
        {
            "type": ACME_NS + "rejectedIdentifier",
            "detail": "Domain name is on a blocklist",
            "identifier": {"type": "dns", "value": "bad.example.org"},
        },
        {
            "type": ACME_NS + "caa",
            "detail": "CAA record forbids issuance",
            "identifier": {"type": "dns", "value": "caa.example.org"},
        },
        "not a dict: ignored",
    ],
}


def test_message_keeps_type_detail_identifier_and_subproblems() -> None:
    err = AcmeProblemError(Problem.from_json(REJECTED), "a new order for bad.example.org")
    text = str(err)
    assert text.startswith("CA refused a new order for bad.example.org: rejectedIdentifier: Error creating")
    assert "rejectedIdentifier: Domain name is on a blocklist [dns:bad.example.org]" in text
    assert "caa: CAA record forbids issuance [dns:caa.example.org]" in text
    assert isinstance(err, MdError)
    assert err.problem.status == 400 and len(err.problem.subproblems) == 2


def test_identifier_on_top_level_and_missing_detail() -> None:
    prob = Problem.from_json(
        {"type": ACME_NS + "unauthorized", "identifier": {"type": "ip", "value": "192.0.2.1"}}, 403
    )
    assert prob.describe() == "unauthorized: (no detail) [ip:192.0.2.1]"
    assert prob.status == 403


def test_foreign_type_kept_whole() -> None:
    prob = Problem.from_json({"type": "https://ca.example/problems/quota", "detail": "over quota"})
    assert prob.describe() == "https://ca.example/problems/quota: over quota"
    assert Problem.from_json({}).type == "about:blank"


def test_to_dict_round_trip() -> None:
    prob = Problem.from_json(REJECTED)
    doc = prob.to_dict()
    assert doc["type"] == REJECTED["type"] and doc["status"] == 400
    assert doc["subproblems"][0]["identifier"] == "dns:bad.example.org"


@pytest.mark.parametrize(
    "name",
    [
        "rejectedIdentifier",
        "malformed",
        "unauthorized",
        "caa",
        "badCSR",
        "externalAccountRequired",
        "rateLimited",
        "invalidContact",
    ],
)
def test_input_problems_are_not_retried_hot(name: str) -> None:
    assert AcmeProblemError(Problem(ACME_NS + name), "x").retry_hot is False


@pytest.mark.parametrize("name", ["serverInternal", "badNonce", "connection", "dns"])
def test_transient_problems_are_retried_hot(name: str) -> None:
    assert AcmeProblemError(Problem(ACME_NS + name), "x").retry_hot is True
