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


@pytest.fixture(scope="session")
def finished(tmp_path_factory):
    """One finished tiny study (received.make_study), made once for the session: the hostile
    study and run-directory tests each copy it (received.copy) before damaging the copy."""
    import received

    return received.make_study(tmp_path_factory.mktemp("made"))
