r"""Scale laws and pre-LN stacks: UC Berkeley EECS 182 Final Exam (Spring 2023), Q12(a), (c),
(d), (e), (f).

With LN = h(f(x)) as in :mod:`eqconform.specs.layernorm_exam` (no epsilon, no affine parameters):

- (a) the demeaning f is linear: :math:`f(a x) = a f(x)`, and its backward pass does not depend
  on x, so :math:`\|f(a x)\| = a\|f(x)\|` and :math:`\|g^{(x')}\| = \|g^{(x)}\|`;
- (c) the normalizing h is scale-invariant: :math:`h(a z) = h(z)` and
  :math:`g^{(z')} = g^{(z)} / a`, so :math:`\|g^{(z')}\| = \|g^{(z)}\| / a`;
- together, for a > 0: :math:`\mathrm{LN}(a x) = \mathrm{LN}(x)` and the gradient with respect to
  the input scales by 1/a (checked on implementations);
- (d) a post-LN layer (Type 1) and a pre-LN layer (Type 2) differ: with identity blocks the
  first maps a normalized input to itself, the second to three times it;
- (e) a stack of L pre-LN layers whose attention and feed-forward blocks are the identity maps
  a normalized input (mean 0, norm :math:`\sqrt d`) to :math:`x^{(\ell)} = (2\ell + 1) x^{(0)}`;
- (f) eq. (23): with :math:`\|g^{(L)}\| = \sqrt d`,
  :math:`\|g^{(\ell)}\| \le \frac{2L + 1}{2\ell + 1} \sqrt d`.

Rows are indexed by ``i`` (axis 0) and features by ``j`` (axis 1), as in the exam's specs.

The proofs hold for a symbolic row length d: :func:`~eqconform.specs.sums.sum_normal_form`
reduces sums over a symbolic range by linearity, Fubini and KroneckerDelta sifting. They fall
back to explicit row lengths only when it does not settle a case.
"""

from __future__ import annotations

import sympy as sp

from . import layernorm_exam as ex
from .model import (
    GENERAL,
    Claim,
    ProofOutcome,
    ProofStatus,
    Spec,
    SymbolInfo,
    finite_scope,
    single_form_spec,
)
from .sources import EECS182_FINAL_DOCUMENT, exam
from .sums import SumRule, UnsupportedSum, fresh_bound, substitute, sum_normal_form

__all__ = [
    "CLAIMS",
    "ERRATA",
    "GRAD_BOUND",
    "GRAD_SCALE",
    "OUTPUT_SCALE",
    "PRENORM_FORWARD",
    "SPECS",
]

i, j = sp.symbols("i j", integer=True, positive=True)
AXES = {i: 0, j: 1}
y, gx, ys, gxs = (
    sp.IndexedBase("y"),
    sp.IndexedBase("gx"),
    sp.IndexedBase("ys"),
    sp.IndexedBase("gxs"),
)
x0, xl = sp.IndexedBase("x0"), sp.IndexedBase("xl")
a = sp.Symbol("a", positive=True)
lyr, nlayers = (
    sp.Symbol("lyr", integer=True, positive=True),
    sp.Symbol("nlayers", integer=True, positive=True),
)
d = sp.Symbol("d", integer=True, positive=True)
gbound = sp.Symbol("gbound", positive=True)

SYMBOLS = {
    "y": SymbolInfo(y, "LN(x)", display="y"),
    "gx": SymbolInfo(
        gx, "gradient of LN(x) with respect to x, for upstream gradient g^(y)", display="g^(x)"
    ),
    "ys": SymbolInfo(ys, "LN(a x)", display="y'"),
    "gxs": SymbolInfo(gxs, "gradient of LN at a x, same upstream gradient g^(y)", display="g^(x')"),
    "a": SymbolInfo(a, "scale of the input", sp.Interval.open(0, sp.oo), "a"),
    "x0": SymbolInfo(
        x0, "input of the stack: each row has mean 0 and norm sqrt(d)", display="x^(0)"
    ),
    "xl": SymbolInfo(xl, "output of layer l of the stack", display="x^(l)"),
    "lyr": SymbolInfo(lyr, "layer index l", sp.S.Naturals, "l"),
    "nlayers": SymbolInfo(nlayers, "number of layers L", sp.S.Naturals, "L"),
    "d": SymbolInfo(d, "row length", sp.S.Naturals),
    "gbound": SymbolInfo(
        gbound, "bound on ||g^(l)|| when ||g^(L)|| = sqrt(d)", sp.Interval.open(0, sp.oo), "B_l"
    ),
}


def _spec(
    id: str,
    title: str,
    section: str,
    equation: str | None,
    names: tuple[str, ...],
    relations: dict,
    statement: str = "",
) -> Spec:
    return single_form_spec(
        id,
        title,
        exam(section, equation),
        "ln_scaling",
        SYMBOLS,
        names,
        relations,
        AXES,
        statement=statement,
    )


OUTPUT_SCALE = _spec(
    "ln_scaling.output_scale",
    "LayerNorm is scale-invariant: LN(a x) = LN(x)",
    "Q12(a), (c)",
    "f(x') = a f(x) then h(z') = h(z)",
    ("ys", "y"),
    {ys[i, j]: y[i, j]},
    "for every a > 0, with LN = h(f(x)) as in Q12 (no epsilon)",
)
GRAD_SCALE = _spec(
    "ln_scaling.grad_scale",
    "LayerNorm's input gradient scales as 1/a",
    "Q12(a), (c)",
    "g^(x') = g^(x) through f, g^(z') = g^(z)/a through h",
    ("gxs", "gx", "a"),
    {gxs[i, j]: gx[i, j] / a},
    "same upstream gradient g^(y) at x and at a x",
)
PRENORM_FORWARD = _spec(
    "ln_scaling.prenorm_forward",
    "Pre-LN stack with identity blocks: x^(l) = (2l + 1) x^(0)",
    "Q12(e)",
    "x^(l) as a function of l and x^(0)",
    ("xl", "lyr", "x0"),
    {xl[i, j]: (2 * lyr + 1) * x0[i, j]},
    "each layer maps x to x + LN(x) + LN(x + LN(x)); x^(0) has mean 0 and norm sqrt(d)",
)
GRAD_BOUND = _spec(
    "ln_scaling.grad_bound",
    "Gradient-norm bound in a pre-LN stack with identity blocks",
    "Q12(f)",
    "(23)",
    ("gbound", "nlayers", "lyr", "d"),
    {gbound: (2 * nlayers + 1) / (2 * lyr + 1) * sp.sqrt(d)},
    "||g^(l)||_2 <= B_l for l = 1..L when ||g^(L)||_2 = sqrt(d) (an inequality: checked as one)",
)

SPECS = (OUTPUT_SCALE, GRAD_SCALE, PRENORM_FORWARD, GRAD_BOUND)

# The row lengths d at which the proofs instantiate the exam's specs when the proof for a symbolic
# d does not settle them (the layer indices l and L stay symbolic).
#: The scale law of f is checked at d = 1..DEMEAN_LAW_MAX_D, that of h at
#: d = 1..NORMALIZE_LAW_MAX_D.
DEMEAN_LAW_MAX_D = 6
NORMALIZE_LAW_MAX_D = 5
#: LN(k x0) = x0 at d = 2..PRENORM_FORWARD_MAX_D; the Jacobian I + P/k at d = 2..GRAD_BOUND_MAX_D.
PRENORM_FORWARD_MAX_D = 5
GRAD_BOUND_MAX_D = 4
#: The row lengths at which Lemma 1's projections are checked.
LEMMA1_WIDTHS = range(2, 5)


# ---------------------------------------------------------------------------------------------
# The exam's f and h for a symbolic row length d.

#: The free feature indices of the exam's specs (j and k of the Jacobians) run over 1..d.
_FEATURES = {ex.j: (sp.Integer(1), ex.d), ex.k: (sp.Integer(1), ex.d)}
#: The scale of the stack's inputs k x^(0) (k = 2l + 1 > 0 at layer l).
_STACK_SCALE = sp.Symbol("k", positive=True)


def _definition(spec: Spec) -> tuple[sp.Indexed, sp.Expr]:
    ((quantity, definition),) = spec.canonical.relations.items()
    return quantity, definition


def _entry(expr: sp.Expr, row: sp.Expr, col: sp.Expr) -> sp.Expr:
    """Entry (row, col) of a d x d spec stated at (j, k)."""
    return fresh_bound(expr).xreplace({ex.j: row, ex.k: col})


def _square(expr: sp.Expr) -> sp.Expr:
    """Entry (j, k) of M M for the d x d matrix M stated at (j, k)."""
    inner = sp.Symbol("v", integer=True, positive=True)
    return sp.Sum(_entry(expr, ex.j, inner) * _entry(expr, inner, ex.k), (inner, 1, ex.d))


def _mean_zero_row(
    var: sp.Symbol, low: sp.Expr, high: sp.Expr, involved: sp.Expr
) -> sp.Expr | None:
    """The rows of x^(0): sum_v x0[i, v] = 0 (mean 0) and sum_v x0[i, v]^2 = d (norm sqrt(d))."""
    if (low, high) != (1, ex.d):
        return None
    if involved == x0[i, var]:
        return sp.Integer(0)
    if involved == x0[i, var] ** 2:
        return ex.d
    return None


def _gap(label: str, expr: sp.Expr, rules: tuple[SumRule, ...] = ()) -> str:
    """'' when ``expr`` vanishes for a symbolic d (its sum normal form is 0), else why the proof
    in general stops there."""
    try:
        form = sum_normal_form(expr, _FEATURES, rules)
    except UnsupportedSum as error:
        return f"{label}: {error}"
    return "" if form == 0 else f"{label} reduces to {form}, not 0"


def _gaps(*gaps: str) -> str:
    return "; ".join(gap for gap in gaps if gap)


def _stack_input(expr: sp.Expr) -> sp.Expr:
    """``expr`` at x = k x^(0)."""
    return substitute(expr, ex.x[ex.i, ex.j], _STACK_SCALE * x0[ex.i, ex.j])


def _not_general(gap: str) -> str:
    return f" Not proved for a symbolic d ({gap}), so checked at these sizes only."


# ---------------------------------------------------------------------------------------------
# The exam's f and h at explicit sizes (the proofs' fallback).


def _relation(spec: Spec) -> sp.Expr:
    (relation,) = spec.canonical.relations.values()
    return relation


def _row_values(
    spec: Spec,
    width: int,
    rows: dict,
    norm_squared: sp.Expr | None = None,
    other: int | None = None,
) -> list[sp.Expr]:
    """The spec's relation for every feature of one row of ``width``, with ``rows`` (IndexedBase ->
    list of values) substituted; ``norm_squared`` replaces the row's sum of squares when given."""
    relation = _relation(spec)
    if norm_squared is not None:
        relation = relation.replace(
            lambda node: isinstance(node, sp.Sum), lambda node: norm_squared
        )
    values = []
    for col in range(1, width + 1):
        bound = {ex.i: 1, ex.j: col, ex.d: width} | ({ex.k: other} if other is not None else {})
        expr = relation.subs(bound).doit()
        expr = expr.xreplace(
            {base[1, c]: row[c - 1] for base, row in rows.items() for c in range(1, width + 1)}
        )
        values.append(expr)
    return values


# ---------------------------------------------------------------------------------------------
# The proofs: for a symbolic d first, at the explicit sizes above when that does not settle them
# (a refutation then names the size of its counterexample).


def _demean_law_gap() -> str:
    _, plain = _definition(ex.DEMEAN)
    scaled = substitute(plain, ex.x[ex.i, ex.j], a * ex.x[ex.i, ex.j])
    backward = "eq. (17) involves x" if _relation(ex.DEMEAN_GRAD).has(ex.x) else ""
    return _gaps(_gap("f(a x) - a f(x)", scaled - a * plain), backward)


def _prove_demean_law(max_width: int = DEMEAN_LAW_MAX_D) -> ProofOutcome:
    gap = _demean_law_gap()
    if not gap:
        return ProofOutcome(
            ProofStatus.PROVED,
            "symbolic d: layernorm_exam.demean at a x, with a pulled out of Sum_k a x_k "
            "(linearity), against a times layernorm_exam.demean at x; eq. (17) has no x",
            "f(a x) = a f(x) entrywise for every row length d, so ||f(a x)|| = a ||f(x)||; eq. "
            "(17) does not involve x, so g^(x') = g^(x) (choices 2 and 4)",
            scope=GENERAL,
        )
    widths = range(1, max_width + 1)
    for width in widths:
        xs = [sp.Symbol(f"x_{c}", real=True) for c in range(1, width + 1)]
        gz = [sp.Symbol(f"g_{c}", real=True) for c in range(1, width + 1)]
        plain = _row_values(ex.DEMEAN, width, {ex.x: xs})
        scaled = _row_values(ex.DEMEAN, width, {ex.x: [a * value for value in xs]})
        backward = _row_values(ex.DEMEAN_GRAD, width, {ex.gz: gz, ex.x: xs})
        if any(sp.expand(s_ - a * p_) != 0 for s_, p_ in zip(scaled, plain, strict=True)):
            return ProofOutcome(
                ProofStatus.REFUTED,
                "f(a x) against a f(x)",
                f"differs at d = {width}",
                scope=finite_scope(d=[width]),
            )
        if any(expr.free_symbols & set(xs) for expr in backward):
            return ProofOutcome(
                ProofStatus.REFUTED,
                "eq. (17) depends on x",
                f"at d = {width}",
                scope=finite_scope(d=[width]),
            )
    return ProofOutcome(
        ProofStatus.PROVED,
        "layernorm_exam.demean at a x against a times layernorm_exam.demean at x; free symbols of "
        "eq. (17)",
        "f(a x) = a f(x) entrywise, so ||f(a x)|| = a ||f(x)||; eq. (17) does not involve x, so "
        f"g^(x') = g^(x) (choices 2 and 4), for every d = 1..{max_width}." + _not_general(gap),
        scope=finite_scope(d=widths),
    )


def _normalize_law_gap() -> str:
    _, forward = _definition(ex.NORMALIZE)
    _, backward = _definition(ex.NORMALIZE_GRAD)

    def scaled(expr: sp.Expr) -> sp.Expr:
        return substitute(expr, ex.z[ex.i, ex.j], a * ex.z[ex.i, ex.j])

    return _gaps(
        _gap("h(a z) - h(z)", scaled(forward) - forward),
        _gap("g^(z') - g^(z) / a", scaled(backward) - backward / a),
    )


def _prove_normalize_law(max_width: int = NORMALIZE_LAW_MAX_D) -> ProofOutcome:
    gap = _normalize_law_gap()
    if not gap:
        return ProofOutcome(
            ProofStatus.PROVED,
            "symbolic d: layernorm_exam.normalize and layernorm_exam.normalize_grad at a z, with "
            "a^2 pulled out of Sum_r (a z_r)^2 and a out of Sum_k a z_k g_k (linearity), against "
            "z",
            "h(a z) = h(z) and g^(z') = g^(z) / a entrywise for every row length d and real z != 0 "
            "(sqrt(a^2 ||z||^2) = a ||z|| for a > 0), so ||h(z')|| = ||h(z)|| and ||g^(z')|| = "
            "||g^(z)|| / a (choices 1 and 6)",
            scope=GENERAL,
        )
    widths = range(1, max_width + 1)
    for width in widths:
        zs = [sp.Symbol(f"z_{c}", real=True) for c in range(1, width + 1)]
        gy = [sp.Symbol(f"g_{c}", real=True) for c in range(1, width + 1)]
        scaled_z = [a * value for value in zs]
        pairs = [
            (
                _row_values(ex.NORMALIZE, width, {ex.z: scaled_z}),
                _row_values(ex.NORMALIZE, width, {ex.z: zs}),
                1,
            ),
            (
                _row_values(ex.NORMALIZE_GRAD, width, {ex.z: scaled_z, ex.gy: gy}),
                _row_values(ex.NORMALIZE_GRAD, width, {ex.z: zs, ex.gy: gy}),
                1 / a,
            ),
        ]
        for scaled, plain, factor in pairs:
            if any(
                sp.simplify(sp.factor_terms(s_) - factor * p_) != 0
                for s_, p_ in zip(scaled, plain, strict=True)
            ):
                return ProofOutcome(
                    ProofStatus.REFUTED,
                    "h and eq. (22) at a z against z",
                    f"differs at d = {width}",
                    scope=finite_scope(d=[width]),
                )
    return ProofOutcome(
        ProofStatus.PROVED,
        "layernorm_exam.normalize and layernorm_exam.normalize_grad at a z against z "
        "(sympy.simplify)",
        "h(a z) = h(z) and g^(z') = g^(z) / a entrywise, so ||h(z')|| = ||h(z)|| and ||g^(z')|| = "
        f"||g^(z)|| / a (choices 1 and 6), for every d = 1..{max_width} with real z (z != 0)."
        + _not_general(gap),
        scope=finite_scope(d=widths),
    )


def _constrained_row(width: int) -> tuple[list[sp.Symbol], list[sp.Expr], sp.Expr]:
    """x^(0) with mean 0 (the last entry eliminated); returns the free symbols, the row and
    sum x0^2."""
    free = [sp.Symbol(f"u_{c}", real=True) for c in range(1, width)]
    row = free + [-sum(free)]
    return free, row, sp.expand(sum(value**2 for value in row))


def _stack_identity_gap() -> str:
    """'' when f(k x0) = k x0 and LN(k x0) = x0 for a symbolic d, from the exam's specs and the
    row facts sum x0 = 0, sum x0^2 = d."""
    _, demean = _definition(ex.DEMEAN)
    demeaned = _stack_input(demean)
    _, normalize = _definition(ex.NORMALIZE)
    normalized = substitute(normalize, ex.z[ex.i, ex.j], demeaned)
    rules = (_mean_zero_row,)
    return _gaps(
        _gap("f(k x0) - k x0", demeaned - _STACK_SCALE * x0[ex.i, ex.j], rules),
        _gap("LN(k x0) - x0", normalized - x0[ex.i, ex.j], rules),
    )


def _finite_stack_identity(widths: range) -> ProofOutcome | None:
    """The stack identity LN(k x0) = x0 at each width: None if it holds at all of them."""
    scale = _STACK_SCALE
    norm_squared = sp.Symbol("nsq", positive=True)
    for width in widths:
        _free, row, squares = _constrained_row(width)
        demeaned = _row_values(ex.DEMEAN, width, {ex.x: [scale * value for value in row]})
        if any(
            sp.expand(value - scale * original) != 0
            for value, original in zip(demeaned, row, strict=True)
        ):
            return ProofOutcome(
                ProofStatus.REFUTED,
                "f(k x0)",
                f"is not k x0 at d = {width}",
                scope=finite_scope(d=[width]),
            )
        actual_norm = sp.expand(sum(value**2 for value in demeaned))
        if sp.expand(actual_norm - scale**2 * squares) != 0:
            return ProofOutcome(
                ProofStatus.REFUTED,
                "||f(k x0)||^2",
                f"is not k^2 ||x0||^2 at d = {width}",
                scope=finite_scope(d=[width]),
            )
        normalized = _row_values(ex.NORMALIZE, width, {ex.z: demeaned}, norm_squared)
        at_constraint = [value.subs(norm_squared, scale**2 * width) for value in normalized]
        if any(
            sp.simplify(value - original) != 0
            for value, original in zip(at_constraint, row, strict=True)
        ):
            return ProofOutcome(
                ProofStatus.REFUTED,
                "LN(k x0)",
                f"is not x0 at d = {width}",
                scope=finite_scope(d=[width]),
            )
    return None


def _prove_prenorm_forward(max_width: int = PRENORM_FORWARD_MAX_D) -> ProofOutcome:
    """LN(k x0) = x0 for k > 0 when x0 has mean 0 and norm sqrt(d), from the exam's specs; so
    x -> x + LN(x) maps k x0 to (k + 1) x0, and layer l outputs the input of operator 2l + 1."""
    gap = _stack_identity_gap()
    widths = range(2, max_width + 1)
    if gap:
        refuted = _finite_stack_identity(widths)
        if refuted is not None:
            return refuted
    count = sp.Function("c")
    step = sp.Symbol("n", integer=True, positive=True)
    solution = sp.rsolve(count(step + 1) - count(step) - 1, count(step), {count(1): 1})
    layer_output = solution.subs(step, 2 * lyr + 1)
    ok = sp.simplify(layer_output * x0[i, j] - _relation(PRENORM_FORWARD)) == 0
    layer_output = layer_output.subs(lyr, sp.Symbol("l", integer=True, positive=True))
    stack = (
        "symbolic d: layernorm_exam.demean and layernorm_exam.normalize at k x0, sums reduced "
        "with Sum_j x0_j = 0 and Sum_j x0_j^2 = d"
        if not gap
        else "layernorm_exam.demean and layernorm_exam.normalize at k x0 with x0 of mean 0 (last "
        "entry eliminated) and ||x0||^2 = d"
    )
    sizes = "every d" if not gap else f"d = 2..{max_width}"
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        f"{stack}; then sympy.rsolve of c(n + 1) = c(n) + 1, c(1) = 1 for the input c(n) x0 of "
        "the n-th map x -> x + LN(x)",
        f"LN(k x0) = x0 for every k > 0 and {sizes}; the n-th map's input is {solution} x0, and "
        f"layer l's output is the input of map 2l + 1: ({layer_output}) x0"
        + ("." + _not_general(gap) if gap else ""),
        # The layer index is symbolic (sympy.rsolve); d is symbolic unless the fallback ran. A
        # refutation here is the symbolic recurrence, at no particular d.
        scope=("" if not ok else GENERAL if not gap else finite_scope(d=widths)),
    )


def _demean_jacobian(width: int) -> sp.Matrix:
    """Eq. (16) of layernorm_exam as a width x width matrix."""
    relation = _relation(ex.DEMEAN_JACOBIAN)
    return sp.Matrix(
        width, width, lambda r_, c_: relation.subs({ex.j: r_ + 1, ex.k: c_ + 1, ex.d: width})
    )


def _projection(row: list[sp.Expr], width: int) -> sp.Matrix:
    ones = sp.ones(width, 1)
    column = sp.Matrix(row)
    return sp.eye(width) - ones * ones.T / width - column * column.T / width


def _residual_projection() -> sp.Expr:
    """Entry (j, k) of P = I - 1 1^T / d - x0 x0^T / d, the projection off span(1, x0)."""
    return sp.KroneckerDelta(ex.j, ex.k) - 1 / ex.d - x0[ex.i, ex.j] * x0[ex.i, ex.k] / ex.d


def _stack_jacobian_gap() -> str:
    """'' when, for a symbolic d, the Jacobian of x -> x + LN(x) at k x0 is I + P/k (from
    (16) and (21), J_h taken at f(k x0)) and P is symmetric and idempotent."""
    _, demean = _definition(ex.DEMEAN)
    _, jf = _definition(ex.DEMEAN_JACOBIAN)
    _, jh = _definition(ex.NORMALIZE_JACOBIAN)
    jh = substitute(jh, ex.z[ex.i, ex.j], _stack_input(demean))
    inner = sp.Symbol("v", integer=True, positive=True)
    product = sp.Sum(_entry(jh, ex.j, inner) * _entry(jf, inner, ex.k), (inner, 1, ex.d))
    projection = _residual_projection()
    rules = (_mean_zero_row,)
    return _gaps(
        _gap("k (J - I) - P", _STACK_SCALE * product - projection, rules),
        _gap("P P - P", _square(projection) - projection, rules),
        _gap("P - P^T", projection - _entry(projection, ex.k, ex.j)),
    )


def _finite_stack_jacobian(widths: range) -> ProofOutcome | None:
    """The Jacobian of x -> x + LN(x) at k x0 at each width: None if it is I + P/k with P a
    symmetric projection at all of them."""
    scale = _STACK_SCALE
    norm_squared = sp.Symbol("nsq", positive=True)
    for width in widths:
        _free, row, squares = _constrained_row(width)
        jf = _demean_jacobian(width)
        z = [scale * value for value in row]
        jh = sp.Matrix(
            [
                _row_values(ex.NORMALIZE_JACOBIAN, width, {ex.z: z}, norm_squared, other=c_ + 1)
                for c_ in range(width)
            ]
        ).T
        jacobian = sp.eye(width) + (jh * jf).subs(norm_squared, scale**2 * width)
        projection = _projection(row, width)
        if (scale * (jacobian - sp.eye(width)) - projection).applyfunc(
            lambda e: sp.cancel(sp.expand(e))
        ) != sp.zeros(width, width):
            return ProofOutcome(
                ProofStatus.REFUTED,
                "the Jacobian of x + LN(x) at k x0",
                f"is not I + P/k at d = {width}",
                scope=finite_scope(d=[width]),
            )
        column = sp.Matrix(row)
        idempotent = (
            projection * projection - projection - (squares - width) * column * column.T / width**2
        )
        if idempotent.applyfunc(sp.expand) != sp.zeros(width, width) or projection != projection.T:
            return ProofOutcome(
                ProofStatus.REFUTED,
                "P is an orthogonal projection",
                f"fails at d = {width}",
                scope=finite_scope(d=[width]),
            )
    return None


#: The stack at which ln_scaling.grad_bound.tight evaluates g^(l) from the Jacobian specs: L
#: layers, layer l, at row lengths d = 2 (the bound is strict) and d = 3 (it is attained).
TIGHTNESS_STACK = {"L": 2, "l": 1}
TIGHTNESS_WIDTHS = (2, 3)


def _normalized_row(width: int) -> list[sp.Expr]:
    """An input x^(0) of the stack: sqrt(d/2) (e_1 - e_2), mean 0 and norm sqrt(d)."""
    half = sp.sqrt(sp.Rational(width, 2))
    return [half, -half] + [sp.Integer(0)] * (width - 2)


def _attaining_upstream(width: int) -> list[sp.Expr]:
    """g^(L) of norm sqrt(d) orthogonal to 1 and to _normalized_row (d >= 3): sqrt(d/6) (1, 1,
    -2, 0, ...); at d = 2 no nonzero vector is orthogonal to both, so (1, 1) stands in."""
    if width == 2:
        return [sp.Integer(1), sp.Integer(1)]
    scale = sp.sqrt(sp.Rational(width, 6))
    return [scale, scale, -2 * scale] + [sp.Integer(0)] * (width - 3)


def _stack_gradient(
    row: list[sp.Expr], upstream: list[sp.Expr], layers: int, layer: int
) -> sp.Expr:
    """||g^(layer)|| backward from g^(L) = ``upstream`` through the maps x -> x + LN(x) of
    operators 2L .. 2l + 1, each Jacobian I + J_h J_f from the exam's specs (16), (21) at its
    input k x^(0) (Lemma 2: the input of operator k is k x^(0))."""
    width = len(row)
    gradient = sp.Matrix(upstream)
    for operator in range(2 * layers, 2 * layer, -1):
        demeaned = _row_values(ex.DEMEAN, width, {ex.x: [operator * value for value in row]})
        jh = sp.Matrix(
            [
                _row_values(ex.NORMALIZE_JACOBIAN, width, {ex.z: demeaned}, other=c_ + 1)
                for c_ in range(width)
            ]
        ).T
        jacobian = sp.eye(width) + jh * _demean_jacobian(width)
        gradient = (jacobian.T * gradient).applyfunc(sp.simplify)
    return sp.sqrt(sp.simplify(sum(value**2 for value in gradient)))


def _projection_rank_gap() -> str:
    """'' when tr P = d - 2 for a symbolic d (P = I - 11^T/d - x0 x0^T/d, Sum x0 = 0, Sum x0^2 =
    d): P is an orthogonal projection, so its rank is d - 2."""
    inner = sp.Symbol("v", integer=True, positive=True)
    projection = _residual_projection()
    trace = sp.Sum(_entry(projection, inner, inner), (inner, 1, ex.d))
    return _gap("tr P - (d - 2)", trace - (ex.d - 2), (_mean_zero_row,))


def _prove_grad_bound(max_width: int = GRAD_BOUND_MAX_D) -> ProofOutcome:
    """The Jacobian of x -> x + LN(x) at k x0 is I + P/k with P the projection off span(1, x0)
    (from the exam's Jacobian specs (16), (21)); backward through maps 2l+1 .. 2L multiplies the
    component of g^(L) in P's range by prod (1 + 1/k) = (2L+1)/(2l+1) and leaves the rest.

    The bound is attained exactly when g^(L) can lie in P's range, of dimension tr P = d - 2:
    for d >= 3. At d = 2, P = 0, every g^(l) is g^(L) and the bound is strict for l < L; both
    are shown on g^(l) evaluated from the Jacobian specs (TIGHTNESS_STACK)."""
    gap = _stack_jacobian_gap()
    widths = range(2, max_width + 1)
    if gap:
        refuted = _finite_stack_jacobian(widths)
        if refuted is not None:
            return refuted
    rank_gap = _projection_rank_gap()
    if rank_gap:
        # tr P at normalized rows of the fallback's widths instead.
        for width in widths:
            projection = _projection(_normalized_row(width), width)
            if sp.simplify(projection.trace() - (width - 2)) != 0:
                return ProofOutcome(
                    ProofStatus.REFUTED,
                    "tr P at a normalized row",
                    f"is {projection.trace()}, not d - 2, at d = {width}",
                    scope=finite_scope(d=[width]),
                )
    index = sp.Symbol("kk", integer=True, positive=True)
    growth = sp.simplify(sp.product((index + 1) / index, (index, 2 * lyr + 1, 2 * nlayers)))
    bound = sp.simplify(growth * sp.sqrt(d))
    ok = sp.simplify(bound - _relation(GRAD_BOUND)) == 0
    layers, layer = TIGHTNESS_STACK["L"], TIGHTNESS_STACK["l"]
    evaluated = {
        width: (
            _stack_gradient(_normalized_row(width), _attaining_upstream(width), layers, layer),
            _relation(GRAD_BOUND).subs({nlayers: layers, lyr: layer, d: width}),
        )
        for width in TIGHTNESS_WIDTHS
    }
    strict, attained = (evaluated[width] for width in TIGHTNESS_WIDTHS)
    shape = (
        sp.simplify(attained[0] - attained[1]) == 0
        and sp.simplify(strict[0] - sp.sqrt(TIGHTNESS_WIDTHS[0])) == 0
        and bool(strict[0] < strict[1])
    )
    ok = ok and shape
    shown = {
        lyr: sp.Symbol("l", integer=True, positive=True),
        nlayers: sp.Symbol("L", integer=True, positive=True),
    }
    growth, bound = growth.subs(shown), bound.subs(shown)
    jacobians = (
        "symbolic d: Jacobians (16), (21) of layernorm_exam at f(k x0), composed as Sum_v "
        "J_h[j, v] J_f[v, k] and reduced with KroneckerDelta sifting, Sum_j x0_j = 0 and Sum_j "
        "x0_j^2 = d"
        if not gap
        else "Jacobians (16), (21) of layernorm_exam at k x0 (mean 0, ||x0||^2 = d), composed "
        "symbolically"
    )
    general = not gap and not rank_gap
    sizes = "every d >= 2" if general else f"d = 2..{max_width}"
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        f"{jacobians}; tr P in sum normal form; sympy.product of the per-map factors; g^(l) "
        f"evaluated through the Jacobian specs at L = {layers}, l = {layer}, d = "
        f"{', '.join(map(str, TIGHTNESS_WIDTHS))}",
        f"for {sizes} the Jacobian of x -> x + LN(x) at k x0 is I + P/k, P = I - 11^T/d - x0 "
        "x0^T/d a symmetric projection (P P = P) of rank tr P = d - 2. Hence g^(l) = (I - P) "
        f"g^(L) + c P g^(L) with c = prod_(k=2l+1)^(2L) (1 + 1/k) = {growth}, and ||g^(l)||^2 = "
        f"||(I - P) g^(L)||^2 + c^2 ||P g^(L)||^2 <= c^2 d: the bound {bound} of eq. (23) holds, "
        "with equality for l < L exactly when g^(L) is orthogonal to 1 and x0. Such a g^(L) "
        "exists exactly when d >= 3; at d = 2, P = 0 and g^(l) = g^(L), so the bound is strict "
        f"for l < L. At L = {layers}, l = {layer}: ||g^(l)|| = {attained[0]} against the bound "
        f"{attained[1]} at d = {TIGHTNESS_WIDTHS[1]} (g^(L) = sqrt(d/6)(1, 1, -2), x0 = "
        f"sqrt(d/2)(1, -1, 0)), and {strict[0]} against {strict[1]} at d = "
        f"{TIGHTNESS_WIDTHS[0]}" + ("." + _not_general(gap or rank_gap) if not general else ""),
        # l and L are symbolic (sympy.product); d is symbolic (d >= 2: a row of mean 0 and norm
        # sqrt(d) needs two entries) unless the fallback ran. A refutation here is the symbolic
        # product or the evaluated stack, at no particular d.
        scope=("" if not ok else GENERAL if general else finite_scope(d=widths)),
    )


def _lemma1_projections_gap() -> str:
    """'' when (||z||/sqrt(d)) J_h (21) and J_f (16) are symmetric and idempotent for a
    symbolic d."""
    _, jh = _definition(ex.NORMALIZE_JACOBIAN)
    norm = sp.sqrt(sp.Sum(ex.z[ex.i, ex.r] ** 2, (ex.r, 1, ex.d)))
    scaled = jh * norm / sp.sqrt(ex.d)
    _, jf = _definition(ex.DEMEAN_JACOBIAN)
    return _gaps(
        *(
            _gaps(
                _gap(f"{name} {name} - {name}", _square(matrix) - matrix),
                _gap(f"{name} - {name}^T", matrix - _entry(matrix, ex.k, ex.j)),
            )
            for name, matrix in (("(||z||/sqrt(d)) J_h", scaled), ("J_f", jf))
        )
    )


def _finite_lemma1_projections() -> ProofOutcome | None:
    for width in LEMMA1_WIDTHS:
        zs = [sp.Symbol(f"z_{c}", real=True) for c in range(1, width + 1)]
        norm_squared = sp.Symbol("nsq", positive=True)
        columns = [
            _row_values(ex.NORMALIZE_JACOBIAN, width, {ex.z: zs}, norm_squared, other=c_ + 1)
            for c_ in range(width)
        ]
        jh = sp.Matrix(columns).T * sp.sqrt(norm_squared) / sp.sqrt(width)
        column = sp.Matrix(zs)
        squared = (
            jh * jh
            - jh
            - (sum(v**2 for v in zs) - norm_squared) * column * column.T / norm_squared**2
        )
        if squared.applyfunc(sp.expand) != sp.zeros(width, width) or jh != jh.T:
            return ProofOutcome(
                ProofStatus.REFUTED,
                "(||z||/sqrt(d)) J_h is an orthogonal projection",
                f"d = {width}",
                scope=finite_scope(d=[width]),
            )
        jf = _demean_jacobian(width)
        if jf * jf != jf or jf != jf.T:
            return ProofOutcome(
                ProofStatus.REFUTED,
                "J_f is an orthogonal projection",
                f"d = {width}",
                scope=finite_scope(d=[width]),
            )
    return None


def _prove_lemma1() -> ProofOutcome:
    """Lemma 1 of Q12(f) with ||f(x)|| (the demeaned input) holds: the backward pass is (17)
    after (22), a product of two orthogonal projections scaled by sqrt(d)/||z||. As printed, with
    ||x||, it fails for inputs with a nonzero mean at d >= 3 (ln_scaling.lemma1_attained; at d =
    2 the backward pass is 0); a counterexample at d = 3 from the exam's own specs."""
    gap = _lemma1_projections_gap()
    if gap:
        refuted = _finite_lemma1_projections()
        if refuted is not None:
            return refuted
    xs = [1 + sp.Rational(1, 10), 1 - sp.Rational(1, 10), sp.Integer(1)]
    upstream = [sp.Integer(1), sp.Integer(1), sp.Integer(-2)]
    demeaned = _row_values(ex.DEMEAN, 3, {ex.x: xs})
    through_h = _row_values(ex.NORMALIZE_GRAD, 3, {ex.z: demeaned, ex.gy: upstream})
    through_f = _row_values(ex.DEMEAN_GRAD, 3, {ex.gz: through_h})

    def norm(values: list[sp.Expr]) -> sp.Expr:
        return sp.sqrt(sum(v**2 for v in values))

    gradient, printed = sp.nsimplify(norm(through_f)), sp.sqrt(3) / norm(xs) * norm(upstream)
    corrected = sp.sqrt(3) / norm(demeaned) * norm(upstream)
    fails = sp.N(gradient - printed) > 0 and sp.N(corrected - gradient) >= 0
    widths = LEMMA1_WIDTHS
    projections = (
        "symbolic d: J_h of layernorm_exam (21) scaled by ||z||/sqrt(d) and J_f (16) are "
        "symmetric idempotent (Sum_v M[j, v] M[v, k] = M[j, k], reduced with KroneckerDelta "
        "sifting)"
        if not gap
        else "J_h of layernorm_exam (21) scaled by ||z||/sqrt(d) and J_f (16) are symmetric "
        f"idempotent (d = {widths.start}..{widths.stop - 1})"
    )
    return ProofOutcome(
        ProofStatus.PROVED if fails else ProofStatus.REFUTED,
        f"{projections}, so the backward pass (17)(22) has norm at most sqrt(d)/||z|| ||g^(y)||; "
        "a counterexample evaluated exactly",
        f"At x = (11/10, 9/10, 1), g^(y) = (1, 1, -2): ||g^(x)|| = {gradient}, above the printed "
        f"bound sqrt(d)/||x|| ||g^(y)|| = {sp.nsimplify(printed)} (~{float(printed):.3f}) and "
        f"within sqrt(d)/||f(x)|| ||g^(y)|| = {sp.nsimplify(corrected)}. Where (f) applies the "
        "lemma the inputs k x^(0) have mean 0, so ||f(x)|| = ||x|| and the bound (23) stands."
        + (_not_general(gap) if gap else ""),
        # Proved: the projections for a symbolic d (or at LEMMA1_WIDTHS). Refuted: the
        # counterexample, at d = len(xs).
        scope=(
            finite_scope(d=[len(xs)])
            if not fails
            else GENERAL
            if not gap
            else finite_scope(d=widths)
        ),
    )


def _demeaned_row(var: sp.Symbol, low: sp.Expr, high: sp.Expr, involved: sp.Expr) -> sp.Expr | None:
    """sum_v z[i, v] = 0 for z = f(x) (the gap "Sum_j f(x)_j" of :func:`_lemma1_rank_gap` shows
    it from layernorm_exam.demean)."""
    if (low, high) == (1, ex.d) and involved == ex.z[ex.i, var]:
        return sp.Integer(0)
    return None


def _lemma1_rank_gap() -> str:
    """'' when, for a symbolic d, (||z||/sqrt(d)) J_f J_h at z = f(x) is P_z = I - 11^T/d -
    z z^T/||z||^2, a symmetric idempotent of trace d - 2, and ||x||^2 = ||f(x)||^2 + d mean(x)^2."""
    inner = sp.Symbol("v", integer=True, positive=True)
    _, demean = _definition(ex.DEMEAN)
    _, jh = _definition(ex.NORMALIZE_JACOBIAN)
    _, jf = _definition(ex.DEMEAN_JACOBIAN)
    squares = sp.Sum(ex.z[ex.i, ex.r] ** 2, (ex.r, 1, ex.d))
    backward = (
        sp.Sum(_entry(jf, ex.j, inner) * _entry(jh, inner, ex.k), (inner, 1, ex.d))
        * sp.sqrt(squares)
        / sp.sqrt(ex.d)
    )
    projection = (
        sp.KroneckerDelta(ex.j, ex.k) - 1 / ex.d - ex.z[ex.i, ex.j] * ex.z[ex.i, ex.k] / squares
    )
    rules = (_demeaned_row,)
    at = {ex.j: inner}
    return _gaps(
        _gap("Sum_j f(x)_j", sp.Sum(fresh_bound(demean).xreplace(at), (inner, 1, ex.d))),
        _gap("(||z||/sqrt(d)) J_f J_h - P_z", backward - projection, rules),
        _gap("P_z P_z - P_z", _square(projection) - projection, rules),
        _gap("P_z - P_z^T", projection - _entry(projection, ex.k, ex.j)),
        _gap(
            "tr P_z - (d - 2)",
            sp.Sum(_entry(projection, inner, inner), (inner, 1, ex.d)) - (ex.d - 2),
            rules,
        ),
        _gap(
            "||x||^2 - ||f(x)||^2 - (Sum x)^2 / d",
            sp.Sum(ex.x[ex.i, inner] ** 2, (inner, 1, ex.d))
            - sp.Sum(fresh_bound(demean).xreplace(at) ** 2, (inner, 1, ex.d))
            - sp.Sum(ex.x[ex.i, inner], (inner, 1, ex.d)) ** 2 / ex.d,
        ),
    )


def _backward_at(width: int, xs: list[sp.Expr], upstream: list[sp.Expr]) -> list[sp.Expr]:
    """g^(x) of one row through (22) then (17), at z = f(x), evaluated from the exam's specs."""
    demeaned = _row_values(ex.DEMEAN, width, {ex.x: xs})
    through_h = _row_values(ex.NORMALIZE_GRAD, width, {ex.z: demeaned, ex.gy: upstream})
    return [sp.simplify(v) for v in _row_values(ex.DEMEAN_GRAD, width, {ex.gz: through_h})]


def _prove_lemma1_attained() -> ProofOutcome:
    """Lemma 1 with ||f(x)|| is attained exactly when d >= 3, and at d = 2 LN's backward pass is
    identically 0: so the printed Lemma 1 (with ||x||) fails at every d >= 3 for every x of
    nonzero mean, and holds at d = 2."""
    gap = _lemma1_rank_gap()
    xs = list(sp.symbols("x_1:3", real=True))
    gs = list(sp.symbols("g_1:3", real=True))
    at_two = _backward_at(2, xs, gs)
    zero_at_two = all(value == 0 for value in at_two)
    # d = 3, x = (11/10, 9/10, 1): f(x) = (1/10, -1/10, 0); g^(y) = (1, 1, -2) is orthogonal to 1
    # and f(x), so it lies in P_z's range and the corrected bound is attained.
    three = [1 + sp.Rational(1, 10), 1 - sp.Rational(1, 10), sp.Integer(1)]
    upstream = [sp.Integer(1), sp.Integer(1), sp.Integer(-2)]
    demeaned = _row_values(ex.DEMEAN, 3, {ex.x: three})

    def norm(values: list[sp.Expr]) -> sp.Expr:
        return sp.sqrt(sum(v**2 for v in values))

    gradient = sp.nsimplify(norm(_backward_at(3, three, upstream)))
    corrected = sp.sqrt(3) / norm(demeaned) * norm(upstream)
    attained = sp.simplify(gradient - corrected) == 0
    ok = zero_at_two and attained
    if ok and gap:
        return ProofOutcome(
            ProofStatus.NOT_PROVED,
            "LN's backward pass as a projection, for a symbolic d",
            f"{gap}; at d = 2 g^(x) = {at_two}, at d = 3 ||g^(x)|| = {gradient} against "
            f"{corrected}",
        )
    if not ok:
        return ProofOutcome(
            ProofStatus.REFUTED,
            "(22) and (17) of layernorm_exam evaluated at d = 2 (symbolic x, g^(y)) and d = 3",
            f"at d = 2 g^(x) = {at_two}{'' if zero_at_two else ' (not 0)'}; at d = 3, x = (11/10, "
            f"9/10, 1), g^(y) = (1, 1, -2): ||g^(x)|| = {gradient} against sqrt(d)/||f(x)|| "
            f"||g^(y)|| = {corrected}",
            scope=finite_scope(d=[2] if not zero_at_two else [3]),
        )
    return ProofOutcome(
        ProofStatus.PROVED,
        "symbolic d: (||z||/sqrt(d)) J_f J_h from (16), (21) at z = f(x) in sum normal form "
        "(Sum_j f(x)_j = 0 from layernorm_exam.demean), its square, transpose and trace, and "
        "||x||^2 - ||f(x)||^2; then (22) and (17) evaluated at d = 2 (symbolic x, g^(y)) and d = 3",
        f"for every d >= 2 the backward pass of LN is g^(x) = sqrt(d)/||f(x)|| P_z g^(y), P_z = "
        "I - 11^T/d - z z^T/||z||^2 (z = f(x)) an orthogonal projection of rank tr P_z = d - 2: "
        "Lemma 1 with ||f(x)|| holds with equality exactly for g^(y) in P_z's range, which is "
        "nonzero exactly when d >= 3 (at d = 3, x = (11/10, 9/10, 1), g^(y) = (1, 1, -2): "
        f"||g^(x)|| = {gradient} = sqrt(d)/||f(x)|| ||g^(y)||). Since ||x||^2 = ||f(x)||^2 + d "
        "mean(x)^2, the printed bound sqrt(d)/||x|| ||g^(y)|| is then exceeded for every x of "
        "nonzero mean (not constant) at every d >= 3. At d = 2, P_z = 0: g^(x) = "
        f"{at_two} for every non-constant x and every g^(y), so the printed Lemma 1 holds "
        "there, trivially. At d = 1 f(x) = 0 and LN is undefined",
        # Proved for a symbolic d (the evidence at d = 2, 3 only illustrates it).
        scope=GENERAL,
    )


def _prove_type1_type2() -> ProofOutcome:
    """Q12(d): post-LN (Type 1) and pre-LN (Type 2) layers differ. With identity attention and
    feed-forward blocks (as in (e)), at a normalized x0 Type 1 gives LN(2 LN(2 x0)) = x0 by
    LN(k x0) = x0 (k = 2, twice), while Type 2 gives x^(1) of ln_scaling.prenorm_forward."""
    gap = _stack_identity_gap()
    widths = range(2, PRENORM_FORWARD_MAX_D + 1)
    if gap:
        refuted = _finite_stack_identity(widths)
        if refuted is not None:
            return refuted
    post = x0[i, j]
    pre = _relation(PRENORM_FORWARD).subs(lyr, 1)
    # x0 has norm sqrt(d) > 0, so a difference c x0 is nonzero exactly when c is.
    scale = sp.simplify((pre - post) / x0[i, j])
    ok = not scale.free_symbols and scale != 0
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        (
            "symbolic d: LN(k x0) = x0 for every k > 0 from layernorm_exam.demean and "
            "layernorm_exam.normalize (sums reduced with Sum_j x0_j = 0, Sum_j x0_j^2 = d)"
            if not gap
            else f"LN(k x0) = x0 at d = {widths.start}..{widths.stop - 1}"
        )
        + "; Type 1 (x -> LN(x + block(x)) twice) at x0, against ln_scaling.prenorm_forward "
        "at l = 1",
        f"with identity blocks Type 1 maps x0 to {post} and Type 2 to {pre}: they differ by "
        f"{scale} x0 != 0 (||x0|| = sqrt(d)), so the two layers are not mathematically "
        "equivalent (choice 6)" + ("." + _not_general(gap) if gap else ""),
        scope=("" if not ok else GENERAL if not gap else finite_scope(d=widths)),
    )


CLAIMS = (
    Claim(
        "ln_scaling.demean_scale_law",
        "||f(a x)|| = a ||f(x)|| and ||g^(x')|| = ||g^(x)|| (choices 2 and 4)",
        exam("Q12(a)"),
        (OUTPUT_SCALE.id, GRAD_SCALE.id, ex.DEMEAN.id, ex.DEMEAN_GRAD.id),
        _prove_demean_law,
    ),
    Claim(
        "ln_scaling.normalize_scale_law",
        "||h(a z)|| = ||h(z)|| and ||g^(z')|| = ||g^(z)|| / a (choices 1 and 6)",
        exam("Q12(c)"),
        (OUTPUT_SCALE.id, GRAD_SCALE.id, ex.NORMALIZE.id, ex.NORMALIZE_GRAD.id),
        _prove_normalize_law,
    ),
    Claim(
        "ln_scaling.prenorm_forward.induction",
        "With identity blocks, x^(l) = (2l + 1) x^(0)",
        exam("Q12(e)", "Lemma 2"),
        (PRENORM_FORWARD.id, ex.DEMEAN.id, ex.NORMALIZE.id),
        _prove_prenorm_forward,
    ),
    Claim(
        "ln_scaling.grad_bound.tight",
        "||g^(l)|| <= (2L + 1)/(2l + 1) sqrt(d); for l < L attained (g^(L) orthogonal to 1 and "
        "x^(0)) exactly when d >= 3, strict at d = 2",
        exam("Q12(f)", "(23)"),
        (GRAD_BOUND.id, ex.DEMEAN_JACOBIAN.id, ex.NORMALIZE_JACOBIAN.id),
        _prove_grad_bound,
    ),
    Claim(
        "ln_scaling.lemma1_demeaned",
        "Lemma 1 holds with ||f(x)||, the demeaned input's norm, in place of ||x||",
        exam("Q12(f)", "Lemma 1"),
        (GRAD_BOUND.id, ex.NORMALIZE_GRAD.id, ex.DEMEAN_GRAD.id),
        _prove_lemma1,
    ),
    Claim(
        "ln_scaling.lemma1_attained",
        "Lemma 1 with ||f(x)|| is attained exactly when d >= 3; at d = 2 LN's backward pass is 0, "
        "so the printed Lemma 1 holds there",
        exam("Q12(f)", "Lemma 1"),
        (GRAD_BOUND.id, ex.NORMALIZE_JACOBIAN.id, ex.DEMEAN_JACOBIAN.id, ex.DEMEAN.id),
        _prove_lemma1_attained,
    ),
    Claim(
        "ln_scaling.type1_type2_differ",
        "Type 1 (post-LN) and Type 2 (pre-LN) layers are not mathematically equivalent",
        exam("Q12(d)"),
        (PRENORM_FORWARD.id, ex.DEMEAN.id, ex.NORMALIZE.id),
        _prove_type1_type2,
    ),
)


ERRATA = (
    {
        "id": "ln_scaling.q12f_lemma1",
        "specs": ("ln_scaling.grad_bound",),
        "document": EECS182_FINAL_DOCUMENT,
        "location": "Q12(f), Lemma 1 (given without proof)",
        "says": "if y = LN(x), then ||dL/dx|| <= sqrt(d)/||x|| ||dL/dy||",
        "resolution": "True with ||x - mean(x) 1|| = ||f(x)|| in place of ||x||; as printed it "
        "fails at every row length d >= 3 for every non-constant x of nonzero mean, for some "
        "g^(y) (proof ln_scaling.lemma1_demeaned: at x = (1.1, 0.9, 1), g^(y) = (1, 1, -2) the "
        "gradient norm is 30 against a printed bound near 2.44; proof ln_scaling.lemma1_attained "
        "for every d >= 3). At d = 2 the printed lemma holds: LN's backward pass is 0 there "
        "(ln_scaling.lemma1_attained). The exam applies it only to inputs k x^(0) of mean 0, "
        "where the two agree, so eq. (23) is right (ln_scaling.grad_bound.tight).",
    },
    {
        "id": "ln_scaling.q12f_norms",
        "specs": ("ln_scaling.grad_bound",),
        "document": EECS182_FINAL_DOCUMENT,
        "location": "Q12(f), solution, proof of Lemma 3",
        "says": "the downstream gradient 'is at most g^(f) + sqrt(d)/||x|| g^(f)', then 'g^(x) <= "
        "...', and the base case names the last layer's gradient g*",
        "resolution": "Norm bars are missing (a vector is compared with a number): the step is "
        "||g^(x)|| <= (1 + sqrt(d)/||x||) ||g^(f)||, by the triangle inequality and Lemma 1; g* "
        "is g^(L). With them the induction gives (2L + 1)/k sqrt(d); ln_scaling.grad_bound.tight "
        "proves the bound, attained for d >= 3 (g^(L) orthogonal to 1 and x^(0)) and strict for "
        "l < L at d = 2, where no such g^(L) exists.",
    },
)
