"""Speed of `geno lsp` through the protocol, as an editor sees it.

* library: every spec of specs/ opened at once in a fresh server, until each has its
  diagnostics (target: under 2 s);
* change: in the warm server, an edit to the largest spec in specs/ until its new diagnostics
  arrive, repeated (target: under 100 ms). The time includes the server's debounce.

A real LSP client (pygls) drives `python -m genolang lsp` over stdio; times are wall clock
from sending the notification to receiving publishDiagnostics for that version. The CPU time
the server process spent (Linux: /proc) is printed beside them: on a machine shared with other
work the wall clock includes waiting for a core, the CPU time does not.

    python bench/bench_lsp.py [--edits N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types as T
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parents[1]


class Client(LanguageClient):
    def __init__(self) -> None:
        super().__init__("bench-lsp", "1")
        self.arrived: dict[tuple[str, int | None], float] = {}
        self.errors: dict[str, int] = {}


def _client() -> Client:
    client = Client()

    @client.feature(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def published(params: T.PublishDiagnosticsParams):
        client.arrived[(params.uri, params.version)] = time.perf_counter()
        client.errors[params.uri] = len(params.diagnostics)

    return client


async def _wait(client: Client, keys, cap: float = 120.0) -> float:
    deadline = time.monotonic() + cap
    while not all(k in client.arrived for k in keys):
        if time.monotonic() > deadline:
            raise SystemExit(f"no diagnostics within {cap} s")
        await asyncio.sleep(0.001)
    return max(client.arrived[k] for k in keys)


def _cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (0.0 where /proc is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main(edits: int) -> None:
    specs = sorted((ROOT / "specs").rglob("*.geno"))
    largest = max(specs, key=lambda p: p.stat().st_size)
    client = _client()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GENOLANG_THREADS": "1"}
    await client.start_io(sys.executable, "-m", "genolang", "lsp", env=env)
    await client.initialize_async(T.InitializeParams(capabilities=T.ClientCapabilities(), root_uri=ROOT.as_uri(),
                                                     workspace_folders=[T.WorkspaceFolder(ROOT.as_uri(), "genolang")]))
    client.initialized(T.InitializedParams())

    pid = client._server.pid
    cpu = _cpu(pid)
    start = time.perf_counter()
    for path in specs:
        client.text_document_did_open(T.DidOpenTextDocumentParams(
            T.TextDocumentItem(path.as_uri(), "geno", 1, path.read_text(encoding="utf-8"))))
    done = await _wait(client, [(p.as_uri(), 1) for p in specs])
    library, library_cpu = done - start, _cpu(pid) - cpu
    flagged = sum(1 for p in specs if client.errors.get(p.as_uri()))

    text = largest.read_text(encoding="utf-8")
    latencies = []
    cpu = _cpu(pid)
    for version in range(2, edits + 2):
        edited = text + f"\n# edit {version}\n" if version % 2 else text
        sent = time.perf_counter()
        client.text_document_did_change(T.DidChangeTextDocumentParams(
            T.VersionedTextDocumentIdentifier(uri=largest.as_uri(), version=version),
            [T.TextDocumentContentChangeWholeDocument(edited)]))
        latencies.append(await _wait(client, [(largest.as_uri(), version)]) - sent)

    change_cpu = (_cpu(pid) - cpu) / edits
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    ms = [x * 1000 for x in latencies]
    print(f"library: {len(specs)} specs opened, all diagnosed in {library:.2f} s (target < 2 s; server CPU "
          f"{library_cpu:.2f} s); {flagged} with errors")
    print(f"change: {largest.relative_to(ROOT)} ({largest.stat().st_size} bytes), {edits} edits in a warm server: "
          f"median {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms (target < 100 ms; server CPU "
          f"{change_cpu * 1000:.0f} ms per edit)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=20)
    asyncio.run(main(parser.parse_args().edits))
