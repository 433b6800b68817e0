"""The static table of dataset kinds (what `geno check` verifies) equals the runtime's loaders."""

import inspect

from genolang.compiler.passes.data_kinds import DATA_KINDS


def test_the_table_lists_every_loader_and_its_options():
    from genolang.runtime.data import dataset

    loaders = dataset._LOADERS
    assert set(DATA_KINDS) == set(loaders)
    for kind, loader in loaders.items():
        options = [name for name, p in inspect.signature(loader).parameters.items()
                   if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
        assert DATA_KINDS[kind] == tuple(options), kind
