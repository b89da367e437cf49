"""Proofs settle in a second process; one that dies there makes its claims "not proved: worker
died", never a crash of the run."""

from __future__ import annotations

import json

from eqconform.reports.build import PROOF_CACHE, cached_proofs, proof_key, prove_in_background
from eqconform.specs import CLAIMS, ProofStatus


def test_a_prover_that_dies_leaves_every_claim_not_proved() -> None:
    import dying_prover  # tests/reports is on the path, in this process and in the forkserver's

    claims = CLAIMS[:3]
    with prove_in_background(claims, prover=dying_prover.prove) as proved:
        records = proved()
    assert [record.id for record in records] == [claim.id for claim in claims]
    assert {record.status for record in records} == {ProofStatus.NOT_PROVED.value}
    assert {record.method for record in records} == {"not proved: worker died"}
    assert all("the proof process died" in record.detail for record in records)


def test_the_catalogue_prover_settles_claims_in_the_background() -> None:
    claims = CLAIMS[:2]
    with prove_in_background(claims) as proved:
        records = proved()
    assert [record.id for record in records] == [claim.id for claim in claims]
    assert {record.status for record in records} == {ProofStatus.PROVED.value}


# --------------------------------------------------------------------------- the proof cache

def test_proved_claims_are_taken_from_the_cache_the_second_time(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EQCONFORM_CACHE_DIR", str(tmp_path))
    claims = CLAIMS[:2]
    with prove_in_background(claims) as proved:
        first = proved()
    assert not any(record.cached for record in first)
    with prove_in_background(claims) as proved:
        second = proved()
    assert all(record.cached for record in second)
    assert [(r.id, r.status, r.method, r.detail, r.scope) for r in second] == [
        (r.id, r.status, r.method, r.detail, r.scope) for r in first]
    assert all(record.scope for record in second)
    with prove_in_background(claims, reprove=True) as proved:
        again = proved()
    assert not any(record.cached for record in again)
    assert [record.status for record in again] == [record.status for record in first]


def test_a_corrupt_entry_is_proved_again(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EQCONFORM_CACHE_DIR", str(tmp_path))
    claim = CLAIMS[0]
    with prove_in_background([claim]) as proved:
        proved()
    entry = tmp_path / PROOF_CACHE / f"{proof_key(claim)}.json"
    assert entry.exists()
    stored = json.loads(entry.read_text())
    assert cached_proofs([claim])[claim.id].scope == stored["value"]["scope"] != ""
    del stored["value"]["scope"]  # kept before proofs said their scope: proved again
    entry.write_text(json.dumps(stored))
    assert cached_proofs([claim]) == {}
    stored["value"]["scope"] = "general"
    stored["value"]["status"] = "definitely"  # not a status: never trusted
    entry.write_text(json.dumps(stored))
    assert cached_proofs([claim]) == {}
    entry.write_text("{truncated")
    assert cached_proofs([claim]) == {}


def test_a_dead_prover_is_not_remembered(tmp_path, monkeypatch) -> None:
    import dying_prover

    monkeypatch.setenv("EQCONFORM_CACHE_DIR", str(tmp_path))
    with prove_in_background(CLAIMS[:1], prover=dying_prover.prove) as proved:
        proved()
    assert cached_proofs(CLAIMS[:1]) == {}


def test_the_key_depends_on_the_claim_and_the_sympy_version(monkeypatch) -> None:
    import sympy

    keys = {proof_key(claim) for claim in CLAIMS}
    assert len(keys) == len(CLAIMS)
    before = proof_key(CLAIMS[0])
    monkeypatch.setattr(sympy, "__version__", "0.0.1")
    assert proof_key(CLAIMS[0]) != before
