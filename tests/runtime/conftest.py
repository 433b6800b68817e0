import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    # Tiny networks gain nothing from intra-op threads, and on a shared 2-core machine extra
    # threads only spin; one thread also keeps float results bit-identical between runs.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
