r"""LayerNorm as demean ``f`` then normalize ``h``: UC Berkeley EECS 182 Final Exam, Q12.

For a row :math:`x \in \mathbb{R}^d` (no epsilon, no affine parameters):

.. math::

    z = f(x) = (I - \tfrac1d \mathbf 1 \mathbf 1^\top) x \;(15), \qquad
    \frac{\partial z}{\partial x} = I - \tfrac1d \mathbf 1 \mathbf 1^\top \;(16), \qquad
    g^{(x)} = (I - \tfrac1d \mathbf 1 \mathbf 1^\top) g^{(z)} \;(17)

    y = h(z) = \sqrt d\, z / \|z\|_2 \;(18), \qquad
    \frac{\partial y}{\partial z}
        = \frac{\sqrt d}{\|z\|_2}\Big(I - \frac{z z^\top}{\|z\|_2^2}\Big) \;(21),
    \qquad g^{(z)} = \frac{\sqrt d}{\|z\|_2}\Big(I - \frac{z z^\top}{\|z\|_2^2}\Big) g^{(y)} \;(22)

Rows are indexed by ``i`` (axis 0) and features by ``j``, ``k`` (axis 1), as for
:mod:`eqconform.specs.layernorm`. The Jacobians (16) and (21) are d x d per row; they are checked
by proof only, as is the elementwise form of Q12(b),
:math:`g^{(z)}_j = (\sigma^2)^{-3/2} (g^{(y)}_j \sigma^2 - \frac1d z_j \sum_k g^{(y)}_k z_k)`
with :math:`\sigma^2 = \frac1d \|z\|_2^2`. Eq. (17) blocks the DC component of the upstream
gradient (:math:`\mathbf 1^\top g^{(x)} = 0`), and eq. (22) its component along z
(:math:`z^\top g^{(z)} = 0`).
"""

from __future__ import annotations

import sympy as sp

from . import layernorm as hw
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
from .sources import exam
from .sums import (
    SumsAsSymbols,
    UnsupportedSum,
    replace_entries,
    residual_is_zero,
    sum_normal_form,
    vanishes_modulo_roots,
)

__all__ = ["CLAIMS", "NORMALIZE_GRAD_ELEMENTWISE", "SPECS"]

i, j, k, r = sp.symbols("i j k r", integer=True, positive=True)
d = sp.Symbol("d", integer=True, positive=True)
AXES = {i: 0, j: 1, k: 1, r: 1}
x, z, y = sp.IndexedBase("x"), sp.IndexedBase("z"), sp.IndexedBase("y")
gx, gz, gy = sp.IndexedBase("gx"), sp.IndexedBase("gz"), sp.IndexedBase("gy")
Jf, Jh = sp.IndexedBase("Jf"), sp.IndexedBase("Jh")

SYMBOLS = {
    "x": SymbolInfo(x, "input row", display="x"),
    "z": SymbolInfo(z, "demeaned row", display="z"),
    "y": SymbolInfo(y, "normalized row", display="y"),
    "gx": SymbolInfo(gx, "gradient with respect to x", display="g^(x)"),
    "gz": SymbolInfo(gz, "gradient with respect to z", display="g^(z)"),
    "gy": SymbolInfo(gy, "upstream gradient with respect to y", display="g^(y)"),
    "Jf": SymbolInfo(Jf, "Jacobian dz/dx, d x d", display="J_f"),
    "Jh": SymbolInfo(Jh, "Jacobian dy/dz, d x d", display="J_h"),
    "d": SymbolInfo(d, "row length", sp.S.Naturals),
}

_Q12 = "Q12"


def _norm_squared(row: sp.IndexedBase) -> sp.Expr:
    return sp.Sum(row[i, r] ** 2, (r, 1, d))


def _spec(
    id: str,
    title: str,
    equation: str,
    names: tuple[str, ...],
    relation: dict,
    *,
    proof_only: bool = False,
    statistical: bool = False,
) -> Spec:
    return single_form_spec(
        id,
        title,
        exam(_Q12, equation),
        "layernorm_exam",
        SYMBOLS,
        names,
        relation,
        AXES,
        proof_only=proof_only,
        statistical=statistical,
    )


DEMEAN = _spec(
    "layernorm_exam.demean",
    "Demeaning f",
    "(15)",
    ("z", "x", "d"),
    {z[i, j]: x[i, j] - sp.Sum(x[i, k], (k, 1, d)) / d},
)
DEMEAN_JACOBIAN = _spec(
    "layernorm_exam.demean_jacobian",
    "Jacobian of the demeaning f",
    "(16)",
    ("Jf", "d"),
    {Jf[j, k]: sp.KroneckerDelta(j, k) - sp.Integer(1) / d},
    proof_only=True,
)
DEMEAN_GRAD = _spec(
    "layernorm_exam.demean_grad",
    "Backpropagation through f",
    "(17)",
    ("gx", "gz", "d"),
    {gx[i, j]: gz[i, j] - sp.Sum(gz[i, k], (k, 1, d)) / d},
)
NORMALIZE = _spec(
    "layernorm_exam.normalize",
    "Normalizing h",
    "(18)",
    ("y", "z", "d"),
    {y[i, j]: sp.sqrt(d) * z[i, j] / sp.sqrt(_norm_squared(z))},
)
NORMALIZE_JACOBIAN = _spec(
    "layernorm_exam.normalize_jacobian",
    "Jacobian of the normalizing h",
    "(21)",
    ("Jh", "z", "d"),
    {
        Jh[j, k]: sp.sqrt(d)
        / sp.sqrt(_norm_squared(z))
        * (sp.KroneckerDelta(j, k) - z[i, j] * z[i, k] / _norm_squared(z))
    },
    proof_only=True,
)
NORMALIZE_GRAD = _spec(
    "layernorm_exam.normalize_grad",
    "Backpropagation through h",
    "(22)",
    ("gz", "gy", "z", "d"),
    {
        gz[i, j]: sp.sqrt(d)
        / sp.sqrt(_norm_squared(z))
        * (gy[i, j] - z[i, j] * sp.Sum(z[i, k] * gy[i, k], (k, 1, d)) / _norm_squared(z))
    },
)


def _mean_square(row: sp.IndexedBase) -> sp.Expr:
    """sigma^2 = (1/d) sum_r row_r^2, the square of the normalizer's sigma (line 7 of h)."""
    return _norm_squared(row) / d


NORMALIZE_GRAD_ELEMENTWISE = _spec(
    "layernorm_exam.normalize_grad_elementwise",
    "Backpropagation through h, element by element in sigma^2",
    "part (b), elementwise solution, after simplification",
    ("gz", "gy", "z", "d"),
    {
        gz[i, j]: _mean_square(z) ** sp.Rational(-3, 2)
        * (gy[i, j] * _mean_square(z) - z[i, j] * sp.Sum(gy[i, k] * z[i, k], (k, 1, d)) / d)
    },
    proof_only=True,
)

SPECS = (
    DEMEAN,
    DEMEAN_JACOBIAN,
    DEMEAN_GRAD,
    NORMALIZE,
    NORMALIZE_JACOBIAN,
    NORMALIZE_GRAD,
    NORMALIZE_GRAD_ELEMENTWISE,
)
#: Specs stated for d x d Jacobians: settled by proof, not evaluated on implementations.

#: When a proof at symbolic d does not go through, the Jacobians (16) and (21) are compared
#: entry by entry at every d = 1..these instead (which finds the size of a counterexample).
DEMEAN_JACOBIAN_MAX_D = 8
NORMALIZE_JACOBIAN_MAX_D = 6
#: Likewise, (17) after (22) is compared with the homework's eq. (7) at every d = 2..this.
MATCHES_HOMEWORK_MAX_D = 6
#: The Jacobian entry (p, q) the proofs at symbolic d compare: d output p by d input q.
p, q = sp.symbols("p q", integer=True, positive=True)


def _row(name: str, width: int, real: bool = True) -> list[sp.Symbol]:
    return [sp.Symbol(f"{name}_{col}", real=real) for col in range(1, width + 1)]


def _instantiate(
    spec: Spec,
    width: int,
    col: int,
    rows: dict[sp.IndexedBase, list[sp.Symbol]],
    other: int | None = None,
) -> sp.Expr:
    (relation,) = spec.canonical.relations.values()
    bound = {i: 1, j: col, d: width} | ({k: other} if other is not None else {})
    expr = relation.subs(bound).doit()
    return expr.xreplace(
        {base[1, c]: rows[base][c - 1] for base in rows for c in range(1, width + 1)}
    )


def _relation(spec: Spec) -> sp.Expr:
    (relation,) = spec.canonical.relations.values()
    return relation


def _jacobian_general(forward: Spec, jacobian: Spec, source: sp.IndexedBase) -> str | None:
    """Entry (p, q) of the Jacobian by ``sympy.diff`` of the forward spec at symbolic d, minus
    the Jacobian spec's entry; ``None`` if the difference vanishes, else why it did not."""
    exact = sp.diff(_relation(forward).subs(j, p), source[i, q])
    claimed = _relation(jacobian).subs({j: p, k: q}, simultaneous=True)
    sums = SumsAsSymbols({p: d, q: d})
    try:
        residual = sums(exact) - sums(claimed)
    except UnsupportedSum as error:
        return f"SymPy's derivative has {error}"
    return None if vanishes_modulo_roots(residual) else "the residual is not identically zero"


def _jacobian_claim(
    forward: Spec,
    jacobian: Spec,
    source: sp.IndexedBase,
    max_width: int,
    condition: str,
    normalizes: bool = False,
) -> ProofOutcome:
    """The Jacobian spec is the derivative of the forward spec, for every d.

    Proved at symbolic d (:func:`_jacobian_general`); if that does not go through, every entry
    is compared with ``sympy.diff`` of the forward spec at d = 1..max_width. For the normalizer
    the inputs are then left without a realness assumption so that ``sqrt(z_1**2)`` is not
    folded into ``Abs(z_1)``; the norm is eliminated exactly as a positive symbol (see
    :func:`eqconform.specs.sums.residual_is_zero`).
    """
    general = _jacobian_general(forward, jacobian, source)
    if general is None:
        return ProofOutcome(
            ProofStatus.PROVED,
            f"symbolic d: sympy.diff of {forward.id} at entry (p, q), its Sums expanded by "
            "linearity and the KroneckerDelta(m, q) sums collapsed to m = q (1 <= q <= d), each "
            f"remaining Sum named by a symbol; minus {jacobian.id} at (p, q), the residual is "
            "the zero rational function (any square root written as a positive symbol)",
            f"exact for every d >= 1 and every entry (p, q){condition}",
            scope=GENERAL,
        )
    widths = range(1, max_width + 1)
    for width in widths:
        inputs = _row(str(source), width, real=not normalizes)
        rows = {source: inputs}
        radicand = sum(value**2 for value in inputs)
        outputs = [_instantiate(forward, width, col, rows) for col in range(1, width + 1)]
        for row_index in range(1, width + 1):
            for col_index in range(1, width + 1):
                exact = sp.diff(outputs[row_index - 1], inputs[col_index - 1])
                claimed = _instantiate(jacobian, width, row_index, rows, other=col_index)
                residual = exact - claimed
                vanishes = (
                    residual_is_zero(residual, radicand)
                    if normalizes
                    else sp.simplify(residual) == 0
                )
                if not vanishes:
                    return ProofOutcome(
                        ProofStatus.REFUTED,
                        f"sympy.diff of {forward.id} compared with {jacobian.id}",
                        f"entry ({row_index}, {col_index}) differs at d = {width}",
                        scope=finite_scope(d=[width]),
                    )
    return ProofOutcome(
        ProofStatus.PROVED,
        f"every entry of the Jacobian of {forward.id} by sympy.diff, compared with {jacobian.id}",
        f"exact for every d = 1..{max_width}{condition}; the proof at symbolic d does not go "
        f"through ({general})",
        scope=finite_scope(d=widths),
    )


def _prove_demean_jacobian() -> ProofOutcome:
    return _jacobian_claim(DEMEAN, DEMEAN_JACOBIAN, x, DEMEAN_JACOBIAN_MAX_D, "")


def _prove_normalize_jacobian() -> ProofOutcome:
    return _jacobian_claim(
        NORMALIZE,
        NORMALIZE_JACOBIAN,
        z,
        NORMALIZE_JACOBIAN_MAX_D,
        " (wherever z != 0)",
        normalizes=True,
    )


def _matches_homework_general() -> tuple[str | None, bool, bool]:
    """(17) after (22) against the homework's eq. (7) at entry p, for symbolic d.

    The homework's eq. (7) comes from its specs (:func:`eqconform.specs.layernorm.
    grad_input_entry`) with Z = z, G = g^(y), gamma = 1, beta = 0, eps = 0 and C = d. The
    demeaned input (1^T z = 0) is imposed by setting the named sum of z to zero. Returns why the
    composition does not reduce to eq. (7) (``None`` if it does), whether eq. (22) alone does
    not, and whether it does for a DC-free upstream gradient (the named sum of g^(y) zero too).
    """
    backward = _relation(NORMALIZE_GRAD)
    composed = replace_entries(
        _relation(DEMEAN_GRAD).subs(j, p),
        gz,
        lambda row, col: backward.subs({i: row, j: col}, simultaneous=True),
    )
    homework = hw.grad_input_entry(i, p)
    for base, value in ((hw.Z, z), (hw.G, gy)):
        homework = replace_entries(homework, base, lambda *at, value=value: value[at])
    for parameter, value in ((hw.gamma, 1), (hw.beta, 0)):
        homework = replace_entries(homework, parameter, lambda *_, value=value: sp.Integer(value))
    homework = homework.xreplace({hw.eps: 0, hw.C: d})
    sums = SumsAsSymbols({p: d})
    try:
        target = sums(homework)
        composed_residual, alone_residual = (
            sums(exam) - target for exam in (composed, backward.subs(j, p))
        )
    except UnsupportedSum as error:
        return f"SymPy's derivative has {error}", False, False
    demeaned = {sums.symbol(z[i, k], k, d): 0}
    dc_free = demeaned | {sums.symbol(gy[i, k], k, d): 0}
    if not vanishes_modulo_roots(composed_residual.xreplace(demeaned)):
        return "the residual is not identically zero", False, False
    return (
        None,
        not vanishes_modulo_roots(alone_residual.xreplace(demeaned)),
        vanishes_modulo_roots(alone_residual.xreplace(dc_free)),
    )


def _alone(alone_differs: bool, alone_ok_when_dc_free: bool) -> str:
    """What the detail says of eq. (22) alone against eq. (7)."""
    if not alone_differs:
        return "Eq. (22) alone also equals eq. (7)."
    if alone_ok_when_dc_free:
        return (
            "Eq. (22) alone differs from eq. (7) by sqrt(d)/||z|| * mean(g^(y)); it agrees when "
            "the upstream gradient sums to zero."
        )
    return "Eq. (22) alone differs from eq. (7), even for an upstream gradient summing to zero."


def _prove_matches_homework(max_width: int = MATCHES_HOMEWORK_MAX_D) -> ProofOutcome:
    r"""Eq. (17) after eq. (22) equals the homework's eq. (7) with gamma = 1, beta = 0, eps = 0.

    At a demeaned input (mu = 0) the homework's Zhat is the exam's y, and its dL/dZ must be
    the exam's g^(x) = (17)(22) g^(y). Eq. (22) alone differs from eq. (7) by
    sqrt(d) / ||z|| * mean(g^(y)), so the two agree on their own only for a DC-free upstream
    gradient; the detail reports both facts. Proved at symbolic d
    (:func:`_matches_homework_general`); if that does not go through, checked at every
    d = 2..max_width, which finds the size of a counterexample or proves those sizes only.
    """
    general, alone_differs, alone_ok_when_dc_free = _matches_homework_general()
    if general is None:
        return ProofOutcome(
            ProofStatus.PROVED,
            "symbolic d: homework eq. (7) from its specs (1)-(7) with gamma = 1, beta = 0, "
            "eps = 0, C = d, against the exam's (17) after (22) at entry p; every Sum expanded "
            "by linearity and named by a symbol, 1^T z = 0 imposed by setting the named sum of z "
            "to 0, the residual is the zero rational function once sqrt(d) and ||z|| are "
            "written as positive symbols",
            "every d >= 2 (the only demeaned row of length 1 is 0): (17)(22) equals eq. (7) "
            "exactly on every demeaned input z != 0. "
            + _alone(alone_differs, alone_ok_when_dc_free),
            scope=GENERAL,
        )
    composed_ok = alone_ok_when_dc_free = True
    alone_differs = False
    widths = range(2, max_width + 1)
    refuted_at: list[int] = []  # the sizes at which (17)(22) differs from eq. (7)
    for width in widths:
        zs, gs = _row("z", width), _row("g", width)
        constraint = {zs[-1]: -sum(zs[:-1])}  # a demeaned input
        dz = [
            _instantiate(NORMALIZE_GRAD, width, col, {z: zs, gy: gs}) for col in range(1, width + 1)
        ]
        dx = [_instantiate(DEMEAN_GRAD, width, col, {gz: dz}) for col in range(1, width + 1)]
        homework = _homework_grad(width, zs, gs)
        for col in range(width):
            if sp.simplify((dx[col] - homework[col]).subs(constraint)) != 0:
                composed_ok = False
                refuted_at.append(width)
            residual = sp.simplify((dz[col] - homework[col]).subs(constraint))
            alone_differs |= residual != 0
            dc_free = {gs[-1]: -sum(gs[:-1])}
            if sp.simplify(residual.subs(dc_free)) != 0:
                alone_ok_when_dc_free = False
    method = (
        "homework eqs. (1)-(7) instantiated with gamma = 1, beta = 0, eps = 0 at a symbolic "
        "demeaned row, compared with the exam's (17) after (22) by SymPy"
    )
    if not composed_ok:
        return ProofOutcome(
            ProofStatus.REFUTED,
            method,
            f"(17)(22) differs from eq. (7) on a demeaned input at {finite_scope(d=refuted_at)}",
            scope=finite_scope(d=refuted_at),
        )
    return ProofOutcome(
        ProofStatus.PROVED,
        method,
        f"d = 2..{max_width}: (17)(22) equals eq. (7) exactly on every demeaned input. "
        + _alone(alone_differs, alone_ok_when_dc_free)
        + f" The proof at symbolic d does not go through ({general}).",
        scope=finite_scope(d=widths),
    )


def _homework_grad(width: int, zs: list[sp.Symbol], gs: list[sp.Symbol]) -> list[sp.Expr]:
    """Homework eq. (7) for one row with gamma = 1, beta = 0, eps = 0, from the homework specs."""
    inputs, forward = hw.forward_row(width)
    (dzhat,) = hw.GRAD_NORMALIZED.canonical.relations.values()
    (grad,) = hw.GRAD_INPUT.canonical.relations.values()
    values = dict(zip(inputs, zs, strict=True))
    zhat = {
        hw.Zhat[1, c]: forward["Zhat"][c - 1].subs(hw.eps, 0).xreplace(values)
        for c in range(1, width + 1)
    }
    upstream = {
        hw.dLdZhat[1, c]: dzhat.subs({hw.i: 1, hw.j: c}).xreplace(
            {hw.G[1, c]: gs[c - 1], hw.gamma[c]: 1}
        )
        for c in range(1, width + 1)
    }
    variance = forward["sigma2"].xreplace(values)
    return [
        grad.subs({hw.i: 1, hw.j: c, hw.C: width})
        .doit()
        .xreplace(upstream)
        .xreplace(zhat)
        .xreplace({hw.sigma2[1]: variance})
        .subs(hw.eps, 0)
        for c in range(1, width + 1)
    ]


def _prove_dc_blocked() -> ProofOutcome:
    """Eq. (17) removes the DC component: a constant upstream gradient c 1 gives g^(x) = 0, and
    every g^(x) sums to zero (1^T g^(x) = 0), for a symbolic d."""
    dc = sp.Symbol("c", real=True)
    relation = _relation(DEMEAN_GRAD)
    constant = replace_entries(relation, gz, lambda *_: dc)
    column_sum = sp.Sum(relation, (j, 1, d))
    try:
        through = sum_normal_form(constant, {j: (sp.Integer(1), d)})
        total = sum_normal_form(column_sum)
    except UnsupportedSum as error:
        return ProofOutcome(ProofStatus.NOT_PROVED, "sum normal form of eq. (17)", str(error))
    ok = through == 0 and total == 0
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "symbolic d: layernorm_exam.demean_grad at g^(z) = c 1, and summed over j, in sum normal "
        "form (constants pulled out of the sums, Sum_k 1 = d)",
        f"g^(x) at g^(z) = c 1 is {through}; 1^T g^(x) = {total} for every g^(z): the DC "
        "component of the upstream gradient does not pass back through f",
        scope=GENERAL if ok else "",
    )


def _prove_orthogonal_to_z() -> ProofOutcome:
    """Eq. (22) removes the component along z: z . g^(z) = 0 for every g^(y), symbolic d."""
    total = sp.Sum(z[i, j] * _relation(NORMALIZE_GRAD), (j, 1, d))
    sums = SumsAsSymbols({})
    try:
        reduced = sums(total)
    except UnsupportedSum as error:
        return ProofOutcome(ProofStatus.NOT_PROVED, "named sums of z . g^(z)", str(error))
    ok = vanishes_modulo_roots(reduced)
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "symbolic d: Sum_j z_j g^(z)_j with g^(z) from layernorm_exam.normalize_grad, every Sum "
        "named by a symbol, the residual a rational function with ||z|| and sqrt(d) positive "
        "symbols",
        f"z . g^(z) = {sp.simplify(reduced)}"
        + (f" with {sums.describe(reduced)}" if reduced.free_symbols & sums.named.keys() else "")
        + (
            ": eq. (22) projects out the direction of z, so no gradient changes ||z|| (which h "
            "cannot see)"
            if ok
            else ""
        ),
        scope=GENERAL if ok else "",
    )


def _prove_elementwise() -> ProofOutcome:
    """The elementwise solution of Q12(b) (in sigma^2) is the chain rule through h (18) and equals
    eq. (22), entry q, for a symbolic d."""
    upstream = sp.Sum(gy[i, p] * sp.diff(_relation(NORMALIZE).subs(j, p), z[i, q]), (p, 1, d))
    elementwise = _relation(NORMALIZE_GRAD_ELEMENTWISE).subs(j, q)
    vector = _relation(NORMALIZE_GRAD).subs(j, q)
    sums = SumsAsSymbols({p: d, q: d})
    try:
        chain, printed, matrix = (sums(expr) for expr in (upstream, elementwise, vector))
    except UnsupportedSum as error:
        return ProofOutcome(ProofStatus.NOT_PROVED, "named sums of the chain rule", str(error))
    checks = {
        "the chain rule Sum_p g^(y)_p dy_p/dz_q of (18)": vanishes_modulo_roots(printed - chain),
        "eq. (22)": vanishes_modulo_roots(printed - matrix),
    }
    failed = [name for name, ok in checks.items() if not ok]
    return ProofOutcome(
        ProofStatus.REFUTED if failed else ProofStatus.PROVED,
        "symbolic d: sympy.diff of layernorm_exam.normalize contracted with g^(y), "
        "layernorm_exam.normalize_grad_elementwise and layernorm_exam.normalize_grad at entry q, "
        "every Sum named by a symbol (KroneckerDelta sums collapsed), residuals rational "
        "functions with roots as positive symbols",
        ("differs from " + ", ".join(failed))
        if failed
        else "the elementwise result (sigma^2)^(-3/2) (g^(y)_q sigma^2 - z_q Sum_j g^(y)_j z_j "
        "/ d) equals " + " and ".join(checks) + " for every d and z != 0",
        scope="" if failed else GENERAL,
    )


CLAIMS = (
    Claim(
        id="layernorm_exam.demean_jacobian.exact",
        title="Eq. (16) is the Jacobian of the demeaning f (15)",
        source=exam(_Q12, "(16)"),
        specs=(DEMEAN.id, DEMEAN_JACOBIAN.id),
        prove=_prove_demean_jacobian,
    ),
    Claim(
        id="layernorm_exam.normalize_jacobian.exact",
        title="Eq. (21) is the Jacobian of the normalizing h (18)",
        source=exam(_Q12, "(21)"),
        specs=(NORMALIZE.id, NORMALIZE_JACOBIAN.id),
        prove=_prove_normalize_jacobian,
    ),
    Claim(
        id="layernorm_exam.matches_homework_grad",
        title="The exam's backward pass (17) after (22) is the homework's eq. (7) with "
        "gamma = 1, beta = 0, eps = 0 on a demeaned input",
        source=exam(_Q12, "(17), (22)"),
        specs=(DEMEAN_GRAD.id, NORMALIZE_GRAD.id, "layernorm.grad_input"),
        prove=_prove_matches_homework,
    ),
    Claim(
        id="layernorm_exam.demean_grad.blocks_dc",
        title="Eq. (17) lets no DC component of the upstream gradient through",
        source=exam(_Q12, "(17)"),
        specs=(DEMEAN_GRAD.id,),
        prove=_prove_dc_blocked,
    ),
    Claim(
        id="layernorm_exam.normalize_grad.orthogonal",
        title="Eq. (22) removes the projection on z: z . g^(z) = 0",
        source=exam("Q12(b)", "(22)"),
        specs=(NORMALIZE_GRAD.id,),
        prove=_prove_orthogonal_to_z,
    ),
    Claim(
        id="layernorm_exam.normalize_grad.elementwise",
        title="The elementwise derivation of Q12(b) is the chain rule through h and equals (22)",
        source=exam("Q12(b)", "elementwise solution"),
        specs=(NORMALIZE.id, NORMALIZE_GRAD_ELEMENTWISE.id, NORMALIZE_GRAD.id),
        prove=_prove_elementwise,
    ),
)
