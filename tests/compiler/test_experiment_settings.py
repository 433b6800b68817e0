"""Experiment settings that the fidelity of the search rests on (compiler/lower/experiment.py)."""

from __future__ import annotations

import pytest

from genolang.compiler.lower.experiment import ExperimentConfig
from genolang.compiler.lower.program import loads
from genolang.base.errors import UserError


def test_name_defaults_are_explicit_and_routes_do_not_touch_sharing():
    cd = ExperimentConfig.model_validate({"algorithm": {"name": "cdarts"}}).algorithm
    assert (cd.share_stem_heads, cd.edge_weights, cd.head_ce, cd.reset_optimizers) == (True, "fixed", 0.0, "all")
    for route in ("cdarts", "A1", "A2", "B1", "B2"):
        a = ExperimentConfig.model_validate({"algorithm": {"route": route}}).algorithm
        assert (a.share_stem_heads, a.edge_weights) == (False, "none"), route
    held = ExperimentConfig.model_validate({"algorithm": {"route": "A1", "share_stem_heads": True}})
    assert held.with_overrides(**{"algorithm.route": "B2"}).algorithm.share_stem_heads is True
    # a name change re-derives only the defaults the user did not set
    icd = ExperimentConfig.model_validate({"algorithm": {"head_ce": 1.0}})
    switched = icd.with_overrides(**{"algorithm.name": "cdarts"}).algorithm
    assert switched.share_stem_heads is True and switched.head_ce == 1.0
    with pytest.raises(ValueError, match="no route"):
        ExperimentConfig.model_validate({"algorithm": {"name": "cdarts", "route": "A1"}})


def test_edge_granularity_is_rejected_when_the_spec_is_checked():
    spec = "experiment x {\n  tournament {\n    granularity = edge\n  }\n}\n"
    with pytest.raises(UserError) as err:
        loads(spec)
    text = str(err.value.render()) if hasattr(err.value, "render") else str(err.value)
    assert "granularity" in text and "3:" in text


def test_cdarts_needs_a_positive_lambda():
    with pytest.raises(ValueError, match="lam must be > 0"):
        ExperimentConfig.model_validate({"algorithm": {"name": "cdarts", "lam": 0}})
