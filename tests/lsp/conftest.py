"""Shared setup of the language-server tests: the real `trellis lsp` binary
(TRELLIS_BIN, set by tests/lsp.rs) driven by pytest-lsp's client."""

import asyncio
import json
import os
import pathlib
import shutil
import subprocess
import time

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

BIN = os.environ.get("TRELLIS_BIN", "trellis")
ROOT = pathlib.Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart"

# Every wait is bounded: a server that stops answering fails the test, it does not
# hang it.
TIMEOUT = 20.0


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[BIN, "lsp"]))
async def client(lsp_client: LanguageClient):
    yield
    if lsp_client.capabilities is None and lsp_client._server is not None:
        # The test failed before `initialize`: the server still waits for it.
        lsp_client._server.kill()
    else:
        await lsp_client.shutdown_session()


def copy_example(tmp_path, name):
    """A copy of examples/NAME (with its trellis.lock)."""
    root = tmp_path / name
    shutil.copytree(ROOT / "examples" / name, root)
    return root


def make_project(tmp_path, files, lock=False):
    """A project folder: the quickstart example's network.kdl and app.kdl (and its
    trellis.lock when `lock`), with `files` ({name: text}) written over them."""
    root = tmp_path / "project"
    root.mkdir()
    for name in ("network.kdl", "app.kdl") + (("trellis.lock",) if lock else ()):
        shutil.copy(QUICKSTART / name, root / name)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def uri(path):
    return pathlib.Path(path).as_uri()


async def start(client, root, encodings=None):
    caps = types.ClientCapabilities(
        general=types.GeneralClientCapabilities(position_encodings=encodings)
        if encodings
        else None
    )
    return await client.initialize_session(
        types.InitializeParams(
            capabilities=caps,
            root_uri=uri(root),
            workspace_folders=[types.WorkspaceFolder(uri=uri(root), name="project")],
        )
    )


def open_file(client, path, text=None):
    path = pathlib.Path(path)
    if text is None:
        text = path.read_text(encoding="utf-8")
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri(path), language_id="trellis", version=1, text=text
            )
        )
    )
    return text


def change(client, path, version, start, end, text):
    """One incremental change: replace the range start..end ((line, character))."""
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(
                uri=uri(path), version=version
            ),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=start[0], character=start[1]),
                        end=types.Position(line=end[0], character=end[1]),
                    ),
                    text=text,
                )
            ],
        )
    )


async def wait_for(predicate, what):
    """Polls `predicate` until it holds, at most TIMEOUT seconds."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def diagnostics_of(client, path, check):
    """Waits until the diagnostics published for `path` satisfy `check`."""
    key = uri(path)
    await wait_for(
        lambda: key in client.diagnostics and check(client.diagnostics[key]),
        f"diagnostics of {path}",
    )
    return client.diagnostics[key]


def position_of(text, byte_offset, encoding="utf-16"):
    """The LSP position of a byte offset, computed independently of the server."""
    before = text.encode("utf-8")[:byte_offset].decode("utf-8")
    lines = before.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    last = lines[-1]
    if encoding == "utf-16":
        character = len(last.encode("utf-16-le")) // 2
    else:
        character = len(last.encode("utf-8"))
    return (len(lines) - 1, character)


def check_json(root):
    """What `trellis check --format json` reports for the project on disk."""
    out = subprocess.run(
        [BIN, "check", str(root), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(out.stdout)["diagnostics"]


def as_tuple(r):
    return ((r.start.line, r.start.character), (r.end.line, r.end.character))


def doc_position(path, line, character):
    return types.TextDocumentPositionParams(
        text_document=types.TextDocumentIdentifier(uri=uri(path)),
        position=types.Position(line=line, character=character),
    )
