"""A real LSP client (pytest-lsp) talking to `geno lsp` over stdio, and a small project on disk."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytest_lsp", reason="the language server tests need the lsp and test extras (pytest-lsp)")

import pytest_lsp  # noqa: E402
from lsprotocol import types as T  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities  # noqa: E402
from pytest_lsp.client import make_test_lsp_client  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from lsp_helpers import uri  # noqa: E402

HERE = Path(__file__).parent
PROJECT_FILES = HERE / "project"



def recording_client() -> LanguageClient:
    """The test client, also keeping every publishDiagnostics in order (with its version)."""
    client = make_test_lsp_client()
    client.published = []
    features = client.protocol.fm.features
    original = features[T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def record(params):
        client.published.append(params)
        return original(params)

    features[T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = record
    return client


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lsp") / "project"
    shutil.copytree(PROJECT_FILES, root)
    (root / "geno.toml").write_text("")
    return root


ENV = {**os.environ, "OMP_NUM_THREADS": "1", "GENOLANG_THREADS": "1"}


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=[sys.executable, "-m", "genolang", "lsp"],
                                                              server_env=ENV, client_factory=recording_client))
async def client(lsp_client: LanguageClient, project: Path):
    await lsp_client.initialize_session(T.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=uri(project),
        workspace_folders=[T.WorkspaceFolder(uri(project), "project")]))
    yield
    await lsp_client.shutdown_session()


