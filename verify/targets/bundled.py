"""The ``numpy`` target: eqconform's own implementation in :mod:`eqconform.impl`."""

from __future__ import annotations

from typing import Any

from .bundled_extra import bundled_adapters
from .homework import HomeworkDropout, HomeworkLayerNorm, HomeworkOptimizer, signature_defaults
from .protocol import ComponentMissing

__all__ = ["BundledTarget"]


class BundledTarget:
    name = "numpy"
    description = "eqconform's bundled NumPy implementation (eqconform.impl)"

    def component(self, name: str) -> Any:
        from eqconform import impl

        adapters = {
            "adam": HomeworkOptimizer(impl.Adam, decoupled_decay=False),
            "adamw": HomeworkOptimizer(impl.AdamW, decoupled_decay=True),
            "layernorm": HomeworkLayerNorm(impl.LayerNorm),
            "dropout": HomeworkDropout(impl.Dropout),
            **bundled_adapters(),
        }
        if name not in adapters:
            raise ComponentMissing(f"the bundled implementation has no {name!r}")
        return adapters[name]

    def defaults(self) -> dict[str, Any]:
        return {name: signature_defaults(name, self.component(name)) for name in ("adam", "adamw", "layernorm", "dropout")}


def make(argument: str | None) -> BundledTarget:
    if argument:
        raise ValueError(f"the numpy target takes no argument (got {argument!r})")
    return BundledTarget()
