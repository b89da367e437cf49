r"""Array form for the EECS 182 specs: exponentials, cumulative products and step functions.

The LayerNorm and optimizer specs need only sums, products and roots, which
:mod:`eqconform.verify.compiler` and :mod:`eqconform.verify.rounding` cover. The EECS 182 specs
add three things:

- ``exp`` (softmax attention, eq. (8) and (10) of Homework 7, Q5);
- a product over an index up to the quantity's own index, :math:`\alpha_t = \prod_{s=1}^{t}
  (1 - \beta_s)` (Final Exam, Q10), which is a *cumulative* product along that index's axis and
  lowers to :class:`CumProdAxis`;
- the unit step ``Heaviside(x, 1)`` (argmax attention, Homework 7, Q4), which is decided by the
  sign of its argument.

:class:`ExtendedSpecGraph` is a :class:`~eqconform.verify.graph.SpecGraph` whose specs may use
them. Its rounding-error bounds extend the running error analysis of
:mod:`eqconform.verify.rounding` with one rule for each (see :class:`_ExtendedBuilder`); the
value is still the spec compiled with ``sympy.lambdify``. :func:`unrolled_predictor` compiles
expressions written for explicit sizes (a spec instantiated with ``doit()`` for a concrete
``N``), for specs whose indices cannot all be laid out along distinct axes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp
from eqconform.specs.model import Spec, Variant

from . import rounding
from .compiler import CompiledFunction, compile_expressions, compile_program
from .graph import Combination, Predictor, SpecGraph, SpecUse

__all__ = [
    "CumCountAxis",
    "CumProdAxis",
    "ExtendedSpecGraph",
    "UnrolledPredictor",
    "arrayable",
    "bound_program",
    "rewrite_products",
    "unrolled_predictor",
]

u = rounding.UNIT_ROUNDOFF


class CumProdAxis(sp.Function):
    """``CumProdAxis(f, axis)``: the running product of ``f`` along ``axis`` (``numpy.cumprod``),
    the array form of :math:`\\prod_{s=1}^{t} f_s` at every ``t``."""

    nargs = 2

    def _numpycode(self, printer: Any) -> str:
        body, axis = self.args
        return f"numpy.cumprod({printer.doprint(body)}, axis={int(axis)})"


class CumCountAxis(sp.Function):
    """``CumCountAxis(f, axis)``: how many factors a running product along ``axis`` has at each
    entry (1, 2, 3, ...), broadcast to the shape of ``f``."""

    nargs = 2

    def _numpycode(self, printer: Any) -> str:
        body, axis = self.args
        return f"numpy.cumsum(numpy.ones_like(numpy.asarray({printer.doprint(body)}, dtype=float)), axis={int(axis)})"


def rewrite_products(expr: sp.Expr, axes: Mapping[sp.Symbol, int]) -> sp.Expr:
    """Replace every ``Product(f, (s, 1, t))`` whose index ``s`` and upper limit ``t`` run along
    the same axis by ``CumProdAxis(f, axis)``. Any other product is left for the compiler to
    reject."""

    def visit(node: sp.Basic) -> sp.Basic:
        if isinstance(node, sp.Product) and len(node.limits) == 1:
            index, low, high = node.limits[0]
            if low == 1 and index in axes and high in axes and axes[index] == axes[high]:
                body = visit(node.function).xreplace({index: high})
                return CumProdAxis(body, sp.Integer(axes[index]))
        if not node.args:
            return node
        return node.func(*(visit(arg) for arg in node.args))

    return visit(expr)


def arrayable(spec: Spec) -> Spec:
    """A copy of ``spec`` whose cumulative products are :class:`CumProdAxis` nodes (so that
    :func:`~eqconform.verify.compiler.lower` can put it in array form)."""
    variants = tuple(
        dataclasses.replace(variant, relations={lhs: rewrite_products(rhs, spec.axes)
                                                for lhs, rhs in variant.relations.items()})
        for variant in spec.variants
    )
    return dataclasses.replace(spec, variants=variants)


class _ExtendedBuilder(rounding._Builder):
    r"""The running error analysis of :mod:`eqconform.verify.rounding` plus:

    - ``exp(a)``: :math:`|e^a| (e^{e(a)} - 1) + 2u |e^a| e^{e(a)}` (the argument's error,
      amplified, then one correctly rounded ``exp`` allowing one ulp);
    - ``CumProdAxis(a)`` at position t: the product rule over the first t factors,
      :math:`\prod (|a_s| + e(a_s)) - \prod |a_s| + (t - 1) u \prod (|a_s| + e(a_s))`;
    - ``Heaviside(a, 1)``: 0 where :math:`|a| > e(a)` (the sign is certain), else 1 (the step may
      have gone either way).
    """

    def _rule(self, expr: sp.Expr) -> sp.Expr:
        if expr in self.leaf_errors:
            return self.leaf_errors[expr]
        if isinstance(expr, sp.exp):
            (argument,) = expr.args
            magnitude = self._abs(expr)
            growth = sp.exp(self.error(argument))
            return magnitude * (growth - 1) + 2 * u * magnitude * growth
        if isinstance(expr, CumProdAxis):
            body, axis = expr.args
            magnitude, error = self._abs(body), self.error(body)
            widened = CumProdAxis(magnitude + error, axis)
            return widened - CumProdAxis(magnitude, axis) + u * (CumCountAxis(magnitude, axis) - 1) * widened
        if isinstance(expr, CumCountAxis):
            return sp.Integer(0)
        if isinstance(expr, sp.Heaviside):
            argument = expr.args[0]
            return sp.Heaviside(self.error(argument) - sp.Abs(self.value(argument)), 1)
        return super()._rule(expr)


def bound_program(expressions: Sequence[sp.Expr], recomputable: Mapping[sp.Symbol, sp.Expr] | None = None,
                  leaf_errors: Mapping[sp.Symbol, sp.Expr] | None = None) -> tuple[tuple[tuple[sp.Symbol, sp.Expr], ...], tuple[sp.Expr, ...]]:
    """Assignments and one error bound per expression (sharing the analysis of common nodes).

    ``recomputable`` is as for :func:`~eqconform.verify.rounding.error_bound_program`;
    ``leaf_errors`` gives leaves an error of their own (an input the checker computed, with the
    bound of that computation as another input).
    """
    builder = _ExtendedBuilder()
    for symbol, from_inputs in (recomputable or {}).items():
        builder.leaf_errors[symbol] = builder.error(from_inputs) + u * sp.Abs(symbol)
    for symbol, error in (leaf_errors or {}).items():
        builder.leaf_errors[symbol] = error
    errors = tuple(builder.error(expr) for expr in expressions)
    return tuple(builder.assignments), errors


class ExtendedSpecGraph(SpecGraph):
    """A spec graph whose specs may use ``exp``, cumulative products and ``Heaviside``."""

    def __init__(self, uses: Sequence[SpecUse]):
        super().__init__([SpecUse(arrayable(use.spec), use.rename) for use in uses])

    def predictor(self, quantity: str, combination: Combination, observed: frozenset[str]) -> Predictor:
        key = (quantity, combination, observed)
        compiled = self._compiled.get(key)
        if compiled is None:
            expr = self.expression(quantity, combination, observed)
            assignments, (error,) = bound_program((expr,), self._recomputable(expr, dict(combination)))
            compiled = Predictor(compile_expressions((expr,)), compile_program(assignments, (error,)))
            self._compiled[key] = compiled
        return compiled


@dataclasses.dataclass(frozen=True)
class UnrolledPredictor:
    """Values and error bounds of several expressions in scalar symbols (one per entry of a
    row), evaluated on arrays of rows."""

    value: CompiledFunction
    bound: CompiledFunction

    def __call__(self, values: Mapping[str, object]) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        return self.value(values), self.bound(values)


def unrolled_predictor(expressions: Sequence[sp.Expr], leaf_errors: Mapping[sp.Symbol, sp.Expr] | None = None) -> UnrolledPredictor:
    """Compile explicit-size expressions (a spec after ``subs`` and ``doit``) with their bounds."""
    assignments, errors = bound_program(expressions, leaf_errors=leaf_errors)
    return UnrolledPredictor(compile_expressions(tuple(expressions)), compile_program(assignments, errors))


def single_variant(spec: Spec) -> Variant:
    """The only variant of a spec (the EECS 182 specs document one form each)."""
    (variant,) = spec.variants
    return variant
