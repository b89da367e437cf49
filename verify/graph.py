"""The specs a component is checked against, as one graph of quantities.

A component (Adam, LayerNorm, ...) is checked against several specs that reference each other
through the quantities they define: ``adam.update`` uses ``mhat`` defined by
``adam.bias_correction``. A :class:`SpecGraph` knows, for every quantity, which spec defines
it, and builds the expression that predicts an observed quantity from the other observed
quantities, expanding only what the target does not expose. That is what lets a check land on
the first equation that breaks: a quantity the target exposes is judged by its own equation
applied to the target's own inputs.

Specs whose indices cannot all be laid out along distinct axes (a product over every key of an
attention row) are instantiated for explicit sizes instead (``subs`` and ``doit``), and
:func:`unrolled_predictor` compiles such scalar expressions with their bounds in the same way.
"""

from __future__ import annotations

import ast
import functools
import itertools
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sympy as sp

from eqconform.specs.model import Spec, quantity_name

from . import cache
from .compiler import CompiledFunction, compile_expressions, compose, lower
from .rounding import COEFFICIENT_UNIT_ROUNDOFF, UNIT_ROUNDOFF, BoundProgram, bound_program

__all__ = [
    "Combination",
    "Memo",
    "Predictor",
    "SpecGraph",
    "SpecUse",
    "UnrolledPredictor",
    "drift_input",
    "recomputation_input",
    "unrolled_predictor",
]


_DRIFT = "_drift"


def drift_input(name: str) -> str:
    """The input bounding how far the target's copy of carried state ``name`` may have drifted
    from the oracle's (:attr:`SpecGraph.carried`)."""
    return f"{name}{_DRIFT}"


_RECOMPUTED = "_recomputed"


def recomputation_input(name: str) -> str:
    """The input holding the bound of recomputing the observed intermediate ``name`` from the
    raw inputs (:attr:`Predictor.recomputation`)."""
    return f"{name}{_RECOMPUTED}"


#: Bounds a record's predictors share, by the key of what they bound: a record's memo
#: (:attr:`~.judge.Record.derived`), or a caller's for the predictors it calls on one record.
Memo = dict[tuple[str, float, float], np.ndarray]


@dataclass(frozen=True)
class Predictor:
    """The oracle for one quantity: ``with_bound``, one program returning its value and the
    bound of its rounding error (:func:`~.rounding.bound_program` with ``values``). The bound
    evaluates every node of the expression anyway, so the value costs it one operation more,
    not a program and a pass over the arrays of its own.

    An observed intermediate (LayerNorm's Zhat) carries the error of recomputing it from the
    raw inputs, which an implementation may have done. Those bounds are ``recomputation``'s,
    one program for every such leaf of the quantity, given to ``with_bound`` as inputs
    (:func:`recomputation_input`): ``recomputed`` names each with its key, the leaf and the
    expression it is recomputed by. A ``memo`` shared by the predictors called on one record
    computes each of them once (dL/dZ and dL/dgamma both recompute Zhat; so does every form
    of dL/dZ the judge tries)."""

    with_bound: CompiledFunction
    recomputation: CompiledFunction | None = None
    recomputed: tuple[tuple[str, str], ...] = ()

    def __call__(
        self, values: Mapping[str, object], memo: Memo | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if self.recomputation is not None:
            values = {**values, **self._recomputed(values, {} if memo is None else memo)}
        value, bound = self.with_bound(_bound_defaults(values, self.with_bound.arguments))
        return value, bound

    def _recomputed(self, values: Mapping[str, object], memo: Memo) -> dict[str, np.ndarray]:
        assert self.recomputation is not None
        given = _bound_defaults(values, self.recomputation.arguments)
        # The unit roundoffs too: one record is judged at one precision, but a memo is only a
        # dictionary, and a bound at another precision is another bound.
        precision = (
            float(given[UNIT_ROUNDOFF.name]),  # type: ignore[arg-type]
            float(given.get(COEFFICIENT_UNIT_ROUNDOFF.name, 0.0)),  # type: ignore[arg-type]
        )
        keys = [(key, *precision) for _, key in self.recomputed]
        if not all(key in memo for key in keys):
            memo.update(zip(keys, self.recomputation(given), strict=True))
        return {name: memo[key] for (name, _), key in zip(self.recomputed, keys, strict=True)}

    def to_data(self) -> dict[str, object]:
        """Plain data for the program cache (:meth:`from_data` checks it back)."""
        return {
            "with_bound": self.with_bound.to_data(),
            "recomputation": None if self.recomputation is None else self.recomputation.to_data(),
            "recomputed": [list(pair) for pair in self.recomputed],
        }

    @classmethod
    def from_data(cls, data: Mapping[str, object]) -> Predictor:
        """The predictor :meth:`to_data` stored; ``ValueError`` (or ``KeyError``,
        ``TypeError``) for anything else."""
        recomputed = data["recomputed"]
        stored = data["recomputation"]
        if not isinstance(recomputed, list) or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
            for pair in recomputed
        ):
            raise ValueError("not a list of recomputed leaves")
        recomputation = None if stored is None else CompiledFunction.from_data(stored)  # type: ignore[arg-type]
        if (recomputation is None) != (not recomputed) or (
            recomputation is not None and len(recomputed) != _returned(recomputation)
        ):
            raise ValueError("recomputed leaves that are not the recomputation's")
        return cls(
            CompiledFunction.from_data(data["with_bound"]),  # type: ignore[arg-type]
            recomputation,
            tuple((name, key) for name, key in recomputed),
        )


def _bound_defaults(values: Mapping[str, object], arguments: Sequence[str]) -> Mapping[str, object]:
    """``values`` with what a bound program may ask and the caller need not say: coefficients
    at the arrays' precision, and no drift of carried state (the target showed it)."""
    defaults: dict[str, object] = {}
    if COEFFICIENT_UNIT_ROUNDOFF.name in arguments and COEFFICIENT_UNIT_ROUNDOFF.name not in values:
        defaults[COEFFICIENT_UNIT_ROUNDOFF.name] = values[UNIT_ROUNDOFF.name]
    for name in arguments:
        if name.endswith(_DRIFT) and name not in values:
            defaults[name] = 0.0
    return {**values, **defaults} if defaults else values


@dataclass(frozen=True)
class UnrolledPredictor:
    """Values and error bounds of several expressions in scalar symbols (one per entry of a
    row), evaluated on arrays of rows."""

    value: CompiledFunction
    bound: CompiledFunction

    def __call__(
        self, values: Mapping[str, object]
    ) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        return self.value(values), self.bound(values)


def unrolled_predictor(
    expressions: Sequence[sp.Expr], leaf_errors: Mapping[sp.Symbol, sp.Expr] | None = None
) -> UnrolledPredictor:
    """Compile explicit-size expressions (a spec after ``subs`` and ``doit``) with their bounds;
    ``leaf_errors`` gives inputs errors of their own
    (see :func:`~eqconform.verify.rounding.bound_program`)."""
    program = bound_program(expressions, leaf_errors=leaf_errors)
    return UnrolledPredictor(compile_expressions(tuple(expressions)), program.compiled())


@dataclass(frozen=True)
class SpecUse:
    """A spec as a component uses it; ``rename`` maps the spec's quantity names to the
    component's (AdamW calls ``adam.update``'s ``theta`` ``theta_adam``).

    ``borrowed``: the spec belongs to another component and has no result of its own here
    (Adam's equations inside AdamW); a spec checked through it passes only with it in an
    accepted form, and follows its known deviations by name ("uncorrected with
    decay-scaled-by-lr").
    """

    spec: Spec
    rename: Mapping[str, str] = field(default_factory=dict)
    borrowed: bool = False


#: One choice of variant per spec, as sorted ``(spec id, variant id)`` pairs.
Combination = tuple[tuple[str, str], ...]


class SpecGraph:
    """The quantities, definitions and variants of one component's specs.

    Relations are lowered to array form (:func:`~eqconform.verify.compiler.lower`: sums become
    reductions, cumulative products ``CumProdAxis``; ``exp`` and ``Heaviside`` stay), and the
    bounds come from :mod:`~eqconform.verify.rounding`, which has a rule for each of them.
    """

    def __init__(
        self,
        uses: Sequence[SpecUse],
        *,
        carried: Iterable[str] = (),
        coefficients: Iterable[str] = (),
    ):
        self.uses = {use.spec.id: use for use in uses}
        #: Inputs that are state the target carries from step to step (Adam's ``m_prev``),
        #: which the oracle carries in its place when the target hides it (:meth:`carry`). The
        #: target's own copy may have drifted from the oracle's by the rounding of every step
        #: before, so such a leaf's error is the input ``<name>_drift`` (zero for state the
        #: target showed) plus one rounding, not one rounding alone.
        self.carried = frozenset(carried)
        #: Scalar inputs (hyperparameters) that a library may compute with, and combine, in a
        #: precision of their own: the bounds round nodes of these alone (``1 - beta1**t``) at
        #: the input ``coefficient_unit_roundoff`` (:mod:`~eqconform.verify.rounding`).
        self.coefficients = frozenset(coefficients)
        self.definer: dict[str, str] = {}
        self._forms: dict[tuple[str, str], dict[str, sp.Expr]] = {}
        self._compiled: dict[tuple, Predictor] = {}
        #: Recomputation programs by the expressions they bound: many predictors (every form
        #: of LayerNorm's backward specs) recompute the same forward quantities.
        self._recomputations: dict[tuple[sp.Expr, ...], CompiledFunction] = {}
        for use in uses:
            for variant in use.spec.variants:
                form = {}
                for lhs, rhs in variant.relations.items():
                    name = use.rename.get(quantity_name(lhs), quantity_name(lhs))
                    if _is_random(rhs):
                        continue
                    lowered = lower(rhs, use.spec.axes)
                    renames = {
                        s: sp.Symbol(use.rename[s.name], **s.assumptions0)
                        for s in lowered.free_symbols
                        if s.name in use.rename
                    }
                    form[name] = lowered.xreplace(renames)
                self._forms[(use.spec.id, variant.id)] = form
            for quantity in use.spec.defines:
                name = use.rename.get(quantity, quantity)
                if name in self.definer:
                    raise ValueError(
                        f"{name!r} is defined by both {self.definer[name]} and {use.spec.id}"
                    )
                self.definer[name] = use.spec.id

    @functools.cached_property
    def scalars(self) -> frozenset[str]:
        """The quantities every spec of the graph writes as plain symbols, never indexed: the
        hyperparameters, which a bound program may combine as scalars before it touches an
        array (:func:`~.straightline.fewer_passes`)."""
        plain: set[str] = set()
        indexed: set[str] = set()
        for use in self.uses.values():
            for info in use.spec.symbols:
                name = use.rename.get(info.name, info.name)
                (indexed if isinstance(info.symbol, sp.IndexedBase) else plain).add(name)
        return frozenset(plain - indexed)

    @functools.cached_property
    def small(self) -> frozenset[str]:
        """The scalars, and the quantities indexed along fewer axes than the graph's most (and
        their recomputation bounds): arrays smaller than the others, LayerNorm's rows of
        variances and its gamma against Z. A bound program combines them with the scalars
        before it touches a larger array; a guess, which orders the work only."""
        axes: dict[str, set[int]] = {}
        for use in self.uses.values():
            for variant in use.spec.variants:
                for lhs, rhs in variant.relations.items():
                    for node in sp.Tuple(lhs, rhs).atoms(sp.Indexed):
                        name = quantity_name(node)
                        along = axes.setdefault(use.rename.get(name, name), set())
                        along |= {
                            use.spec.axes[index]
                            for index in sp.Tuple(*node.indices).free_symbols
                            if index in use.spec.axes
                        }
        most = max((len(along) for along in axes.values()), default=0)
        fewer = {name for name, along in axes.items() if len(along) < most}
        return self.scalars | fewer | {recomputation_input(name) for name in fewer}

    def spec(self, spec_id: str) -> Spec:
        return self.uses[spec_id].spec

    @functools.lru_cache(maxsize=256)  # noqa: B019 - graphs live as long as the process
    def defines(self, spec_id: str) -> tuple[str, ...]:
        # Asked for every record judged; a spec's defines are read off its relations.
        use = self.uses[spec_id]
        return tuple(use.rename.get(q, q) for q in use.spec.defines)

    def form(self, spec_id: str, variant_id: str) -> Mapping[str, sp.Expr]:
        return self._forms[(spec_id, variant_id)]

    def chain(self, quantity: str, observed: Iterable[str]) -> tuple[str, ...]:
        """The specs whose equations predict ``quantity`` from observed quantities and inputs,
        the quantity's own spec first, then upstream ones in the order they are reached."""
        return self._chain(quantity, frozenset(observed))

    @functools.lru_cache(maxsize=1024)  # noqa: B019 - graphs live as long as the process
    def _chain(self, quantity: str, observed: frozenset[str]) -> tuple[str, ...]:
        # Asked for every record judged; walking the forms' free symbols is SymPy work.
        order: list[str] = []
        pending = [quantity]
        while pending:
            name = pending.pop(0)
            spec_id = self.definer.get(name)
            if spec_id is None or spec_id in order:
                continue
            order.append(spec_id)
            for expr in self.form(spec_id, self.spec(spec_id).canonical.id).values():
                for symbol in sorted(expr.free_symbols, key=lambda s: s.name):
                    if symbol.name in self.definer and symbol.name not in observed:
                        pending.append(symbol.name)
        return tuple(order)

    def combinations(self, spec_ids: Sequence[str]) -> Iterator[Combination]:
        """Every choice of one variant per spec."""
        choices = [[(spec_id, v.id) for v in self.spec(spec_id).variants] for spec_id in spec_ids]
        for combo in itertools.product(*choices):
            yield tuple(sorted(combo))

    def evaluate(self, quantity: str, values: Mapping[str, object]) -> np.ndarray:
        """The canonical form's value of ``quantity`` from the values of its direct inputs
        (used to carry state a target does not expose, such as Adam's moments)."""
        return self._evaluator(quantity, frozenset(values))(values)[0]

    @functools.lru_cache(maxsize=256)  # noqa: B019 - graphs live as long as the process
    def _evaluator(self, quantity: str, given: frozenset[str]) -> CompiledFunction:
        """The compiled canonical form of ``quantity`` from the quantities ``given``: built
        once per question (a run asks it at every step)."""
        canonical = {spec_id: self.spec(spec_id).canonical.id for spec_id in self.uses}
        expr = self._form_for(self.definer[quantity], canonical)[quantity]
        missing = {
            name: e
            for name, e in self._all_forms(canonical).items()
            if name not in given and name != quantity
        }
        return compile_expressions((compose(expr, missing),))

    def _recomputable(self, expr: sp.Expr, chosen: Mapping[str, str]) -> dict[sp.Symbol, sp.Expr]:
        """Each observed intermediate in ``expr`` with its expression in the raw inputs: an
        implementation may recompute it (with its own rounding) rather than reuse the value it
        exposed, and the tolerance must allow for that."""
        chains = {}
        for symbol in sorted(expr.free_symbols, key=lambda symbol: symbol.name):
            spec_id = self.definer.get(symbol.name)
            form = self._form_for(spec_id, chosen) if spec_id is not None else {}
            if symbol.name not in form:  # an input, or a random quantity such as a dropout mask
                continue
            chains[symbol] = compose(form[symbol.name], self._all_forms(chosen))
        return chains

    def _form_for(self, spec_id: str, chosen: Mapping[str, str]) -> Mapping[str, sp.Expr]:
        return self.form(spec_id, chosen.get(spec_id, self.spec(spec_id).canonical.id))

    def _all_forms(self, chosen: Mapping[str, str]) -> dict[str, sp.Expr]:
        forms: dict[str, sp.Expr] = {}
        for spec_id in self.uses:
            forms.update(self._form_for(spec_id, chosen))
        return forms

    def expression(
        self,
        quantity: str,
        combination: Combination,
        observed: frozenset[str],
        override: Mapping[str, sp.Expr] | None = None,
    ) -> sp.Expr:
        """The array-form expression predicting ``quantity`` from observed quantities and
        inputs, with every spec in the combination in its chosen form (``override``: other
        definitions of some quantities, such as a candidate explanation's)."""
        definitions = {}
        for spec_id, variant_id in dict(combination).items():
            for name, expr in self.form(spec_id, variant_id).items():
                if name not in observed or name == quantity:
                    definitions[name] = expr
        definitions.update(override or {})
        return compose(definitions.pop(quantity), definitions)

    def predictor(
        self, quantity: str, combination: Combination, observed: frozenset[str]
    ) -> Predictor:
        """Compiled ``(value, bound)`` of ``quantity`` from the observed quantities and inputs,
        with every spec in the combination in its chosen form.

        Kept for the process, and on disk across runs and processes (:data:`PROGRAMS`), keyed
        by :meth:`fingerprint` and the question asked: building the expression and its bound
        is SymPy work that depends on eqconform's own code and the specs only.
        """
        key = (quantity, combination, observed)
        compiled = self._compiled.get(key)
        if compiled is None:
            stored_key = cache.key(
                [self.fingerprint, quantity, repr(combination), repr(sorted(observed))]
            )
            compiled = _stored_predictor(stored_key)
            if compiled is None:
                expr = self.expression(quantity, combination, observed)
                recomputable = self._recomputable(expr, dict(combination))
                program = self._bound_program(expr, combination, recomputable)
                recomputation = None
                if recomputable:
                    # Every leaf's bound in one program: their computations share nodes (the
                    # mean and variance under both Zhat and sigma^2).
                    chains = tuple(recomputable.values())
                    recomputation = self._recomputations.get(chains)
                    if recomputation is None:
                        recomputation = bound_program(
                            chains, coefficients=self.coefficients, small=self.small
                        ).compiled(scalars=self.scalars, small=self.small)
                        self._recomputations[chains] = recomputation
                compiled = Predictor(
                    program.compiled(scalars=self.scalars, small=self.small),
                    recomputation,
                    tuple(
                        (recomputation_input(leaf.name), f"{leaf.name} = {sp.srepr(chain)}")
                        for leaf, chain in recomputable.items()
                    ),
                )
                PROGRAMS.put(stored_key, compiled.to_data())
            self._compiled[key] = compiled
        return compiled

    def bound_program(
        self, quantity: str, combination: Combination, observed: frozenset[str]
    ) -> BoundProgram:
        """The program (not yet compiled) computing the value of ``quantity`` as
        :meth:`expression` gives it, and the bound of its rounding error: observed
        intermediates carry the error of computing them from the inputs (an input of the
        program, :func:`recomputation_input`, which :attr:`Predictor.recomputation`
        computes), carried state its drift (:meth:`carry`), and nodes of coefficients alone
        their own unit roundoff."""
        expr = self.expression(quantity, combination, observed)
        return self._bound_program(expr, combination, self._recomputable(expr, dict(combination)))

    def _bound_program(
        self, expr: sp.Expr, combination: Combination, recomputable: Mapping[sp.Symbol, sp.Expr]
    ) -> BoundProgram:
        return bound_program(
            (expr,),
            recomputed={
                leaf: sp.Symbol(recomputation_input(leaf.name), nonnegative=True)
                for leaf in recomputable
            },
            leaf_errors={
                leaf: sp.Symbol(drift_input(leaf.name), nonnegative=True)
                + UNIT_ROUNDOFF * sp.Abs(leaf)
                for leaf in expr.free_symbols
                if leaf.name in self.carried
            },
            coefficients=self.coefficients,
            small=self.small,
            values=True,
        )

    def carry(
        self, quantity: str, values: Mapping[str, object], unit_roundoff: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """The canonical value of state the target keeps but hides (Adam's moments), carried
        by the oracle to the next step, and the bound of how far the target's own copy may be
        from it: this step's rounding at ``unit_roundoff`` on top of the drift of the state it
        started from (the ``<name>_drift`` inputs of :attr:`carried` leaves)."""
        # Quantities given are taken as given (a gradient with the L2 term already in it).
        given = frozenset({quantity, *(name for name in values if name in self.definer)})
        chain = self.chain(quantity, given)
        canonical = tuple(sorted((spec_id, self.spec(spec_id).canonical.id) for spec_id in chain))
        return self.predictor(quantity, canonical, given)(
            {**values, "unit_roundoff": unit_roundoff}
        )

    @functools.cached_property
    def fingerprint(self) -> str:
        """What the programs compiled for this graph depend on: every form of every spec (as
        ``srepr``, with its symbols' assumptions), the renames, and the code that lowers,
        bounds and prints them (:func:`program_code`) with the SymPy and NumPy versions."""
        parts = [*program_code(), repr(sorted(self.carried)), repr(sorted(self.coefficients))]
        for spec_id, use in self.uses.items():
            parts += [spec_id, repr(sorted(use.rename.items())), repr(use.spec.axes)]
            for variant in use.spec.variants:
                relations = sorted(
                    (sp.srepr(lhs), sp.srepr(rhs)) for lhs, rhs in variant.relations.items()
                )
                parts += [variant.id, str(variant.rounding_of), repr(relations)]
        return cache.key(parts)


#: Compiled predictors on disk (:class:`~.cache.DiskCache`), as checked program sources.
PROGRAMS = cache.DiskCache("programs")


@functools.cache
def program_code() -> tuple[str, ...]:
    """The versions and the source of the modules that shape a compiled predictor."""
    from . import compiler, rounding, straightline

    modules = (compiler, rounding, straightline, sys.modules[__name__])
    return cache.source_texts(
        [Path(str(module.__file__)) for module in modules],
        versions=[f"sympy {sp.__version__}", f"numpy {np.__version__}"],
    )


def _returned(function: CompiledFunction) -> int:
    """How many values a generated program (checked: one function ending in a return)
    returns."""
    (definition,) = ast.parse(function.source).body
    assert isinstance(definition, ast.FunctionDef)
    statement = definition.body[-1]
    assert isinstance(statement, ast.Return)
    return len(statement.value.elts) if isinstance(statement.value, ast.Tuple) else 1


def _stored_predictor(stored_key: str) -> Predictor | None:
    """The predictor stored under ``stored_key``, or None when there is none or it is not a
    program this code could have generated (then it is rebuilt and stored again)."""
    entry = PROGRAMS.get(stored_key)
    if entry is None:
        return None
    try:
        return Predictor.from_data(entry)
    except (KeyError, TypeError, ValueError, SyntaxError):
        return None


def _is_random(expr: sp.Basic) -> bool:
    from sympy.stats.rv import RandomSymbol

    return bool(expr.atoms(RandomSymbol)) or isinstance(expr, RandomSymbol)
