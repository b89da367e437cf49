"""The data model of the equation catalogue.

A :class:`Spec` is one numbered equation (or a small group the document states together) of a
source document, held as SymPy data: the quantities it defines, the symbols it uses with their
domains, and the variants the documents (or well-known implementations) give for it. Specs
reference each other through the quantities they define, so a chain such as LayerNorm
eq. (1) -> (2) -> (3) -> (4) is a small graph that the verifier resolves and that the proofs
differentiate.

Nothing here evaluates numbers; :mod:`eqconform.verify.compiler` turns these expressions into
vectorized NumPy callables.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import sympy as sp

__all__ = [
    "GENERAL",
    "Claim",
    "ProofOutcome",
    "ProofStatus",
    "Source",
    "Spec",
    "SymbolInfo",
    "Variant",
    "describe_domain",
    "finite_points",
    "finite_scope",
    "instantiate",
    "quantity_name",
]


@dataclass(frozen=True)
class Source:
    """Where an equation is stated: document, edition, section and equation number."""

    document: str
    edition: str
    section: str
    equation: str | None = None

    def cite(self) -> str:
        """The citation used in reports, e.g.
        ``11-785 HW1 Bonus, Spring 2026, sec. 6.1, eq. (1)``."""
        parts = [self.document, self.edition, self.section]
        if self.equation:
            # A numbered equation is cited as "eq. (7)"; anything else is a description of where.
            parts.append(f"eq. {self.equation}" if self.equation.startswith("(") else self.equation)
        return ", ".join(parts)


@dataclass(frozen=True)
class SymbolInfo:
    """A symbol of a spec, what it means, and the set of values the document allows."""

    symbol: sp.Symbol | sp.IndexedBase
    meaning: str
    domain: sp.Set = sp.S.Reals
    #: How the document writes the symbol, as a SymPy name (``m_t-1``, ``hat(m)_t``); used only
    #: for display, so identifiers stay valid Python names for the compiler.
    display: str | None = None

    @property
    def name(self) -> str:
        return quantity_name(self.symbol)

    def describe_domain(self) -> str:
        """The domain as a short human-readable condition (``0 < beta1 < 1``)."""
        return describe_domain(self.name, self.domain)


def describe_domain(name: str, domain: sp.Set) -> str:
    """``name in domain`` as a short human-readable condition (``0 < beta1 < 1``)."""
    if domain == sp.S.Reals:
        return f"{name} real"
    if isinstance(domain, sp.Interval):
        lower = (
            "" if domain.start == -sp.oo else f"{domain.start} {'<' if domain.left_open else '<='} "
        )
        upper = "" if domain.end == sp.oo else f" {'<' if domain.right_open else '<='} {domain.end}"
        return f"{lower}{name}{upper}"
    if domain == sp.S.Naturals:
        return f"{name} in {{1, 2, ...}}"
    return f"{name} in {domain}"


@dataclass(frozen=True)
class Variant:
    """One form of an equation.

    ``relations`` maps each defined quantity (a Symbol, or an Indexed such as ``mu[i]``) to its
    expression. ``accepted`` says whether following this form conforms to the catalogue: the
    documents' own alternatives are accepted; forms seen elsewhere that the documents rule out
    (a known deviation) are named so a failure can say which one the implementation follows.
    """

    id: str
    relations: Mapping[sp.Basic, sp.Expr]
    source: Source | None = None
    accepted: bool = True
    note: str = ""
    #: The id of the variant this one equals in exact arithmetic: an arrangement an
    #: implementation computes (PyTorch's lerp for Adam's m_t), present so that its own
    #: rounding bound applies. Matching it counts as matching that variant.
    rounding_of: str | None = None
    #: Symbols (by name) whose domain is narrower under this form than the spec declares: a
    #: symbol that means different things under two readings (dropout's p, divided by as the
    #: keep probability under one reading and subtracted from 1 under the other) has the
    #: values each reading allows here, and the spec's symbol the union of them.
    domains: Mapping[str, sp.Set] = field(default_factory=dict)

    def expression(self, quantity: str) -> sp.Expr:
        for lhs, rhs in self.relations.items():
            if quantity_name(lhs) == quantity:
                return rhs
        raise KeyError(f"variant {self.id!r} does not define {quantity!r}")


@dataclass(frozen=True)
class Spec:
    """One equation of the catalogue.

    ``variants[0]`` is the canonical form (the one the newest edition prints); a spec without
    documented alternatives has exactly one variant, whose id is ``"canonical"``.
    ``axes`` maps each index symbol to the array axis it runs along, so that a ``Sum`` over an
    index compiles to a reduction along that axis.
    """

    id: str
    title: str
    source: Source
    component: str
    symbols: tuple[SymbolInfo, ...]
    variants: tuple[Variant, ...]
    axes: Mapping[sp.Symbol, int] = field(default_factory=dict)
    statement: str = ""
    #: Settled by proof only: the spec states something no implementation returns (a Jacobian
    #: matrix, a scale chosen on paper, the gradients as a solution prints them).
    proof_only: bool = False
    #: Describes a random draw: judged by statistical tests over many draws, not case by case.
    statistical: bool = False

    def __post_init__(self) -> None:
        if not self.variants:
            raise ValueError(f"spec {self.id!r} has no variants")
        ids = [variant.id for variant in self.variants]
        if len(set(ids)) != len(ids):
            raise ValueError(f"spec {self.id!r} repeats a variant id: {ids}")
        defined = [tuple(sorted(map(quantity_name, v.relations))) for v in self.variants]
        if len(set(defined)) != 1:
            raise ValueError(f"variants of {self.id!r} define different quantities: {defined}")
        declared = {info.name: info.domain for info in self.symbols}
        for variant in self.variants:
            for name, domain in variant.domains.items():
                # A form narrows a declared symbol's domain; it cannot widen it, or a proof
                # using the symbol's assumptions would cover fewer values than the form allows.
                if name not in declared:
                    raise ValueError(
                        f"variant {variant.id!r} of {self.id!r} gives a domain to {name!r}, "
                        f"which the spec does not declare (declared: {', '.join(declared)})"
                    )
                if domain.is_subset(declared[name]) is not True:
                    raise ValueError(
                        f"variant {variant.id!r} of {self.id!r} widens the domain of {name!r} "
                        f"to {domain}; the spec declares {declared[name]}"
                    )

    @property
    def canonical(self) -> Variant:
        return self.variants[0]

    @functools.cached_property  # asked for every record judged
    def defines(self) -> tuple[str, ...]:
        """Names of the quantities this spec defines, in the order the document states them."""
        return tuple(quantity_name(lhs) for lhs in self.canonical.relations)

    @property
    def has_documented_variants(self) -> bool:
        return len(self.forms) > 1

    @property
    def forms(self) -> tuple[Variant, ...]:
        """The mathematically distinct variants (rearrangements left out)."""
        return tuple(v for v in self.variants if v.rounding_of is None)

    def form_of(self, variant_id: str) -> str:
        """The mathematically distinct variant that ``variant_id`` is (or rearranges)."""
        return self.variant(variant_id).rounding_of or variant_id

    def variant(self, variant_id: str) -> Variant:
        for variant in self.variants:
            if variant.id == variant_id:
                return variant
        known = ", ".join(v.id for v in self.variants)
        raise KeyError(f"spec {self.id!r} has no variant {variant_id!r} (known: {known})")

    def symbol(self, name: str) -> SymbolInfo:
        for info in self.symbols:
            if info.name == name:
                return info
        raise KeyError(f"spec {self.id!r} has no symbol {name!r}")

    def domain(self, name: str, variant_id: str | None = None) -> sp.Set:
        """The values symbol ``name`` may take under variant ``variant_id`` (an arrangement
        under the form it rearranges), or, without a variant, the domain the spec declares."""
        declared = self.symbol(name).domain
        if variant_id is None:
            return declared
        return self.variant(self.form_of(variant_id)).domains.get(name, declared)

    def describe_domain(self, name: str) -> str:
        """The domain of symbol ``name`` as reports show it: the declared condition, or, where
        forms narrow it, each form's condition named by the form (``0 <= p < 1
        (p-is-drop-probability); 0 < p <= 1 (p-is-keep-probability)``)."""
        info = self.symbol(name)
        narrowed = [(v.id, v.domains[name]) for v in self.forms if name in v.domains]
        if not narrowed:
            return info.describe_domain()
        parts = [f"{describe_domain(info.name, domain)} ({form})" for form, domain in narrowed]
        if len(narrowed) < len(self.forms):
            parts.append(f"{info.describe_domain()} (other forms)")
        return "; ".join(parts)


def single_form_spec(
    id: str,
    title: str,
    source: Source,
    component: str,
    symbols: Mapping[str, SymbolInfo],
    names: Sequence[str],
    relations: Mapping[Any, Any],
    axes: Mapping[sp.Symbol, int],
    *,
    statement: str = "",
    proof_only: bool = False,
    statistical: bool = False,
) -> Spec:
    """A spec with one form (its canonical variant) over the symbols ``names`` of its family's
    ``symbols`` table: how the families without documented variants state their equations."""
    return Spec(
        id=id,
        title=title,
        source=source,
        component=component,
        symbols=tuple(symbols[name] for name in names),
        variants=(Variant("canonical", dict(relations)),),
        axes=axes,
        statement=statement,
        proof_only=proof_only,
        statistical=statistical,
    )


def instantiate(
    expr: sp.Expr, bindings: Mapping[sp.Symbol, int], arrays: Mapping[sp.IndexedBase, Any]
) -> sp.Expr:
    """``expr`` with indices and sizes bound to numbers (``bindings``), each ``Sum`` expanded,
    and every entry ``X[a, b]`` replaced by ``arrays[X][a - 1][b - 1]`` (nested sequences or
    SymPy matrices; 1-based like the documents)."""
    concrete = expr.subs(dict(bindings))
    written = _written_out(concrete)
    # What _written_out cannot take the way Sum.doit would is left to doit itself.
    concrete = concrete.doit() if written is None else written
    replacements = {}
    for entry in concrete.atoms(sp.Indexed):
        if entry.base in arrays:
            value = arrays[entry.base]
            for index in entry.indices:
                value = value[int(index) - 1]
            replacements[entry] = value
    return concrete.xreplace(replacements)


#: The nodes whose ``doit`` is Basic's (``func`` of the arguments' ``doit``): :func:`_written_out`
#: rebuilds them from its own results. Any other class with a ``doit`` of its own (a Sum with
#: symbolic limits, a Derivative, an Integral) makes it give up.
_PLAIN_DOIT = (sp.Add, sp.Mul, sp.Pow, sp.Indexed, sp.Tuple, sp.exp, sp.Heaviside)


def _written_out(expr: sp.Expr) -> sp.Expr | None:
    """``expr.doit()`` for an expression whose sums all run over ranges of at most 100
    numbers with the summation index inside array entries only (``Sum(W[s, r] X[r, t], (r, 1,
    3))``), or None. Sum.doit writes such a sum out term by term after SymPy's cheap linearity
    steps (``eval_sum_direct``); the costly try in between, a partial fraction decomposition in
    the index, fails on an index inside an entry and so cannot change the result. Taking the
    same steps without it gives the same expression at a fraction of the cost, which matters
    because every explicit-size check instantiates its specs entry by entry."""
    if not expr.args or isinstance(expr, sp.IndexedBase):
        return expr
    if isinstance(expr, sp.Sum):
        summand = _written_out(expr.function)
        for index, low, high in expr.limits:  # innermost first, as Sum.doit takes them
            if summand is None or not (low.is_Integer and high.is_Integer):
                return None
            count = int(high - low) + 1
            if not 0 < count <= 100 or not _only_in_entries(summand, index):
                return None
            if summand.is_zero or summand.has(sp.KroneckerDelta):
                return None  # Sum.doit drops zero summands and sifts deltas its own way
            if index not in summand.free_symbols:
                summand = summand * count
            elif count == 1:
                summand = summand.xreplace({index: low})
            else:
                summand = _direct(summand, index, int(low), count)
        return summand
    if not isinstance(expr, _PLAIN_DOIT):
        return None
    args = [_written_out(arg) for arg in expr.args]
    if any(arg is None for arg in args):
        return None
    return expr.func(*args)


def _only_in_entries(expr: sp.Expr, index: sp.Symbol) -> bool:
    """Whether ``index`` occurs in ``expr`` only as an index of array entries (so that SymPy's
    partial fractions in ``index`` fail on it: an entry is not a polynomial in its index)."""
    if expr == index:
        return False
    if isinstance(expr, sp.Indexed) or index not in expr.free_symbols:
        return True
    return all(_only_in_entries(arg, index) for arg in expr.args)


def _direct(expr: sp.Expr, index: sp.Symbol, first: int, count: int) -> sp.Expr:
    """SymPy's ``eval_sum_direct`` for a summand free of sums whose ``index`` occurs only in
    array entries: factors and terms free of ``index`` taken out of the sum (linearity), the
    rest written out term by term. As there, a part that sums to 0 (falsy) is not taken out."""
    if expr.is_Mul:
        without, with_index = expr.as_independent(index)
        if without != 1:
            total = _direct(with_index, index, first, count)
            if total and (product := without * total) is not sp.nan:
                return product
        else:
            left, right = expr.as_two_terms()
            if not left.has(index):
                total = _direct(right, index, first, count)
                if total:
                    return left * total
            if not right.has(index):
                total = _direct(left, index, first, count)
                if total:
                    return total * right
    if expr.is_Add:
        without, with_index = expr.as_independent(index)
        if without != 0:
            total = _direct(with_index, index, first, count)
            if total and (result := without * count + total) is not sp.nan:
                return result
        else:
            left, right = expr.as_two_terms()
            result = _direct(left, index, first, count) + _direct(right, index, first, count)
            if result is not sp.nan:
                return result
    return sp.Add(*[expr.xreplace({index: sp.Integer(first + n)}) for n in range(count)])


def quantity_name(expr: sp.Basic) -> str:
    """The name of a quantity: ``mu[i]`` and ``mu`` are both ``"mu"``."""
    if isinstance(expr, sp.Indexed):
        return str(expr.base.label)
    if isinstance(expr, sp.IndexedBase):
        return str(expr.label)
    return str(expr)


class ProofStatus(str, Enum):
    PROVED = "proved"
    REFUTED = "refuted"
    NOT_PROVED = "not proved"


#: The scope of a proof that holds for every size (a symbolic dimension, induction, a
#: matrix identity): the claim is proved, not just checked at some sizes.
GENERAL = "general"


def finite_scope(**sizes: Sequence[int]) -> str:
    """The scope of a proof that covers only the sizes given, e.g. ``finite_scope(C=range(1,
    9))`` is ``"C = 1..8"``: said in every report format, so that a claim checked at finite
    sizes is never read as proved in general."""
    if not sizes:
        raise ValueError("a finite scope names the sizes it covers")
    parts = []
    for name, values in sizes.items():
        covered = sorted(set(values))
        if not covered:
            raise ValueError(f"the scope of {name} is empty")
        run = covered == list(range(covered[0], covered[-1] + 1))
        if len(covered) == 1:
            parts.append(f"{name} = {covered[0]}")
        elif run:
            parts.append(f"{name} = {covered[0]}..{covered[-1]}")
        else:
            parts.append(f"{name} in {{{', '.join(map(str, covered))}}}")
    return "; ".join(parts)


def finite_points(names: Sequence[str], points: Iterable[Sequence[int]]) -> str:
    """The scope of a proof that covers only the listed combinations of sizes, e.g.
    ``finite_points(("N", "P"), [(1, 1), (2, 3)])`` is ``"(N, P) in {(1, 1), (2, 3)}"``: not
    every combination of the values, which :func:`finite_scope` would claim."""
    covered = sorted({tuple(point) for point in points})
    if not covered or any(len(point) != len(names) for point in covered):
        raise ValueError(f"each point names a size for each of {', '.join(names)}")
    listed = ", ".join("(" + ", ".join(map(str, point)) + ")" for point in covered)
    return f"({', '.join(names)}) in {{{listed}}}"


@dataclass(frozen=True)
class ProofOutcome:
    """What a symbolic check established and how.

    ``scope`` says for which sizes a proved claim holds: :data:`GENERAL`, or the finite sizes
    the computation covered (:func:`finite_scope`). A proof must say it; a refutation or an
    open claim may (the size of its counterexample)."""

    status: ProofStatus
    method: str
    detail: str = ""
    scope: str = ""

    def __post_init__(self) -> None:
        if self.status is ProofStatus.PROVED and not self.scope:
            raise ValueError(f"a proof ({self.method}) must say its scope: general or finite sizes")


@dataclass(frozen=True)
class Claim:
    """A claim a document makes about its equations, with the computation that settles it."""

    id: str
    title: str
    source: Source
    specs: tuple[str, ...]
    prove: Callable[[], ProofOutcome] = field(compare=False, repr=False)
