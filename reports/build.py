"""Assemble a :class:`Report` from the catalogue, the proofs and the results of a run."""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import platform
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from importlib import metadata
from typing import Any

import numpy as np
import sympy as sp

from eqconform.specs.model import Claim, ProofStatus, Spec

from .mathml import relation_latex, relation_mathml
from eqconform.verify.results import ProofRecord, Report, Result, SpecSummary, SymbolSummary, TargetSummary, VariantSummary

__all__ = ["build_report", "prove_in_background", "run_claims", "summarize_spec", "tool_version"]


def tool_version() -> str:
    try:
        return metadata.version("eqconform")
    except metadata.PackageNotFoundError:
        return "unknown"


def summarize_spec(spec: Spec) -> SpecSummary:
    return SpecSummary(
        id=spec.id,
        title=spec.title,
        component=spec.component,
        source=spec.source.cite(),
        symbols=tuple(SymbolSummary(s.name, s.meaning, s.describe_domain()) for s in spec.symbols),
        variants=tuple(
            VariantSummary(
                id=variant.id,
                accepted=variant.accepted,
                source=variant.source.cite() if variant.source else None,
                note=variant.note,
                mathml=relation_mathml(spec, variant),
                latex=relation_latex(spec, variant),
            )
            for variant in spec.variants
        ),
    )


def run_claims(claims: Iterable[Claim]) -> list[ProofRecord]:
    """Settle every claim now; a proof that raises is recorded as not proved, with the error."""
    records = []
    for claim in claims:
        started = time.perf_counter()
        try:
            outcome = claim.prove()
            status, method, detail = outcome.status.value, outcome.method, outcome.detail
        except Exception as error:  # a proof that crashes settles nothing, and says why
            status, method, detail = ProofStatus.NOT_PROVED.value, "the proof raised", f"{type(error).__name__}: {error}"
        records.append(ProofRecord(
            id=claim.id, title=claim.title, source=claim.source.cite(), specs=claim.specs,
            status=status, method=method, detail=detail, seconds=round(time.perf_counter() - started, 3),
        ))
    return records


def _run_claims_by_id(claim_ids: tuple[str, ...]) -> list[ProofRecord]:
    from eqconform.specs import CLAIMS

    return run_claims(claim for claim in CLAIMS if claim.id in claim_ids)


@contextlib.contextmanager
def prove_in_background(
    claims: Sequence[Claim],
    *,
    prover: Callable[[tuple[str, ...]], list[ProofRecord]] | None = None,
) -> Iterator[Callable[[], list[ProofRecord]]]:
    """Settle the claims in a second process while the caller runs checks in this one.

    Yields a function returning the proof records (waiting for them if need be). Where a
    process cannot be started, the claims are settled in this process instead; where the proof
    process dies, every claim is "not proved" with that reason. The proof process dies with
    the caller (a parent-death signal), so killing eqconform leaves no prover behind.
    ``prover`` settles claims by id in that process (default: the catalogue's own proofs); it
    must be importable there, as a module-level function.
    """
    from eqconform.verify.isolation import worker_context
    from eqconform.verify.sandbox import set_parent_death_signal

    ids = tuple(claim.id for claim in claims)
    try:
        # forkserver, not fork: the caller may have imported a multithreaded framework.
        pool = concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=worker_context(),
                                                      initializer=set_parent_death_signal)
        future = pool.submit(prover or _run_claims_by_id, ids)
    except (OSError, ValueError):
        yield lambda: run_claims(claims)
        return

    def records() -> list[ProofRecord]:
        try:
            return future.result()
        except concurrent.futures.BrokenExecutor as error:
            return [ProofRecord(id=claim.id, title=claim.title, source=claim.source.cite(), specs=claim.specs,
                                status=ProofStatus.NOT_PROVED.value, method="not proved: worker died",
                                detail=f"the proof process died before it finished ({error})", seconds=0.0)
                    for claim in claims]

    try:
        yield records
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def build_report(
    specs: Sequence[Spec],
    targets: Sequence[TargetSummary],
    results: Sequence[Result],
    proofs: Sequence[ProofRecord],
    errata: Sequence[Mapping[str, str]] = (),
    settings: Mapping[str, Any] | None = None,
    documented_defaults: Mapping[str, Mapping[str, Any]] | None = None,
) -> Report:
    meta = {
        "version": tool_version(),
        "date": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sympy": sp.__version__,
        **(settings or {}),
    }
    return Report(
        meta=meta,
        targets=tuple(targets),
        specs=tuple(summarize_spec(spec) for spec in specs),
        proofs=tuple(proofs),
        results=tuple(results),
        errata=tuple(errata),
        documented_defaults=dict(documented_defaults or {}),
    )
