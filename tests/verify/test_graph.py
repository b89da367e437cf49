"""What a spec graph reads off its specs to order a bound program's work
(:attr:`~eqconform.verify.graph.SpecGraph.small`)."""

from __future__ import annotations

from eqconform.verify.components import ADAM, LAYERNORM
from eqconform.verify.components.table import Component
from eqconform.verify.graph import SpecGraph, recomputation_input


def _graph(component: Component) -> SpecGraph:
    assert component.exact is not None
    return component.exact.graph


def test_layernorm_rows_and_features_are_small_against_its_matrices() -> None:
    # sigma2[i] and mu[i] are rows of one entry, gamma[j] one row of features: each indexed
    # along one of the two axes Z[i, j] is indexed along.
    spec_graph = _graph(LAYERNORM)
    assert {"mu", "sigma2", "gamma", "beta", "dLdgamma", "dLdbeta"} <= spec_graph.small
    assert {"Z", "Zhat", "Ztilde", "G", "dLdZ", "dLdZhat"}.isdisjoint(spec_graph.small)
    # The bound of recomputing a small quantity is as small; the scalars are small too.
    assert recomputation_input("sigma2") in spec_graph.small
    assert recomputation_input("Zhat") not in spec_graph.small
    assert spec_graph.scalars <= spec_graph.small


def test_quantities_all_indexed_alike_leave_only_the_scalars_small() -> None:
    # Adam's parameters, gradients and moments are all theta[i].
    spec_graph = _graph(ADAM)
    assert spec_graph.scalars and spec_graph.small == spec_graph.scalars
