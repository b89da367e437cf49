"""Assemble a :class:`Report` from the catalogue, the proofs and the results of a run."""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import functools
import platform
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from eqconform.specs.defaults import with_kinds
from eqconform.specs.model import Claim, ProofStatus, Spec, Variant
from eqconform.verify.cache import DiskCache, cache_root, key, source_texts
from eqconform.verify.results import (
    ProofRecord,
    Report,
    Result,
    SpecSummary,
    SymbolSummary,
    TargetSummary,
    VariantSummary,
)

from .mathml import is_mathml, relation_latex, relation_mathml

__all__ = [
    "PROOF_CACHE",
    "build_report",
    "cached_proofs",
    "proof_key",
    "prove_in_background",
    "run_claims",
    "summarize_spec",
    "tool_version",
]


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
        # The spec's description: a symbol whose domain depends on the form (dropout's p)
        # shows each form's, not only the union the spec declares.
        symbols=tuple(
            SymbolSummary(s.name, s.meaning, spec.describe_domain(s.name)) for s in spec.symbols
        ),
        variants=tuple(
            VariantSummary(
                id=variant.id,
                accepted=variant.accepted,
                source=variant.source.cite() if variant.source else None,
                note=variant.note,
                **_formulas(spec, variant),
            )
            for variant in spec.variants
        ),
    )


#: The kind of :class:`~eqconform.verify.cache.DiskCache` entry that holds each variant's
#: formulas as printed.
FORMULA_CACHE = "formulas"


def _formulas(spec: Spec, variant: Variant) -> dict[str, str]:
    """The variant's relations as ``mathml`` and ``latex``, from the cache when it holds them:
    SymPy's printers take about half a second for the catalogue, on every report's critical
    path. A stored MathML is taken only if it is MathML as :func:`.mathml.relation_mathml`
    writes it (:func:`.mathml.is_mathml`): the HTML report trusts it as markup, and a cache
    entry is data."""
    cache = DiskCache(FORMULA_CACHE)
    entry_key = key([*_formula_code(), spec.id, variant.id])
    stored = cache.get(entry_key)
    if (
        stored is not None
        and isinstance(stored.get("mathml"), str)
        and isinstance(stored.get("latex"), str)
        and is_mathml(stored["mathml"])
    ):
        return {"mathml": stored["mathml"], "latex": stored["latex"]}
    formulas = {"mathml": relation_mathml(spec, variant), "latex": relation_latex(spec, variant)}
    cache.put(entry_key, formulas)
    return formulas


@functools.cache
def _formula_code() -> tuple[str, ...]:
    """What the printed formulas depend on: the source of the whole catalogue (a relation may
    be built from another module's pieces), of the printer (``mathml.py``), and SymPy's
    version."""
    from eqconform import specs

    from . import mathml

    paths = sorted(Path(specs.__file__).parent.rglob("*.py")) + [Path(mathml.__file__)]
    return source_texts(paths, versions=[f"sympy {sp.__version__}"])


def run_claims(claims: Iterable[Claim]) -> list[ProofRecord]:
    """Settle every claim now; a proof that raises is recorded as not proved, with the error."""
    records = []
    for claim in claims:
        started = time.perf_counter()
        try:
            outcome = claim.prove()
            status, method, detail = outcome.status.value, outcome.method, outcome.detail
            scope = outcome.scope
        except Exception as error:  # a proof that crashes settles nothing, and says why
            status, method, detail, scope = (
                ProofStatus.NOT_PROVED.value,
                "the proof raised",
                f"{type(error).__name__}: {error}",
                "",
            )
        records.append(
            ProofRecord(
                id=claim.id,
                title=claim.title,
                source=claim.source.cite(),
                specs=claim.specs,
                status=status,
                method=method,
                detail=detail,
                seconds=round(time.perf_counter() - started, 3),
                scope=scope,
            )
        )
    return records


def _run_claims_by_id(
    claim_ids: tuple[str, ...], cache_folder: str | None = None
) -> list[ProofRecord]:
    """Settle the catalogue's claims ``claim_ids`` and remember their outcomes in the proof
    cache under ``cache_folder`` (the caller's :func:`~eqconform.verify.cache.cache_root`)."""
    from eqconform.specs import CLAIMS

    records = run_claims(claim for claim in CLAIMS if claim.id in claim_ids)
    claims = {claim.id: claim for claim in CLAIMS}
    cache = DiskCache(PROOF_CACHE, root=Path(cache_folder) if cache_folder else None)
    for record in records:
        # A proof that raised may pass next time (a bug fixed, memory freed): never remembered.
        if record.method != "the proof raised":
            cache.put(proof_key(claims[record.id]), _stored(record))
    return records


#: The kind of :class:`~eqconform.verify.cache.DiskCache` entry that holds proof outcomes.
PROOF_CACHE = "proofs"
_SHARED_SPEC_MODULES = ("model", "moments", "sources", "defaults")


def proof_key(claim: Claim) -> str:
    """What a proof's outcome depends on: the claim, the source of the modules that define it
    and the specs it involves (and the catalogue's shared modules), and the SymPy and mpmath
    versions. Proofs use nothing outside the spec catalogue."""
    import inspect

    import mpmath

    from eqconform import specs

    folder = Path(specs.__file__).parent
    prove = getattr(claim.prove, "func", claim.prove)  # a functools.partial proves with .func
    modules = {
        Path(inspect.getsourcefile(prove) or folder / "model.py").stem,
        *_SHARED_SPEC_MODULES,
    }
    modules |= {spec_id.split(".")[0] for spec_id in claim.specs}
    texts = source_texts(
        [folder / f"{name}.py" for name in sorted(modules)],
        versions=[f"sympy {sp.__version__}", f"mpmath {mpmath.__version__}"],
    )
    return key([claim.id, *claim.specs, *texts])


def _stored(record: ProofRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "status": record.status,
        "method": record.method,
        "detail": record.detail,
        "seconds": record.seconds,
        "scope": record.scope,
    }


def cached_proofs(claims: Sequence[Claim]) -> dict[str, ProofRecord]:
    """The claims whose outcome is in the proof cache, by id, marked ``cached``."""
    cache = DiskCache(PROOF_CACHE)
    found = {}
    for claim in claims:
        stored = cache.get(proof_key(claim))
        if (
            stored is None
            or stored.get("id") != claim.id
            or stored.get("status") not in {s.value for s in ProofStatus}
            or not isinstance(stored.get("scope"), str)  # kept before proofs said their scope
        ):
            continue
        found[claim.id] = ProofRecord(
            id=claim.id,
            title=claim.title,
            source=claim.source.cite(),
            specs=claim.specs,
            status=str(stored["status"]),
            method=str(stored.get("method", "")),
            detail=str(stored.get("detail", "")),
            seconds=float(stored.get("seconds", 0.0)),
            scope=stored["scope"],
            cached=True,
        )
    return found


@contextlib.contextmanager
def prove_in_background(
    claims: Sequence[Claim],
    *,
    prover: Callable[[tuple[str, ...]], list[ProofRecord]] | None = None,
    reprove: bool = False,
) -> Iterator[Callable[[], list[ProofRecord]]]:
    """Settle the claims in a second process while the caller runs checks in this one.

    Yields a function returning the proof records (waiting for them if need be). Where a
    process cannot be started, the claims are settled in this process instead; where the proof
    process dies, every claim is "not proved" with that reason. The proof process dies with
    the caller (a parent-death signal), so killing eqconform leaves no prover behind.
    ``prover`` settles claims by id in that process (default: the catalogue's own proofs, whose
    outcomes are remembered in the proof cache); it must be importable there, as a module-level
    function. With the default prover, claims whose outcome is cached are not proved again
    (unless ``reprove``), and no process is started when all are.
    """
    from eqconform.verify.forkserver import worker_context
    from eqconform.verify.sandbox import set_parent_death_signal

    cached = cached_proofs(claims) if prover is None and not reprove else {}
    remaining = [claim for claim in claims if claim.id not in cached]
    if not remaining:
        yield lambda: [cached[claim.id] for claim in claims]
        return
    ids = tuple(claim.id for claim in remaining)
    try:
        # forkserver, not fork: the caller may have imported a multithreaded framework.
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=1, mp_context=worker_context(), initializer=set_parent_death_signal
        )
        # The cache folder is passed on: the forkserver's environment is that of its start.
        future = (
            pool.submit(prover, ids)
            if prover
            else pool.submit(_run_claims_by_id, ids, str(cache_root()))
        )
    except (OSError, ValueError):
        yield lambda: _in_order(claims, {**cached, **{r.id: r for r in run_claims(remaining)}})
        return

    def records() -> list[ProofRecord]:
        try:
            proved = future.result()
        except concurrent.futures.BrokenExecutor as error:
            proved = [
                ProofRecord(
                    id=claim.id,
                    title=claim.title,
                    source=claim.source.cite(),
                    specs=claim.specs,
                    status=ProofStatus.NOT_PROVED.value,
                    method="not proved: worker died",
                    detail=f"the proof process died before it finished ({error})",
                    seconds=0.0,
                )
                for claim in remaining
            ]
        return _in_order(claims, {**cached, **{record.id: record for record in proved}})

    try:
        yield records
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _in_order(claims: Sequence[Claim], records: Mapping[str, ProofRecord]) -> list[ProofRecord]:
    return [records[claim.id] for claim in claims if claim.id in records]


def build_report(
    specs: Sequence[Spec],
    targets: Sequence[TargetSummary],
    results: Sequence[Result],
    proofs: Sequence[ProofRecord],
    errata: Sequence[Mapping[str, Any]] = (),
    settings: Mapping[str, Any] | None = None,
    documented_defaults: Mapping[str, Mapping[str, Any]] | None = None,
) -> Report:
    meta = {
        "version": tool_version(),
        "date": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
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
        # Each known default says its kind (stated in the text, or a constructor default of
        # the homework API), so that no renderer shows a constructor default as stated.
        documented_defaults=with_kinds(documented_defaults or {}),
    )
