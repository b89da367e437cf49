"""Rewrites of a generated straight-line program that keep what it computes and make fewer
passes over its arrays.

A bound program (:mod:`.rounding`) is printed one SymPy expression per statement, in SymPy's
order of arguments, which knows nothing of which names hold arrays. So
``-_a22*_a28*_a6*alpha + 4*_w98*unit_roundoff + _w98`` makes eight passes over arrays of
millions of entries where five do: ``_a6*alpha`` and ``4*unit_roundoff`` are scalars, and the
sign belongs with them. A rule also asks for the same widened magnitude
(``(|G| + e(G)) (|gamma| + e(gamma))``) in several statements, each one more pass.

:func:`fewer_passes` rewrites such a program, given the names that hold scalars:

- the factors of a product are multiplied scalars first, and the scalar product applied to the
  arrays' product once; a sign is folded into the scalars, or into the sum around it;
- the terms of a sum are added arrays first, subtracting the negative ones, and the scalar
  terms' sum added once; terms of the same arrays are added as one, ``x (a + b)`` for
  ``x a + x b``, and a sum (or product) that a name holds and only one sum reads joins the
  terms of that sum (so that its terms of ``x`` meet the others');
- the scalar factors of a summand multiply its sum along an axis once, outside it;
- a compound expression over arrays that occurs more than once is computed once, into a
  name of its own, just before the first statement that needs it.

Exact arithmetic does not change. Floating-point results may differ in their last bits (the
operations are associated otherwise), which a bound, scaled by :data:`~.tolerance.SAFETY`,
allows for; the oracle's values (:func:`~.compiler.compile_expressions`) are not rewritten.
Names wrongly said to be scalars (or arrays), or small arrays, change the cost, never the
result.
"""

from __future__ import annotations

import ast
import itertools
from collections import Counter
from collections.abc import Collection, Hashable, Iterator

__all__ = ["fewer_passes"]

#: Expressions whose parts Python may not evaluate (a conditional, ``and``/``or``): nothing
#: inside one is computed ahead of it.
_GUARDED = (ast.IfExp, ast.BoolOp)

#: Expressions worth a name of their own when they occur twice: each is a pass over an array.
_COMPOUND = (ast.BinOp, ast.UnaryOp, ast.Call, ast.Compare)


def fewer_passes(source: str, scalars: Collection[str], small: Collection[str] = ()) -> str:
    """``source`` (one function of straight-line assignments ending in a return, as
    :func:`~.compiler.compile_program` prints it) rearranged to make fewer passes over arrays,
    given the arguments that hold ``scalars`` (every other name may hold an array) and those
    that hold ``small`` arrays (a row of LayerNorm's variances against the rows themselves),
    which are combined with the scalars before they meet the others."""
    module = ast.parse(source)
    function = module.body[0]
    assert isinstance(function, ast.FunctionDef)
    arguments = {arg.arg for arg in function.args.args}
    known = set(scalars) & arguments
    answers: dict[int, tuple[ast.AST, bool]] = {}
    arranger = _Arranger(known, answers, _used_once(function), set(small) & arguments)
    for statement in function.body:
        assert isinstance(statement, (ast.Assign, ast.Return)) and statement.value is not None
        statement.value = arranger.arrange(statement.value)
        if isinstance(statement, ast.Assign):
            target = statement.targets[0]
            assert isinstance(target, ast.Name)
            if arranger.scalar(statement.value):
                known.add(target.id)
                arranger.reduced_names.add(target.id)
            elif arranger.reduced(statement.value):
                arranger.reduced_names.add(target.id)
            elif target.id in arranger.inlinable and (
                _is_sum(statement.value) or _is_product(statement.value)
            ):
                arranger.definitions[target.id] = statement.value
    function.body = [
        statement
        for statement in function.body
        if not (isinstance(statement, ast.Assign) and _target(statement) in arranger.inlined)
    ]
    function.body = _shared(function, known, answers)
    return ast.unparse(module)


def _used_once(function: ast.FunctionDef) -> set[str]:
    """The names ``function`` assigns and reads exactly once."""
    reads = Counter(
        node.id
        for node in ast.walk(function)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    )
    assigned = Counter(
        _target(statement) for statement in function.body if isinstance(statement, ast.Assign)
    )
    return {name for name, count in assigned.items() if count == 1 and reads[name] == 1}


def _calls(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


def _is_reduced(
    node: ast.expr, names: Collection[str], known: dict[int, tuple[ast.AST, bool]]
) -> bool:
    """Whether ``node`` is made of sums along an axis (``ReduceAxis``) and scalars alone, when
    the names in ``names`` are: an array smaller than the arrays it was summed from (a row of
    LayerNorm's means, against the rows themselves). A guess, which only orders the work: an
    operation on such arrays is done before one that takes it to the size of the others."""
    return _made_of(node, names, known, sums=True)


def _is_scalar(
    node: ast.expr, scalars: Collection[str], known: dict[int, tuple[ast.AST, bool]]
) -> bool:
    """Whether ``node`` is a scalar when the names in ``scalars`` are. ``known`` keeps the
    answers given (by ``id``, with the node, so that no id is reused), which stay right as
    ``scalars`` grows: a name is added right after its statement, before any use of it."""
    return _made_of(node, scalars, known, sums=False)


def _made_of(
    node: ast.expr, names: Collection[str], known: dict[int, tuple[ast.AST, bool]], *, sums: bool
) -> bool:
    """Whether ``node`` is made of numbers and ``names`` alone (and, with ``sums``, of sums
    along an axis of anything), through whatever functions (abs, numpy.sqrt)."""
    if id(node) in known:
        return known[id(node)][1]
    if isinstance(node, (ast.Constant, ast.Attribute)):  # a number, numpy.pi
        answer = True
    elif isinstance(node, ast.Name):
        answer = node.id in names
    elif sums and _calls(node, "ReduceAxis"):
        answer = True
    elif isinstance(node, ast.Call):
        answer = all(_made_of(arg, names, known, sums=sums) for arg in node.args) and all(
            _made_of(keyword.value, names, known, sums=sums) for keyword in node.keywords
        )
    else:
        answer = all(
            _made_of(child, names, known, sums=sums)
            for child in ast.iter_child_nodes(node)
            if isinstance(child, ast.expr)
        )
    known[id(node)] = (node, answer)
    return answer


def _is_sum(node: ast.expr) -> bool:
    return (isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub))) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
    )


def _is_product(node: ast.expr) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult)


def _flat_factors(node: ast.expr, sign: int, factors: list[ast.expr]) -> int:
    """Collects the factors of a product, as they are, into ``factors``; its sign."""
    if _is_product(node):
        assert isinstance(node, ast.BinOp)
        return _flat_factors(node.right, _flat_factors(node.left, sign, factors), factors)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _flat_factors(node.operand, -sign, factors)
    factors.append(node)
    return sign


def _chain(nodes: list[ast.expr], op: ast.operator) -> ast.expr:
    result = nodes[0]
    for node in nodes[1:]:
        result = ast.BinOp(result, op, node)
    return result


def _negated(node: ast.expr) -> ast.expr:
    return ast.UnaryOp(ast.USub(), node)


class _Arranger:
    """Rearranges sums and products (recursively) given the names known to be scalars."""

    def __init__(
        self,
        scalars: Collection[str],
        known: dict[int, tuple[ast.AST, bool]],
        inlinable: Collection[str] = (),
        small: Collection[str] = (),
    ) -> None:
        self.scalars = scalars
        self.known = known
        #: Names holding scalars, arrays said to be small or sums along an axis
        #: (:func:`_is_reduced`), and the answers given.
        self.reduced_names: set[str] = {*scalars, *small}
        self.reduced_known: dict[int, tuple[ast.AST, bool]] = {}
        #: Names read once (:func:`_used_once`); of those, the arranged sums and products
        #: over arrays they hold, which a sum that reads them takes in as terms of its own
        #: (then the terms of both that share their arrays are added as one), and the names
        #: so taken in, whose statements are left out.
        self.inlinable = frozenset(inlinable)
        self.definitions: dict[str, ast.expr] = {}
        self.inlined: set[str] = set()

    def scalar(self, node: ast.expr) -> bool:
        return _is_scalar(node, self.scalars, self.known)

    def reduced(self, node: ast.expr) -> bool:
        """Whether ``node`` is a scalar or an array of sums (:func:`_is_reduced`)."""
        return _is_reduced(node, self.reduced_names, self.reduced_known)

    def arrange(self, node: ast.expr) -> ast.expr:
        if _is_sum(node) or _is_product(node):
            return self._sum(node)
        if _calls(node, "ReduceAxis"):
            assert isinstance(node, ast.Call)
            if len(node.args) == 3 and not node.keywords:
                return self._reduction(node)
        for name, value in ast.iter_fields(node):
            if isinstance(value, ast.expr):
                setattr(node, name, self.arrange(value))
            elif isinstance(value, list):
                setattr(
                    node, name, [self.arrange(v) if isinstance(v, ast.expr) else v for v in value]
                )
        return node

    def _reduction(self, node: ast.Call) -> ast.expr:
        """A sum along an axis with the scalar factors of its summand taken out of it,
        ``ReduceAxis(x, ...) * s`` for ``ReduceAxis(x * s, ...)``: one pass less. A product
        read only here (:func:`_used_once`) is taken in as the summand."""
        body, *rest = node.args
        if isinstance(body, ast.Name) and _is_product(self.definitions.get(body.id, body)):
            self.inlined.add(body.id)
            body = self.definitions.pop(body.id)
        factors: list[ast.expr] = []
        sign = _flat_factors(body, 1, factors)
        scalars = [factor for factor in factors if self.scalar(factor)]
        arrays = [factor for factor in factors if not self.scalar(factor)]
        rest = [self.arrange(argument) for argument in rest]
        if not scalars or not arrays:
            node.args = [self.arrange(body), *rest]
            return node
        summand = self.arrange(_chain(arrays, ast.Mult()))
        node.args = [summand, *rest]
        scale = _chain([self.arrange(factor) for factor in scalars], ast.Mult())
        return ast.BinOp(node, ast.Mult(), _negated(scale) if sign < 0 else scale)

    def _terms(self, node: ast.expr, sign: int) -> Iterator[_Term]:
        """The signed terms of a sum, each a product split (:meth:`_split`); a name read
        only here that holds a sum or a product over arrays gives its own terms."""
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            yield from self._terms(node.left, sign)
            yield from self._terms(node.right, sign if isinstance(node.op, ast.Add) else -sign)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            yield from self._terms(node.operand, -sign)
        elif isinstance(node, ast.Name) and node.id in self.definitions:
            self.inlined.add(node.id)
            yield from self._terms(self.definitions.pop(node.id), sign)
        else:
            factor_sign, large, small = self._split(node)
            yield sign * factor_sign, large, small

    def _factors(self, node: ast.expr, sign: int, factors: list[ast.expr]) -> int:
        """Collects the factors of a product (each arranged) into ``factors``; its sign."""
        found: list[ast.expr] = []
        sign = _flat_factors(node, sign, found)
        factors.extend(self.arrange(factor) for factor in found)
        return sign

    def _split(self, node: ast.expr) -> _Term:
        """``(sign, large, small)``: the factors of the product ``node`` that are arrays, and
        the others, scalars last, their product carrying the sign when there is one; arrays
        of sums (:func:`_is_reduced`) are small."""
        factors: list[ast.expr] = []
        sign = self._factors(node, 1, factors)
        if len(factors) == 1:
            (factor,) = factors
            return (sign, [], factors) if self.reduced(factor) else (sign, factors, [])
        scalars = [f for f in factors if self.scalar(f)]
        small = [f for f in factors if not self.scalar(f) and self.reduced(f)]
        large = [f for f in factors if not self.reduced(f)]
        if scalars:
            scale = _chain(scalars, ast.Mult())
            small.append(_negated(scale) if sign < 0 else scale)
            sign = 1
        return sign, large, small

    def _sum(self, node: ast.expr) -> ast.expr:
        """The terms added arrays first (a positive one leading, the negative ones
        subtracted), then the scalar terms' sum once; terms that are arrays of sums
        (:func:`_is_reduced`) are added up with the scalars before they join the others, and
        terms with the same arrays are added as one, ``x (a + b)`` for ``x a + x b``."""
        terms = [
            (sign, _joined(large, small))
            for sign, large, small in _together(list(self._terms(node, 1)))
        ]
        large_terms = [(s, t) for s, t in terms if not self.reduced(t)]
        small_terms = [(s, t) for s, t in terms if self.reduced(t)]
        if not large_terms:
            large_terms = [(s, t) for s, t in terms if not self.scalar(t)]
            small_terms = [(s, t) for s, t in terms if self.scalar(t)]
        if not large_terms or not small_terms:
            return _signed_sum(terms)
        if any(s > 0 for s, _ in large_terms) and not any(s > 0 for s, _ in small_terms):
            # Every small term negative: their sum subtracted, not negated and added.
            subtracted = _signed_sum([(-s, t) for s, t in small_terms])
            return ast.BinOp(_signed_sum(large_terms), ast.Sub(), subtracted)
        small_sum = _signed_sum(small_terms)
        if any(s > 0 for s, _ in large_terms):
            return ast.BinOp(_signed_sum(large_terms), ast.Add(), small_sum)
        # Every large term negative: start from the small ones and subtract them.
        result = small_sum
        for _, term in large_terms:
            result = ast.BinOp(result, ast.Sub(), term)
        return result


#: A term of a sum: its sign, its factors that are arrays, and the others (scalars, arrays of
#: sums), each list possibly empty.
_Term = tuple[int, list[ast.expr], list[ast.expr]]


def _joined(large: list[ast.expr], small: list[ast.expr]) -> ast.expr:
    """The product of ``large`` times the product of ``small``, each multiplied once."""
    if not large or not small:
        return _chain(large + small, ast.Mult())
    return ast.BinOp(_chain(large, ast.Mult()), ast.Mult(), _chain(small, ast.Mult()))


def _together(terms: list[_Term]) -> list[_Term]:
    """``terms`` with those of the same arrays (as written, in any order) added as one,
    ``x (a - b)`` for ``x a - x b``: one pass over ``x`` where there were three. In the place
    of the first of them."""
    keys = [
        tuple(sorted(ast.dump(factor) for factor in large)) if large else None
        for _, large, _ in terms
    ]
    counts = Counter(key for key in keys if key is not None)
    if all(count == 1 for count in counts.values()):
        return terms
    together: list[_Term] = []
    done: set[tuple[str, ...]] = set()
    for (sign, large, small), key in zip(terms, keys, strict=True):
        if key is None or counts[key] == 1:
            together.append((sign, large, small))
        elif key not in done:
            done.add(key)
            shares = [
                (s, _chain(sm, ast.Mult()) if sm else ast.Constant(1))
                for (s, _, sm), k in zip(terms, keys, strict=True)
                if k == key
            ]
            together.append((1, large, [_signed_sum(shares)]))
    return together


def _signed_sum(terms: list[tuple[int, ast.expr]]) -> ast.expr:
    """``terms`` added, a positive one first when there is one, the negative ones subtracted."""
    ordered = sorted(terms, key=lambda term: term[0] < 0)  # stable: positive ones first
    sign, first = ordered[0]
    result = first if sign > 0 else _negated(first)
    for sign, term in ordered[1:]:
        result = ast.BinOp(result, ast.Add() if sign > 0 else ast.Sub(), term)
    return result


def _shared(
    function: ast.FunctionDef, scalars: Collection[str], answers: dict[int, tuple[ast.AST, bool]]
) -> list[ast.stmt]:
    """The function's statements with each compound array expression that occurs more than
    once computed once: into the name of the first statement that is exactly it, else into a
    new name assigned just before the first statement that needs it."""
    body = [
        statement for statement in function.body if isinstance(statement, (ast.Assign, ast.Return))
    ]
    assert len(body) == len(function.body)
    targets = [_target(statement) for statement in body if isinstance(statement, ast.Assign)]
    if len(set(targets)) != len(targets):
        return list(function.body)  # not single assignment: left as it is
    structures: dict[int, tuple[ast.AST, Hashable]] = {}
    counts: Counter[Hashable] = Counter()
    for statement in body:
        assert statement.value is not None
        for node in _unguarded(statement.value):
            if isinstance(node, _COMPOUND) and not _is_scalar(node, scalars, answers):
                counts[_structure(node, structures)] += 1
    repeated = {structure for structure, count in counts.items() if count > 1}
    if not repeated:
        return list(function.body)
    taken = {node.id for node in ast.walk(function) if isinstance(node, ast.Name)}
    taken |= {arg.arg for arg in function.args.args}
    fresh = (f"_r{index}" for index in itertools.count() if f"_r{index}" not in taken)
    named: dict[Hashable, str] = {}
    result: list[ast.stmt] = []

    def share(node: ast.expr, whole: str | None) -> ast.expr:
        """``node`` with its repeated parts replaced by their names; ``whole``: the name the
        statement assigns, when ``node`` is its whole value."""
        if isinstance(node, _GUARDED):
            return node
        # Occurrences are recognised as written, before their own parts are replaced.
        structure = _structure(node, structures) if isinstance(node, _COMPOUND) else None
        if structure is not None and structure in named:
            return ast.Name(named[structure], ast.Load())
        for field, value in ast.iter_fields(node):
            if isinstance(value, ast.expr):
                setattr(node, field, share(value, None))
            elif isinstance(value, list):
                setattr(
                    node, field, [share(v, None) if isinstance(v, ast.expr) else v for v in value]
                )
        if structure is None or structure not in repeated:
            return node
        if whole is not None:
            named[structure] = whole
            return node
        name = next(fresh)
        named[structure] = name
        # (a line number only because unparse asks every assignment for one)
        result.append(ast.Assign([ast.Name(name, ast.Store())], node, lineno=0))
        return ast.Name(name, ast.Load())

    for statement in body:
        assert statement.value is not None
        whole = _target(statement) if isinstance(statement, ast.Assign) else None
        statement.value = share(statement.value, whole)
        result.append(statement)
    return result


def _structure(node: ast.AST, known: dict[int, tuple[ast.AST, Hashable]]) -> Hashable:
    """A description of ``node`` equal for two nodes exactly when ``ast.dump`` gives the same
    text (constants by ``repr``, so that ``1``, ``1.0`` and ``-0.0`` stay apart), built once
    per node: ``known`` keeps each node's, by ``id`` (with the node, so no id is reused)."""
    found = known.get(id(node))
    if found is not None:
        return found[1]
    parts: list[Hashable] = [type(node).__name__]
    for _, value in ast.iter_fields(node):
        if isinstance(value, ast.AST):
            parts.append(_structure(value, known))
        elif isinstance(value, list):
            parts.append(
                tuple(_structure(v, known) if isinstance(v, ast.AST) else repr(v) for v in value)
            )
        else:
            parts.append(repr(value))
    structure = tuple(parts)
    known[id(node)] = (node, structure)
    return structure


def _target(statement: ast.Assign) -> str:
    (target,) = statement.targets
    assert isinstance(target, ast.Name)
    return target.id


def _unguarded(node: ast.expr) -> Iterator[ast.expr]:
    """The expressions in ``node`` that are always evaluated (none inside a conditional)."""
    if isinstance(node, _GUARDED):
        return
    yield node
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.expr):
            yield from _unguarded(child)
