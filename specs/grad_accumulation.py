r"""Gradient accumulation and the gradient buffer: UC Berkeley EECS 182 Homework 7 (Spring 2023),
Q6(b) and Q6(c).

PyTorch's ``.backward()`` adds the new gradient to the buffer ``.grad``; only
``optimizer.zero_grad()`` empties it. Q6(b) splits an effective batch of N = S B samples into S
micro-batches of B samples, divides each micro-batch's (mean) loss by S = accumulation_steps and
steps once every S backward calls:

.. math::

    \nabla_\theta \sum_{b=1}^{S} \frac1S \Big(\frac1B \sum_{c=1}^{B} \ell(\theta; x_{(b-1)B+c})
    \Big) = \nabla_\theta \frac1N \sum_{i=1}^{N} \ell(\theta; x_i)

holds when the loss is a mean of per-sample terms, each depending on its own sample only. A
LayerNorm model is such a model (its output at a row depends on that row only, proved from
:mod:`eqconform.specs.layernorm`); a BatchNorm model is not (its statistics run along the batch
axis, so a micro-batch normalizes by other numbers than the full batch). Q6(c)'s loop calls
``zero_grad`` once, before the loop, so the buffer at step t holds
:math:`g_1 + \dots + g_t`; with ``zero_grad`` at the top of every iteration it holds
:math:`g_t`.

Every spec here is settled by proof only (no implementation of a training loop is audited), and
names its own family as its component. Indices: samples ``i``, micro-batches ``b`` and steps
``t``, ``u`` run along axis 0; features ``j`` and positions in a micro-batch ``c`` along axis 1.
"""

from __future__ import annotations

import time

import sympy as sp

from . import layernorm as ln
from .model import (
    GENERAL,
    Claim,
    ProofOutcome,
    ProofStatus,
    Spec,
    SymbolInfo,
    Variant,
    finite_points,
    instantiate,
    single_form_spec,
)
from .sources import hw7
from .sums import UnsupportedSum, peel_last, replace_entries, sum_normal_form

__all__ = ["BATCHNORM", "CLAIMS", "MICRO_BATCHES", "SGD_LOOP", "SPECS"]

i, j, b, c, t, u = sp.symbols("i j b c t u", integer=True, positive=True)
AXES = {i: 0, b: 0, t: 0, u: 0, j: 1, c: 1}
N, S, B = sp.symbols("N S B", integer=True, positive=True)
theta = sp.Symbol("theta", real=True)
x, xm = sp.IndexedBase("x"), sp.IndexedBase("xm")
#: The per-sample loss l(theta; sample): any differentiable function, left undefined.
ell = sp.Function("ell")
Lacc, Lfull = sp.Symbol("Lacc", real=True), sp.Symbol("Lfull", real=True)
Z, mub, varb, Zbn = (sp.IndexedBase(name) for name in ("Z", "mub", "varb", "Zbn"))
eps = sp.Symbol("eps", positive=True)
buf, g, th = sp.IndexedBase("buf"), sp.IndexedBase("g"), sp.IndexedBase("th")
lr = sp.Symbol("lr", positive=True)

_POSITIVE = sp.Interval.open(0, sp.oo)
SYMBOLS = {
    "Lacc": SymbolInfo(
        Lacc, "the S losses backward() is called on, each divided by S, summed", display="L_acc"
    ),
    "Lfull": SymbolInfo(Lfull, "mean loss over the effective batch", display="L_full"),
    "theta": SymbolInfo(theta, "the parameters", display="theta"),
    "x": SymbolInfo(x, "sample i of the effective batch", display="x_i"),
    "xm": SymbolInfo(xm, "sample c of micro-batch b", display="x_bc"),
    "N": SymbolInfo(N, "effective batch size (batch_size x accumulation_steps)", sp.S.Naturals),
    "S": SymbolInfo(S, "accumulation_steps", sp.S.Naturals),
    "B": SymbolInfo(B, "micro-batch size (batch_size)", sp.S.Naturals),
    "Z": SymbolInfo(Z, "input of the normalization, N x C", display="Z"),
    "mub": SymbolInfo(mub, "per-feature batch mean, 1 x C", display="mu_B"),
    "varb": SymbolInfo(varb, "per-feature batch variance, 1 x C", display="sigma_B^2"),
    "Zbn": SymbolInfo(Zbn, "batch-normalized input, N x C", display="Zhat"),
    "eps": SymbolInfo(eps, "numerical-stability constant", _POSITIVE, "epsilon"),
    "buf": SymbolInfo(
        buf, "the gradient buffer (.grad) after backward() at step t", display="grad"
    ),
    "g": SymbolInfo(g, "the gradient of step t's loss at the current parameters", display="g_t"),
    "th": SymbolInfo(th, "the parameters after step t (th[0] the initial ones)", display="theta_t"),
    "lr": SymbolInfo(lr, "SGD learning rate", _POSITIVE, "lr"),
}
_COMPONENT = "grad_accumulation"


def _spec(
    id: str, title: str, section: str, equation: str, names: tuple[str, ...], relations: dict
) -> Spec:
    return single_form_spec(
        id,
        title,
        hw7(section, equation),
        _COMPONENT,
        SYMBOLS,
        names,
        relations,
        AXES,
        proof_only=True,
    )


MICRO_BATCHES = _spec(
    "grad_accumulation.micro_batches",
    "The losses one effective batch accumulates, and the full batch's mean loss",
    "Q6(b)",
    "loss = loss / accumulation_steps; loss.backward()",
    ("Lacc", "Lfull", "theta", "xm", "x", "S", "B", "N"),
    {
        # backward() adds the gradients of these S terms: the gradient of their sum.
        Lacc: sp.Sum(sp.Sum(ell(theta, xm[b, c]), (c, 1, B)) / B, (b, 1, S)) / S,
        Lfull: sp.Sum(ell(theta, x[i]), (i, 1, N)) / N,
    },
)
BATCHNORM = _spec(
    "grad_accumulation.batchnorm",
    "Batch normalization: statistics along the batch axis",
    "Q6(b)",
    "batch statistics are computed along the batch",
    ("mub", "varb", "Zbn", "Z", "eps", "N"),
    {
        mub[j]: sp.Sum(Z[i, j], (i, 1, N)) / N,
        varb[j]: sp.Sum((Z[i, j] - mub[j]) ** 2, (i, 1, N)) / N,
        Zbn[i, j]: (Z[i, j] - mub[j]) / sp.sqrt(varb[j] + eps),
    },
)
SGD_LOOP = Spec(
    id="grad_accumulation.sgd_loop",
    title="The training loop: the gradient buffer and the SGD step at step t",
    source=hw7("Q6(c)", "zero_grad at the top of each iteration (the correction)"),
    component=_COMPONENT,
    symbols=tuple(SYMBOLS[name] for name in ("buf", "g", "th", "lr")),
    variants=(
        Variant(
            "zero-grad-each-step",
            {buf[t]: g[t], th[t]: th[t - 1] - lr * buf[t]},
            note="optimizer.zero_grad() empties the buffer before each backward()",
        ),
        Variant(
            "zero-grad-once",
            {buf[t]: buf[t - 1] + g[t], th[t]: th[t - 1] - lr * buf[t]},
            source=hw7("Q6(c)", "the loop as printed"),
            accepted=False,
            note="the loop of Q6(c): zero_grad() only before the loop, so backward() adds each "
            "step's gradient to all the earlier ones",
        ),
    ),
    axes=AXES,
    proof_only=True,
)

SPECS = (MICRO_BATCHES, BATCHNORM, SGD_LOOP)


# ---------------------------------------------------------------------------------------------
# Q6(b): LayerNorm is per sample, BatchNorm is not.

#: A row of micro-batch b, and the entry it differentiates by (another row of the batch).
_row, _other, _feature = sp.symbols("r o p", integer=True, positive=True)


def _in_micro_batch(row: sp.Expr) -> sp.Expr:
    """The row of the effective batch that row ``row`` of micro-batch ``b`` holds (the loader
    takes the samples in order: micro-batch b is rows (b - 1) B + 1 .. b B)."""
    return (b - 1) * B + row


def _on_micro_batch(expr: sp.Expr, *bases: sp.IndexedBase) -> sp.Expr:
    """``expr``, stated on a batch, applied to micro-batch b: each entry of ``bases`` at row r
    read from row (b - 1) B + r of the effective batch."""
    for base in bases:
        expr = replace_entries(
            expr, base, lambda row, col, base=base: base[_in_micro_batch(row), col]
        )
    return expr


def _doit_each_sum_once(expr: sp.Expr, done: dict[sp.Sum, sp.Expr] | None = None) -> sp.Expr:
    """``expr.doit()``, with each distinct Sum evaluated once (``done`` remembers them).

    Sum.doit tries symbolic summation (Gosper's algorithm) on the summand of every copy of a
    sum, and the derivative of LayerNorm's output holds its variance twice (under the root and
    under its 3/2 power), so doit alone sums it twice. Every other node is rebuilt from its
    arguments' results exactly as its own doit would, or left to that doit."""
    done = {} if done is None else done
    if isinstance(expr, sp.Sum):
        if expr not in done:
            done[expr] = expr.doit()
        return done[expr]
    if not expr.has(sp.Sum) or type(expr).doit not in _DOIT_OF_ARGUMENTS:
        return expr.doit()
    return expr.func(*(_doit_each_sum_once(arg, done) for arg in expr.args))


#: The doit methods that are the node's class applied to its arguments' doit (Basic's, and
#: Add's and Mul's), so that :func:`_doit_each_sum_once` may rebuild such a node itself.
_DOIT_OF_ARGUMENTS = (sp.Basic.doit, sp.Add.doit)


def _layernorm_gaps() -> dict[str, str]:
    """What keeps layernorm.affine's output (through eqs. (1)-(3)) and eq. (7) from being per
    sample, for symbolic N, C, B, b: empty when both are."""
    output = ln.forward_entries(ln.i, ln.j)["Ztilde"]
    backward = ln.grad_input_entry(ln.i, ln.j)
    gaps: dict[str, str] = {}
    for label, expr in (("Ztilde", output), ("dL/dZ", backward)):
        if ln.N in expr.free_symbols:
            gaps[f"{label} reads the batch size N"] = "N is among its symbols"
    # The derivative of row i's output by an entry of row o carries KroneckerDelta(i, o): zero
    # for every other row. (Compared structurally: sympy.simplify of a broken spec's
    # expressions can run for minutes, and a per-sample spec leaves exactly 0 here.)
    derivative = sp.diff(output, ln.Z[_other, _feature])
    elsewhere = _doit_each_sum_once(derivative.xreplace({sp.KroneckerDelta(ln.i, _other): 0}))
    if elsewhere != 0:
        gaps["d Ztilde[i, j] / d Z[o, p], o != i"] = "not 0"
    # Row r of micro-batch b against row (b - 1) B + r of the effective batch: the same
    # expression, entry for entry.
    for label, entry in (
        ("Ztilde", lambda row: ln.forward_entries(row, ln.j)["Ztilde"]),
        ("dL/dZ", lambda row: ln.grad_input_entry(row, ln.j)),
    ):
        if _on_micro_batch(entry(_row), ln.Z, ln.G) != entry(_in_micro_batch(_row)):
            gaps[f"{label} at row r of micro-batch b"] = (
                "differs from row (b - 1) B + r of the batch"
            )
    return gaps


def _prove_layernorm_per_sample() -> ProofOutcome:
    """Row i of LayerNorm's output (eqs. (1)-(4)) and of its input gradient (eq. (7)) depends on
    row i only, for symbolic N, C: so micro-batches of any size give the full batch's rows."""
    started = time.perf_counter()
    gaps = _layernorm_gaps()
    ok = not gaps
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "symbolic N, C, B, b: layernorm.affine through layernorm.normalize, layernorm.variance, "
        "layernorm.mean, and eq. (7) (layernorm.grad_input with layernorm.grad_normalized), at "
        "row r of micro-batch b (rows (b - 1) B + 1 .. b B of the batch) against row (b - 1) B + "
        "r of the batch; sympy.diff of row i's output by an entry of row o",
        (
            "for every N, C and micro-batch size B: neither the output nor eq. (7) involves N, "
            "the derivative of row i's output by any entry of another row is 0, and the output "
            "and input gradient of every row of a micro-batch equal those of the same row in "
            "the full batch: LayerNorm is per sample, so every (batch_size, accumulation_steps) "
            "gives the logits of (32, 1)"
            if ok
            else "; ".join(f"{label}: {gap}" for label, gap in gaps.items())
        )
        + f" ({time.perf_counter() - started:.2f} s)",
        scope=GENERAL if ok else "",
    )


#: The batch of the BatchNorm counterexample: (N, B, C) with B the micro-batch size.
BATCHNORM_SPLIT = (2, 1, 1)


def _batchnorm_rows(rows: list[list[sp.Expr]]) -> list[list[sp.Expr]]:
    """grad_accumulation.batchnorm on an explicit batch (rows x features)."""
    size, features = len(rows), len(rows[0])
    relations = BATCHNORM.canonical.relations
    mean_of, var_of, out_of = relations[mub[j]], relations[varb[j]], relations[Zbn[i, j]]
    sizes = {N: size}
    means = [instantiate(mean_of.subs(j, col), sizes, {Z: rows}) for col in range(1, features + 1)]
    variances = [
        instantiate(var_of.subs(j, col), sizes, {Z: rows}).xreplace({mub[col]: means[col - 1]})
        for col in range(1, features + 1)
    ]
    return [
        [
            instantiate(out_of.subs({i: row, j: col}), sizes, {Z: rows}).xreplace(
                {mub[col]: means[col - 1], varb[col]: variances[col - 1]}
            )
            for col in range(1, features + 1)
        ]
        for row in range(1, size + 1)
    ]


def _prove_batchnorm_batch_dependent() -> ProofOutcome:
    """A batch of two rows, normalized whole and as two micro-batches of one row each, by
    grad_accumulation.batchnorm: the outputs differ whenever the rows do."""
    started = time.perf_counter()
    first, second = sp.symbols("z_1 z_2", real=True)
    rows = [[first], [second]]
    whole = _batchnorm_rows(rows)
    split = [_batchnorm_rows([row])[0] for row in rows]
    gap = sp.simplify(whole[0][0] - split[0][0])
    ok = gap != 0 and sp.simplify(gap.subs(second, first)) == 0
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "grad_accumulation.batchnorm evaluated on the batch (z_1, z_2) (N = 2, C = 1) and on its "
        "micro-batches (z_1), (z_2) (B = 1), symbolic z and eps",
        f"row 1 is {sp.simplify(whole[0][0])} normalized with the batch and {split[0][0]} "
        f"alone: they differ by {gap}, nonzero unless z_1 = z_2. A micro-batch of one row has "
        "variance 0, so its output is 0 whatever the input: BatchNorm's statistics run along "
        "the batch axis and a micro-batch is a different batch, so gradient accumulation "
        f"cannot reproduce the (32, 1) logits ({time.perf_counter() - started:.2f} s)",
        scope=finite_points(("N", "B", "C"), [BATCHNORM_SPLIT]) if ok else "",
    )


# ---------------------------------------------------------------------------------------------
# Q6(b): the accumulated gradient is the full batch's mean gradient, by induction on S.


def _scaled_gradients() -> tuple[sp.Expr, sp.Expr] | str:
    """S B times the gradient of grad_accumulation.micro_batches' Lacc and Lfull, with micro-batch
    b holding samples (b - 1) B + 1 .. b B and N = S B, in sum normal form."""
    relations = MICRO_BATCHES.canonical.relations
    accumulated = replace_entries(relations[Lacc], xm, lambda batch, pos: x[(batch - 1) * B + pos])
    full = relations[Lfull].xreplace({N: S * B})
    try:
        scaled = [sum_normal_form(S * B * sp.diff(loss, theta)) for loss in (accumulated, full)]
    except UnsupportedSum as error:
        return str(error)
    return scaled[0], scaled[1]


def _expanded(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every summation bound and every index of an entry expanded, so that
    (b - 1) B + c and b B - B + c are one index to the sum normal form."""
    expr = expr.replace(
        lambda node: isinstance(node, sp.Indexed),
        lambda node: node.base[tuple(sp.expand(index) for index in node.indices)],
    )
    return expr.replace(
        lambda node: isinstance(node, sp.Sum),
        lambda node: sp.Sum(
            node.function, *[(v, sp.expand(lo), sp.expand(hi)) for v, lo, hi in node.limits]
        ),
    )


def _prove_accumulated_mean_gradient() -> ProofOutcome:
    """Induction on S, B symbolic: base S = 1, and the step S - 1 -> S adds the same block of B
    per-sample gradients to both sides (peel_last on the micro-batches; the full batch's sum
    split at (S - 1) B and its last block re-indexed to 1..B)."""
    started = time.perf_counter()
    sides = _scaled_gradients()
    if isinstance(sides, str):
        return ProofOutcome(ProofStatus.NOT_PROVED, "the gradients in sum normal form", sides)
    accumulated, full = sides
    base = sum_normal_form(accumulated.subs(S, 1).doit() - full.subs(S, 1).doit())
    # The full batch: Sum over 1..S B is the Sum over 1..(S - 1) B plus the block after it.
    (total,) = full.atoms(sp.Sum) or {None}
    step_ok, detail = False, f"the full batch's gradient is not one sum: {full}"
    if total is not None and sp.simplify(full - total) == 0:
        index, low, high = total.limits[0]
        block = sp.Sum(total.function, (index, (S - 1) * B + 1, high))
        splits = sp.simplify(total.xreplace({S: S - 1}) + block - total) == 0
        shifted = _expanded(block.change_index(index, index - (S - 1) * B, c))
        gained = _expanded(peel_last(accumulated, S) - accumulated.xreplace({S: S - 1}))
        step = sum_normal_form(gained - shifted)
        step_ok = splits and step == 0
        detail = (
            f"S = 1: the two differ by {base}; S - 1 -> S: the accumulated side gains "
            f"{sum_normal_form(gained)}, the full batch {shifted} (difference {step})"
        )
    ok = base == 0 and step_ok
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "symbolic S, B: sympy.diff by theta of grad_accumulation.micro_batches' Lacc (micro-batch "
        "b holding samples (b - 1) B + 1 .. b B) and Lfull (N = S B), times S B, in sum normal "
        "form; induction on S: the base S = 1, and the step by peel_last and the full batch's "
        "sum split at (S - 1) B, its last block re-indexed (Sum.change_index)",
        (
            "for every accumulation_steps S and micro-batch size B, the gradients backward() "
            "accumulates from the S losses, each a micro-batch mean divided by S, sum to the "
            "gradient of the mean loss over the N = S B samples: "
        )
        + detail
        + f" ({time.perf_counter() - started:.2f} s)",
        scope=GENERAL if ok else "",
    )


# ---------------------------------------------------------------------------------------------
# Q6(c): the gradient buffer with and without zero_grad, by induction on the step t.

_th0 = sp.Symbol("theta_0", real=True)


#: The buffer at step t in each loop: g_t after zero_grad, g_1 + ... + g_t without.
_CLOSED_BUFFER = {
    "zero-grad-each-step": g[t],
    "zero-grad-once": sp.Sum(g[u], (u, 1, t)),
}
#: The parameters after step t: each g_u applied once, or t - u + 1 times.
_CLOSED_PARAMETERS = {
    "zero-grad-each-step": _th0 - lr * sp.Sum(g[u], (u, 1, t)),
    "zero-grad-once": _th0 - lr * sp.Sum((t - u + 1) * g[u], (u, 1, t)),
}


def _by_induction(variant: Variant, quantity: sp.IndexedBase, closed: sp.Expr) -> sp.Expr:
    """The residual of the induction that ``closed`` (an expression of t) is ``variant``'s
    ``quantity[t]``: base t = 1 (buf[0] = 0 after the zero_grad before the loop, th[0] =
    theta_0) plus the step, ``quantity[t - 1]`` and the buffer replaced by their closed forms.
    0 when the closed form holds for every t >= 1."""
    closed_buffer = _CLOSED_BUFFER[variant.id]
    relation = variant.relations[quantity[t]]

    def at(step: sp.Expr, expr: sp.Expr) -> sp.Expr:
        return expr.xreplace({t: step})

    start = {buf[0]: sp.Integer(0), th[0]: _th0}
    base = relation.subs(t, 1).xreplace(start).xreplace({buf[1]: closed_buffer.subs(t, 1).doit()})
    base_gap = sum_normal_form(base - closed.subs(t, 1).doit())
    hypothesis = {quantity[t - 1]: at(t - 1, closed), buf[t]: closed_buffer}
    step = relation.xreplace(hypothesis)
    step_gap = sum_normal_form(peel_last(step, t) - peel_last(closed, t))
    return base_gap + step_gap


def _prove_zero_grad() -> ProofOutcome:
    """Both loops of grad_accumulation.sgd_loop solved by induction on t: the buffer and the
    parameters after step t in closed form, and the two buffers differ from t = 2 on."""
    started = time.perf_counter()
    gaps = {}
    for variant in SGD_LOOP.variants:
        for quantity, closed in (
            (buf, _CLOSED_BUFFER[variant.id]),
            (th, _CLOSED_PARAMETERS[variant.id]),
        ):
            residual = _by_induction(variant, quantity, closed)
            if residual != 0:
                gaps[f"{variant.id} {quantity}"] = residual
    extra = (
        sum_normal_form(_CLOSED_BUFFER["zero-grad-once"] - _CLOSED_BUFFER["zero-grad-each-step"])
        .subs(t, 2)
        .doit()
    )
    ok = not gaps and extra != 0
    return ProofOutcome(
        ProofStatus.PROVED if ok else ProofStatus.REFUTED,
        "induction on t for both variants of grad_accumulation.sgd_loop: the base t = 1 (buf[0] = "
        "0, emptied before the loop) and the step t - 1 -> t, each closed form split by "
        "peel_last and compared in sum normal form",
        (
            "for every step t: with zero_grad only before the loop (the loop as printed) the "
            "buffer is g_1 + ... + g_t and the parameters are theta_0 - lr sum_u (t - u + 1) "
            "g_u, so the gradient of step u is applied t - u + 1 times by step t; with "
            "zero_grad at the top of each iteration the buffer is g_t and the parameters theta_0 "
            f"- lr sum_u g_u. The buffers differ from t = 2 on (by {extra} at t = 2): the stale "
            "gradients keep pushing, which is the divergence of Q6(c); moving zero_grad into the "
            "loop before backward() is the correction"
            if ok
            else "; ".join(f"{label}: the induction leaves {gap}" for label, gap in gaps.items())
            + ("" if extra != 0 else "; the two loops keep the same buffer")
        )
        + f" ({time.perf_counter() - started:.2f} s)",
        scope=GENERAL if ok else "",
    )


_LN_SPECS = (
    ln.AFFINE.id,
    ln.NORMALIZE.id,
    ln.VARIANCE.id,
    ln.MEAN.id,
    ln.GRAD_INPUT.id,
    ln.GRAD_NORMALIZED.id,
)

CLAIMS = (
    Claim(
        "grad_accumulation.layernorm_per_sample",
        "LayerNorm's output and input gradient at a row depend on that row only: micro-batches "
        "change nothing",
        hw7("Q6(b)"),
        _LN_SPECS,
        _prove_layernorm_per_sample,
    ),
    Claim(
        "grad_accumulation.batchnorm_batch_dependent",
        "BatchNorm's output at a row depends on the other rows of its batch: micro-batches "
        "change it",
        hw7("Q6(b)"),
        (BATCHNORM.id,),
        _prove_batchnorm_batch_dependent,
    ),
    Claim(
        "grad_accumulation.accumulated_mean_gradient",
        "With loss / accumulation_steps, the accumulated gradient of micro-batch means is the "
        "gradient of the full batch's mean loss",
        hw7("Q6(b)"),
        (MICRO_BATCHES.id,),
        _prove_accumulated_mean_gradient,
    ),
    Claim(
        "grad_accumulation.zero_grad",
        "Without zero_grad in the loop the buffer at step t is g_1 + ... + g_t; with zero_grad at "
        "the top of each iteration it is g_t",
        hw7("Q6(c)"),
        (SGD_LOOP.id,),
        _prove_zero_grad,
    ),
)
