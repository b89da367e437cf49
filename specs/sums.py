"""Sums and products over a symbolic range, for the proofs that hold in general: the one place
where the specs manipulate ``sp.Sum`` and ``sp.Product`` with symbolic limits.

- :func:`sum_normal_form` brings an expression to a normal form, a sum of terms coefficient *
  Sum(monomial, limits), by linearity (constants pulled out, a sum of an Add split, a product of
  sums merged into one multiple sum) and Fubini (the order of independent limits is immaterial).
  A sum with a fixed number of terms is written out; in each term a KroneckerDelta sifts its
  summation index, and the caller's rules evaluate the sums they know (a row of mean 0 sums to
  0); the bound indices are then renamed canonically, so two expressions are equal when their
  normal forms are. :func:`map_summands` applies a linear map (an expectation) to each summand.
- :func:`peel_last` splits the last term off every Sum (the last factor off every Product) up to
  a symbolic bound: the step of an induction on that bound.
- :func:`replace_entries`, :func:`substitute` and :func:`fresh_bound` put definitions in place
  of the entries of an IndexedBase without capturing a bound index.
- :class:`SumsAsSymbols` names every sum by a symbol, so that an identity with square roots of
  sums becomes one between rational functions, which :func:`vanishes_modulo_roots` decides
  (:func:`residual_is_zero` at an explicit size, with the radicand given).

Used by the proofs that hold for a symbolic size (:mod:`eqconform.specs.attention`,
:mod:`eqconform.specs.autoencoder`, :mod:`eqconform.specs.diffusion`,
:mod:`eqconform.specs.layernorm`, :mod:`eqconform.specs.layernorm_exam`,
:mod:`eqconform.specs.ln_scaling`, :mod:`eqconform.specs.noise`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence

import sympy as sp

__all__ = [
    "Limit",
    "SumRule",
    "SumsAsSymbols",
    "UnsupportedSum",
    "fresh_bound",
    "map_summands",
    "peel_last",
    "replace_entries",
    "residual_is_zero",
    "substitute",
    "sum_normal_form",
    "vanishes_modulo_roots",
]


class UnsupportedSum(ValueError):
    """A sum that :func:`sum_normal_form` or :class:`SumsAsSymbols` does not handle (for the
    normal form too many summation indices to rename or sums nested too deep; for the named sums
    a sum from a value other than 1 or a KroneckerDelta at an index of unknown range)."""


#: The limits of one summation index, as SymPy writes them: (index, first, last).
Limit = tuple[sp.Symbol, sp.Expr, sp.Expr]

#: A rule evaluates the sum over one index: given the index, its bounds and the product of the
#: summand's factors that involve it, the value of that sum (free of the index), or None.
SumRule = Callable[[sp.Symbol, sp.Expr, sp.Expr, sp.Expr], sp.Expr | None]

# (coefficient free of the term's indices, the limits innermost first, the monomial in the
# indices: a product of powers of entries, KroneckerDeltas and functions of sums)
_Term = tuple[sp.Expr, tuple[Limit, ...], sp.Expr]

#: The bound indices of a normal form, named in order; the same objects in every normal form so
#: that equal terms compare equal. Row h - 1 names the indices of a sum of height h (1 + the
#: depth of the sums in its summand, which a function of a sum such as exp(q.k) can hold), so
#: that a sum's indices never capture those of the sums inside its summand.
_CANONICAL = tuple(
    tuple(sp.Dummy(f"v{n}" if height == 1 else f"v{height}_{n}", integer=True) for n in range(12))
    for height in range(1, 5)
)
#: Renamings tried per term to find its canonical form (indices over equal ranges permuted).
_RENAMING_BUDGET = 5040
#: A sum over a range of at most this many terms (a number) is written out.
_WRITTEN_OUT_MAX = 16


class _Context:
    """The ranges of the free indices (for sifting) and the caller's rules."""

    def __init__(
        self, ranges: Mapping[sp.Symbol, tuple[sp.Expr, sp.Expr]], rules: Sequence[SumRule]
    ) -> None:
        self.ranges = dict(ranges)
        self.rules = tuple(rules)


def _sum_depth(expr: sp.Expr) -> int:
    """How deep Sums nest in ``expr`` (0 without a Sum)."""
    return max((1 + _sum_depth(node.function) for node in expr.atoms(sp.Sum)), default=0)


def _depends(limits: Iterable[Limit], var: sp.Symbol) -> bool:
    """Whether a bound of ``limits`` involves ``var`` (a sum over a < b inside one over a)."""
    return any(var in bound.free_symbols for _, low, high in limits for bound in (low, high))


def _product(factors: list[list[_Term]]) -> list[_Term]:
    terms: list[_Term] = [(sp.S.One, (), sp.S.One)]
    for options in factors:
        terms = [(c1 * c2, l1 + l2, b1 * b2) for c1, l1, b1 in terms for c2, l2, b2 in options]
    return terms


def _bind(term: _Term, var: sp.Symbol, low: sp.Expr, high: sp.Expr, ctx: _Context) -> list[_Term]:
    """``term`` summed over ``var`` from ``low`` to ``high``. A range of a fixed number of terms
    is written out, in SymPy's (Karr's) convention below an empty range (the sum from a to
    b < a - 1 is minus the sum from b + 1 to a - 1). Otherwise the factors free of ``var`` stay
    outside, and a fresh index keeps the terms of one sum from capturing each other's indices;
    the bounds of the term's inner sums may depend on ``var`` (a sum over a < b)."""
    coeff, limits, body = term
    outside, inside = coeff.as_independent(var, as_Add=False)
    count = sp.expand(high - low + 1)
    if count.is_Integer and abs(count) <= _WRITTEN_OUT_MAX:
        sign, first = (1, low) if count >= 0 else (-1, high + 1)
        summand = inside * (sp.Sum(body, *limits) if limits else body)
        written = sp.Add(*[summand.xreplace({var: first + n}) for n in range(abs(int(count)))])
        return [(sign * outside * c, lims, b) for c, lims, b in _terms(written, ctx)]
    body = inside * body
    if var not in body.free_symbols and not _depends(limits, var):
        return [(outside * (high - low + 1), limits, body)]
    fresh = {var: sp.Dummy(str(var), integer=True)}
    limits = tuple((v, lo.xreplace(fresh), hi.xreplace(fresh)) for v, lo, hi in limits)
    return [(outside, (*limits, (fresh[var], low, high)), body.xreplace(fresh))]


def _terms(expr: sp.Expr, ctx: _Context) -> list[_Term]:
    if not expr.has(sp.Sum):
        return [(term, (), sp.S.One) for term in sp.Add.make_args(sp.expand(expr))]
    if isinstance(expr, sp.Add):
        return [term for arg in expr.args for term in _terms(arg, ctx)]
    if isinstance(expr, sp.Mul):
        return _product([_terms(arg, ctx) for arg in expr.args])
    if isinstance(expr, sp.Pow) and expr.exp.is_Integer and expr.exp > 0:
        return _product([_terms(expr.base, ctx) for _ in range(int(expr.exp))])
    if isinstance(expr, sp.Sum):
        terms = _terms(expr.function, ctx)
        for var, low, high in expr.limits:  # innermost first
            terms = [bound for term in terms for bound in _bind(term, var, low, high, ctx)]
        return terms
    # A root, a reciprocal or a function of sums: an atom, its arguments in normal form.
    return [(expr.func(*[_normal_once(arg, ctx) for arg in expr.args]), (), sp.S.One)]


def _range(index: sp.Basic, limits: tuple[Limit, ...], ctx: _Context) -> tuple | None:
    for var, low, high in limits:
        if var == index:
            return (low, high)
    return ctx.ranges.get(index)


def _reduce(term: _Term, ctx: _Context) -> list[_Term]:
    """Evaluate the sums of ``term`` that a KroneckerDelta sifts (sum_v delta(j, v) g(v) = g(j)
    when j runs over v's range) or that a rule knows, until none does."""
    coeff, limits, body = term
    for position, (var, low, high) in enumerate(limits):
        others = limits[:position] + limits[position + 1 :]
        if _depends(others, var):
            continue  # an inner sum's bound depends on var, so that sum is not taken first
        involved = sp.Mul(*[f for f in sp.Mul.make_args(body) if var in f.free_symbols])
        value = None
        for factor in sp.Mul.make_args(involved):
            if isinstance(factor, sp.KroneckerDelta):
                other = factor.args[1] if factor.args[0] == var else factor.args[0]
                if other != var and _range(other, others, ctx) == (low, high):
                    value = (involved / factor).xreplace({var: other})
                    break
        for rule in ctx.rules:
            if value is not None:
                break
            value = rule(var, low, high, involved)
            if value is not None and var in value.free_symbols:
                value = None
        if value is not None:
            rest = body / involved * value
            rebuilt = coeff * (sp.Sum(rest, *others) if others else rest)
            return [reduced for new in _terms(rebuilt, ctx) for reduced in _reduce(new, ctx)]
    if not limits:
        return [(coeff * body, (), sp.S.One)]
    outside, inside = body.as_independent(*[var for var, _, _ in limits], as_Add=False)
    return [(coeff * outside, limits, inside)]


def _orders(limits: tuple[Limit, ...]) -> tuple[int, Iterable[list[Limit]]]:
    """The orders of ``limits`` (innermost first) among which the canonical one is chosen, and
    how many there are. Independent limits: the ranges sorted, indices over equal ranges
    permuted (Fubini). When a bound depends on another index (a < b): every order that keeps
    each sum inside the sums its bounds depend on."""
    variables = {var for var, _, _ in limits}
    if not any(_depends(limits, var) for var in variables):
        groups: dict[tuple[str, str], list[Limit]] = {}
        for limit in limits:
            groups.setdefault((str(limit[1]), str(limit[2])), []).append(limit)
        ordered = [groups[key] for key in sorted(groups)]
        count = 1
        for group in ordered:
            for size in range(2, len(group) + 1):
                count *= size
        choices = itertools.product(*(itertools.permutations(group) for group in ordered))
        return count, ([limit for group in choice for limit in group] for choice in choices)
    count = 1
    for size in range(2, len(limits) + 1):
        count *= size

    def nested(order: tuple[Limit, ...]) -> bool:
        # No bound of a sum depends on the index of a sum inside it (or on its own index).
        return not any(_depends(order[n:], var) for n, (var, _, _) in enumerate(order))

    return count, (list(order) for order in itertools.permutations(limits) if nested(order))


def _canonical(term: _Term) -> _Term:
    """``term`` with its indices renamed to _CANONICAL: of the orders of the limits that
    :func:`_orders` allows, the one whose renamed monomial (and limits) print first."""
    coeff, limits, body = term
    if not limits:
        return term
    height = 1 + _sum_depth(body)
    count, orders = _orders(limits)
    if height > len(_CANONICAL):
        raise UnsupportedSum(f"sums nested {height} deep")
    if count > _RENAMING_BUDGET or len(limits) > len(_CANONICAL[0]):
        raise UnsupportedSum(f"{len(limits)} summation indices")
    names = _CANONICAL[height - 1]
    independent = not any(_depends(limits, var) for var, _, _ in limits)
    best: tuple[str, sp.Expr, tuple[Limit, ...]] | None = None
    for flat in orders:
        renaming = {var: names[n] for n, (var, _, _) in enumerate(flat)}
        renamed = body.xreplace(renaming)
        canonical = tuple(
            (names[n], low.xreplace(renaming), high.xreplace(renaming))
            for n, (_, low, high) in enumerate(flat)
        )
        key = str(renamed) if independent else str((canonical, renamed))
        if best is None or key < best[0]:
            best = (key, renamed, canonical)
    assert best is not None
    return coeff, best[2], best[1]


def _normal_once(expr: sp.Expr, ctx: _Context) -> sp.Expr:
    collected: dict[tuple[tuple[Limit, ...], sp.Expr], sp.Expr] = {}
    for term in _terms(sp.sympify(expr), ctx):
        for reduced in _reduce(term, ctx):
            coeff, limits, body = _canonical(reduced)
            collected[(limits, body)] = collected.get((limits, body), sp.S.Zero) + coeff
    total = sp.S.Zero
    for (limits, body), coeff in collected.items():
        total += sp.cancel(coeff) * (sp.Sum(body, *limits) if limits else body)
    return total


def sum_normal_form(
    expr: sp.Expr,
    ranges: Mapping[sp.Symbol, tuple[sp.Expr, sp.Expr]] | None = None,
    rules: Sequence[SumRule] = (),
) -> sp.Expr:
    """``expr`` as coefficient * Sum(monomial, canonical limits) terms, with every sum that a
    KroneckerDelta or a rule evaluates evaluated; ``ranges`` gives the bounds of the free indices
    (a delta sifts an index only onto one of the same range). A bound may depend on an outer
    index (a sum over a < b); a sum over a range of a fixed number of terms is written out (so
    a sum from D + 1 to D - 1 is minus its term at D, as :func:`peel_last` needs); a function of
    a sum (a root, a reciprocal, an exponential) is an atom, its argument in normal form, and may
    depend on an outer summation index (exp(q_i.k_j) summed over j). Two expressions are equal
    when their normal forms are; the converse fails for identities that need algebra across such
    an atom (for square roots of sums see :class:`SumsAsSymbols`). Raises
    :class:`UnsupportedSum`."""
    ctx = _Context(ranges or {}, rules)
    current = sp.sympify(expr)
    # A pass can merge a sum into the coefficient of another term (S * S**-2 = 1/S), which the
    # next pass collects; the normal form is reached in a few passes.
    for _ in range(4):
        following = _normal_once(current, ctx)
        if following == current:
            break
        current = following
    return current


def map_summands(
    expr: sp.Expr,
    transform: Callable[[sp.Expr], sp.Expr],
    ranges: Mapping[sp.Symbol, tuple[sp.Expr, sp.Expr]] | None = None,
    rules: Sequence[SumRule] = (),
) -> sp.Expr:
    """The normal form of ``expr`` with ``transform`` applied to every summand (a linear map
    such as an expectation or a derivative commutes with the finite sums)."""
    ctx = _Context(ranges or {}, rules)
    mapped = sp.S.Zero
    for term in _terms(sum_normal_form(expr, ranges, rules), ctx):
        coeff, limits, body = term
        summand = transform(coeff * body)
        mapped += sp.Sum(summand, *limits) if limits else summand
    return sum_normal_form(mapped, ranges, rules)


def peel_last(expr: sp.Expr, last: sp.Expr) -> sp.Expr:
    """``expr`` with every Sum over an index running up to ``last`` written as the Sum up to
    ``last - 1`` plus its terms at ``last``, and every such Product as the Product up to
    ``last - 1`` times its factor at ``last``: an identity for any summand in SymPy's (Karr's)
    convention for limits, so it holds for every integer ``last`` (the step of an induction on
    ``last``). A multiple Sum or Product is split limit by limit, innermost first, the inner
    limits taking the outer index's value ``last`` in the split-off terms."""

    def peel(node: sp.Sum | sp.Product) -> sp.Expr:
        combine = sp.Add if isinstance(node, sp.Sum) else sp.Mul

        def split(summand: sp.Expr, limits: Sequence[Limit]) -> sp.Expr:
            if not limits:
                return summand
            *inner, (index, low, high) = limits
            body = split(summand, inner)
            if high != last:
                return node.func(body, (index, low, high))
            return combine(node.func(body, (index, low, high - 1)), body.subs(index, high))

        return split(node.function, node.limits)

    return expr.replace(
        lambda node: (
            isinstance(node, (sp.Sum, sp.Product))
            and any(limit[2] == last for limit in node.limits)
        ),
        peel,
    )


def fresh_bound(expr: sp.Expr) -> sp.Expr:
    """``expr`` with the indices of its sums renamed to fresh ones, so that substituting it
    under another sum cannot capture that sum's index."""

    def rename(node: sp.Sum) -> sp.Sum:
        fresh = {var: sp.Dummy(str(var), integer=True) for var, _, _ in node.limits}
        return sp.Sum(
            node.function.xreplace(fresh), *[(fresh[var], lo, hi) for var, lo, hi in node.limits]
        )

    return expr.replace(lambda node: isinstance(node, sp.Sum), rename)


def replace_entries(expr: sp.Expr, base: sp.IndexedBase, value: Callable[..., sp.Expr]) -> sp.Expr:
    """``expr`` with every entry ``base[a, ...]`` replaced by ``value(a, ...)``."""
    return expr.replace(
        lambda node: isinstance(node, sp.Indexed) and node.base == base,
        lambda node: value(*node.indices),
    )


def substitute(expr: sp.Expr, quantity: sp.Indexed, definition: sp.Expr) -> sp.Expr:
    """``expr`` with every entry of ``quantity``'s base replaced by ``definition`` at that
    entry's indices (``quantity`` = x[i, j] -> definition, as a spec relation states it), the
    definition's bound indices fresh (:func:`fresh_bound`)."""
    pattern = quantity.indices

    def instance(*indices: sp.Expr) -> sp.Expr:
        return fresh_bound(definition).xreplace(dict(zip(pattern, indices, strict=True)))

    return replace_entries(expr, quantity.base, instance)


# ---------------------------------------------------------------------------------------------
# Square roots of sums: an identity between expressions with sums over 1..C (C a symbol) is
# reduced to one between rational functions, each sum a symbol and each square root a positive
# symbol. sum_normal_form keeps a root of a sum as an atom and compares structurally, so it
# cannot settle an identity that needs algebra through the root (LayerNorm's eq. (7), where
# sqrt(sigma^2 + eps) is eliminated through eps); naming the sums lets vanishes_modulo_roots
# decide it.


class SumsAsSymbols:
    r"""Rewrites every ``Sum`` over ``1..size`` (a symbolic size) as a polynomial in named sums.

    The summand is expanded into terms. Factors free of the summation index leave the sum
    (linearity); a term with nothing left sums to ``size`` times itself; a factor
    ``KroneckerDelta(m, p)`` keeps the term at ``m = p`` alone, which is exact because ``p`` is
    known to lie in ``1..size`` (``ranges``); what is left is a named sum: a symbol shared by
    every sum with the same summand up to the name of its index. The rewriting is exact, so an
    identity that holds with the named sums taken as independent symbols holds for every size:
    this is how ``sympy.diff`` of a spec at a symbolic dimension (whose derivative of
    ``Sum(Z[i, m], (m, 1, C))`` by ``Z[i, p]`` is ``Sum(KroneckerDelta(m, p), (m, 1, C))``) is
    compared with another spec. Anything else (a sum from a value other than 1, a delta at an
    index of unknown range, a sum nested in one over the index it depends on) raises
    :class:`UnsupportedSum`.

    Where :func:`sum_normal_form` keeps the sums (and a root of a sum as an opaque atom) and
    compares structurally, this replaces each sum by a symbol, so that the residual is a rational
    function of symbols and square roots for :func:`vanishes_modulo_roots`.
    """

    def __init__(self, ranges: Mapping[sp.Symbol, sp.Expr]) -> None:
        self.ranges = dict(ranges)
        #: Each named sum, as the symbol it is written with and the Sum it stands for.
        self.named: dict[sp.Symbol, sp.Sum] = {}
        self._names: dict[sp.Sum, sp.Symbol] = {}
        self._index = sp.Dummy("m", integer=True, positive=True)

    def __call__(self, expr: sp.Expr) -> sp.Expr:
        if not expr.has(sp.Sum):
            return expr
        if isinstance(expr, sp.Sum):
            return self._sum(expr)
        return expr.func(*(self(arg) for arg in expr.args))

    def describe(self, expr: sp.Expr) -> str:
        """The named sums in ``expr`` as the reports show them, e.g. ``sum_m Z[i, m]``."""
        shown = sp.Symbol("m")
        return ", ".join(
            f"sum_m {total.function.xreplace({self._index: shown})}"
            for name, total in self.named.items()
            if name in expr.free_symbols
        )

    def symbol(self, summand: sp.Expr, index: sp.Symbol, size: sp.Expr) -> sp.Symbol:
        """The named sum of ``summand`` over ``index = 1..size``, named on first use."""
        total = sp.Sum(summand.xreplace({index: self._index}), (self._index, 1, size))
        if total not in self._names:
            self._names[total] = sp.Symbol(f"sum{len(self._names)}")
            self.named[self._names[total]] = total
        return self._names[total]

    def _sum(self, expr: sp.Sum) -> sp.Expr:
        summand = self(expr.function)
        for index, lower, size in expr.limits:  # the first limit is the innermost sum
            if lower != 1 or index in size.free_symbols:
                raise UnsupportedSum(f"a sum over {index} = {lower}..{size}")
            total = sp.S.Zero
            for term in sp.Add.make_args(sp.expand(summand)):
                inner: list[sp.Expr] = []
                outer: list[sp.Expr] = []
                for factor in sp.Mul.make_args(term):
                    (inner if self._depends(factor, index) else outer).append(factor)
                total += sp.Mul(*outer) * self._sum_of(inner, index, size)
            summand = total
        return summand

    def _depends(self, expr: sp.Expr, index: sp.Symbol) -> bool:
        return index in expr.free_symbols or any(
            index in self.named[name].free_symbols for name in self._names_in(expr)
        )

    def _sum_of(self, factors: list[sp.Expr], index: sp.Symbol, size: sp.Expr) -> sp.Expr:
        """The sum over ``index = 1..size`` of a product of factors that all depend on it."""
        for position, factor in enumerate(factors):
            delta, power = factor.as_base_exp()
            if isinstance(delta, sp.KroneckerDelta) and power.is_integer and power.is_positive:
                first, second = delta.args
                point = second if first == index else first
                if self.ranges.get(point) != size:
                    raise UnsupportedSum(f"{delta} summed over {index} = 1..{size}")
                rest = sp.Mul(*factors[:position], *factors[position + 1 :])
                return self._at(rest, index, point)
        if not factors:
            return size
        term = sp.Mul(*factors)
        if any(index in self.named[name].free_symbols for name in self._names_in(term)):
            raise UnsupportedSum(f"a sum over {index} nested in another sum over {index}")
        return self.symbol(term, index, size)

    def _names_in(self, expr: sp.Expr) -> set[sp.Symbol]:
        return expr.free_symbols & self.named.keys()

    def _at(self, expr: sp.Expr, index: sp.Symbol, point: sp.Symbol) -> sp.Expr:
        """``expr`` at ``index = point``, the named sums whose summand mentions ``index`` too."""
        moved = [name for name in self._names_in(expr) if index in self.named[name].free_symbols]
        renamed: dict[sp.Symbol, sp.Symbol] = {}
        for name in moved:
            ((summed, _, size),) = self.named[name].limits
            summand = self.named[name].function.xreplace({index: point})
            renamed[name] = self.symbol(summand, summed, size)
        return expr.xreplace({index: point, **renamed})


def vanishes_modulo_roots(expr: sp.Expr) -> bool:
    """Whether ``expr``, a rational function of its symbols and of square roots, is zero.

    Each square root ``sqrt(R)`` is removed by a change of variables: a symbol ``x`` that ``R``
    is linear in (with a coefficient SymPy knows is nonzero, such as ``eps`` in ``sigma2 +
    eps`` or a named sum of squares) is written through a new positive symbol ``s`` with
    ``R = s**2``, so that ``sqrt(R) = s``. With no root left, the numerator must expand to the
    zero polynomial. Every point with ``R > 0`` is reached by some ``s``, so the identity holds
    wherever the roots are real and nonzero. A root that cannot be removed so (no such ``x``, a
    root other than a square root) leaves the identity unproved: ``False``; at an explicit size,
    where the radicand is a sum of squares of the inputs, see :func:`residual_is_zero`.
    """
    roots: set[sp.Symbol] = set()
    while True:  # each step removes one symbol other than the roots, so the loop ends
        expr = sp.expand(expr)
        radicands: set[sp.Expr] = set()
        for power in expr.atoms(sp.Pow):
            base, exponent = power.as_base_exp()
            if not exponent.is_integer:
                if not (exponent.is_Rational and exponent.q == 2):
                    return False
                radicands.add(base)
        if not radicands:
            return sp.expand(sp.numer(sp.together(expr))) == 0
        radicand = min(radicands, key=sp.default_sort_key)
        root = sp.Symbol(f"s{len(roots)}", positive=True)
        for unknown in sorted(radicand.free_symbols - roots, key=sp.default_sort_key):
            coefficient = sp.diff(radicand, unknown)
            if unknown not in coefficient.free_symbols and coefficient.is_nonzero:
                solved = sp.expand(unknown + (root**2 - radicand) / coefficient)
                expr = expr.xreplace({unknown: solved})
                roots.add(root)
                break
        else:
            return False


def residual_is_zero(residual: sp.Expr, radicand: sp.Expr) -> bool:
    """Whether an expression in a row's inputs and ``sqrt(radicand)`` vanishes identically.

    Every term is a rational function of the inputs times a power of ``sqrt(radicand)``;
    replacing that root by a positive symbol ``s`` (with ``s**2 = radicand`` eliminated) turns
    the residual into a rational function whose numerator must cancel to the zero polynomial.
    The explicit-size counterpart of :func:`vanishes_modulo_roots`, kept apart because the
    radicand there (a sum of squares of the inputs, with no epsilon) need not be linear in any
    symbol, so it is named by the caller instead of solved for.
    """
    s = sp.Symbol("s", positive=True)
    replaced = residual.subs(radicand, s**2)
    numerator = sp.numer(sp.together(sp.expand(replaced)))
    return sp.expand(numerator) == 0
