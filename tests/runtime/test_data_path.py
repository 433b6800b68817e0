"""An experiment's `data.path` is read from its spec file's folder, from any working directory;
a missing one is reported as `data.path`; a binary task's F-beta says which β it is (issue 22,
item 6). The README's image-folder example is run here as written."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import genolang
from genolang.base.errors import DataError
from genolang.runtime.jobs.driver import load_data, pick_experiment, search_data

Image = pytest.importorskip("PIL.Image")
README = Path(__file__).resolve().parents[2] / "README.md"


def readme_image_folder_spec() -> str:
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```$", README.read_text(encoding="utf-8"), re.S | re.M)
    (spec,) = [b for b in blocks if "kind = image_folder" in b]
    return spec


def photos(root: Path, per_class: int = 6) -> None:
    for name, level in (("cats", 30), ("dogs", 220)):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(np.full((40, 48, 3), level + i, np.uint8)).save(root / name / f"{i}.jpg")


@pytest.fixture
def project(tmp_path, monkeypatch):
    """The README's spec in proj/ beside proj/photos, run from another folder."""
    (tmp_path / "proj").mkdir()
    photos(tmp_path / "proj" / "photos")
    spec = tmp_path / "proj" / "mine.geno"
    spec.write_text(readme_image_folder_spec())
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    return spec


def test_a_relative_data_path_is_read_from_the_spec_folder(project):
    name, config = pick_experiment(genolang.load(project), None)
    assert name == "mine" and Path(config.data.path) == project.parent / "photos"
    halves = search_data(load_data(config), config)
    assert halves.train_x.shape[1:] == (3, 32, 32)
    assert set(halves.train_y.tolist()) == set(halves.val_y.tolist()) == {0, 1}


def test_packaged_specs_keep_reading_data_from_the_current_directory():
    from genolang.compiler.lower.load import library_spec

    config = pick_experiment(genolang.load(library_spec("science/lens")), None)[1]
    assert config.data.path == "data/sglfc"


def test_a_missing_data_path_names_the_field(project):
    project.write_text(project.read_text().replace('path = "photos"', 'path = "fotos"'))
    config = pick_experiment(genolang.load(project), None)[1]
    with pytest.raises(DataError) as err:
        load_data(config)
    assert str(project.parent / "fotos") in err.value.message
    assert "`data.path`" in err.value.hint and "spec file's folder" in err.value.hint


class _Binary(nn.Module):
    def forward(self, x):
        from types import SimpleNamespace

        return SimpleNamespace(logits=torch.stack([-x.flatten(1).mean(1), x.flatten(1).mean(1)], 1))

    def parameters(self, recurse=True):
        yield nn.Parameter(torch.zeros(1))


def test_a_binary_tasks_f_beta_states_its_beta(capsys):
    from genolang.cli.train import _print_metrics
    from genolang.runtime.data.augment import Augment
    from genolang.runtime.retrain.loop import evaluate

    x = torch.linspace(-1, 1, 8).view(8, 1, 1, 1)
    metrics = evaluate(_Binary(), x, (x.flatten() > 0).long(), Augment(mean=(0.0,), std=(1.0,)), batch=4)
    assert metrics["fbeta_beta2"] == 1e-3
    _print_metrics(metrics)
    assert "fbeta_max: 1 (F-beta with beta^2 = 0.001: precision weighted 1000x over recall" in capsys.readouterr().out
