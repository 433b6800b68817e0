"""The dataset registry: kinds, option checking, errors with hints."""

import pytest

from genolang.base.errors import ConfigError, DataError
from genolang.runtime.data import available_datasets, load_dataset


def test_all_kinds_are_registered():
    assert {"digits", "cifar10", "cifar100", "image_folder", "npz", "lens", "em"} <= set(available_datasets())


def test_unknown_kind_suggests_a_close_name():
    with pytest.raises(ConfigError) as err:
        load_dataset("cifar11")
    assert "cifar11" in err.value.message and "cifar10" in (err.value.hint or "")


def test_unknown_option_is_named():
    with pytest.raises(ConfigError) as err:
        load_dataset("digits", szie=16)
    assert "szie" in err.value.message and "size" in (err.value.hint or "")


def test_file_datasets_need_root():
    with pytest.raises(ConfigError, match="root"):
        load_dataset("cifar10")


@pytest.mark.parametrize("kind", ["cifar10", "cifar100", "image_folder", "npz", "lens", "em"])
def test_missing_root_names_the_path(kind, tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError) as err:
        load_dataset(kind, root=missing)
    assert str(missing) in err.value.message and "does not exist" in err.value.message
    assert err.value.hint


def test_bad_option_values_are_config_errors():
    with pytest.raises(ConfigError, match="test_fraction"):
        load_dataset("digits", test_fraction=1.5)
    with pytest.raises(ConfigError, match="size"):
        load_dataset("digits", size=0)


def test_every_kind_accepts_size():
    import inspect

    from genolang.runtime.data.dataset import _LOADERS

    # The experiment config passes its `size` to whichever loader it names.
    assert all("size" in inspect.signature(loader).parameters for loader in _LOADERS.values())
