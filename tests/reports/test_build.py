"""Proofs settle in a second process; one that dies there makes its claims "not proved: worker
died", never a crash of the run."""

from __future__ import annotations

from eqconform.reports.build import prove_in_background
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
