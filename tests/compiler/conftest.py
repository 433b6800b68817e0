import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    # Tiny networks gain nothing from intra-op threads on a shared 2-core machine.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(before)
