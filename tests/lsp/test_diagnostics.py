"""Diagnostics and formatting over stdio: the same diagnostics as `trellis check`,
with exact ranges, for the whole project; cleared when fixed; unsaved buffers win
over the disk."""

import subprocess

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcMethodNotFound

from conftest import (
    BIN,
    as_tuple,
    change,
    check_json,
    diagnostics_of,
    make_project,
    open_file,
    position_of,
    start,
    uri,
    wait_for,
)

# The namespace reference misspelt, after multi-byte characters on its line; and the
# namespace declared a second time in another file.
APP = (
    '/* \U0001F600 é */ namespace "shop" cluster="shop"\n'
    "\n"
    'workload "web" cluster="shop" namespace="shpo" {\n'
    '    image "nginx:1.27"\n'
    '    port "http" 8080\n'
    "}\n"
)
DUP = 'namespace "shop" cluster="shop"\n'


def lsp_view(diags):
    return [
        (
            d.code,
            d.message,
            as_tuple(d.range),
            [(r.message, r.location.uri, as_tuple(r.location.range)) for r in d.related_information or []],
        )
        for d in diags
    ]


async def test_diagnostics_are_those_of_check_with_exact_utf16_ranges(client, tmp_path):
    root = make_project(tmp_path, {"app.kdl": APP, "dup.kdl": DUP})
    await start(client, root)
    open_file(client, root / "app.kdl")

    # The oracle: `trellis check --format json` on the same files, its byte spans
    # turned into UTF-16 positions here.
    expected = {}
    for d in check_json(root):
        text = (root / d["file"]).read_text(encoding="utf-8")
        rng = (position_of(text, d["span"]["start"]), position_of(text, d["span"]["end"]))
        related = []
        for r in d["related"]:
            rtext = (root / r["file"]).read_text(encoding="utf-8")
            related.append(
                (
                    r["message"],
                    uri(root / r["file"]),
                    (position_of(rtext, r["span"]["start"]), position_of(rtext, r["span"]["end"])),
                )
            )
        expected.setdefault(d["file"], []).append((d["code"], d["message"], rng, related))
    assert set(expected) == {"app.kdl", "dup.kdl"}

    for name, want in expected.items():
        got = await diagnostics_of(client, root / name, lambda ds: len(ds) > 0)
        assert lsp_view(got) == want

    # The exact range, by hand: `"shpo"` on line 2 starts after 51 UTF-16 units (the
    # emoji takes two).
    app = client.diagnostics[uri(root / "app.kdl")]
    unresolved = [d for d in app if d.code == "TR0302"]
    assert len(unresolved) == 1
    assert unresolved[0].message == "no namespace named `shpo` in cluster `shop`"
    assert as_tuple(unresolved[0].range) == ((2, 40), (2, 46))
    assert unresolved[0].severity == types.DiagnosticSeverity.Error
    assert unresolved[0].source == "trellis"

    # The duplicate points at the first declaration as related information.
    dup = client.diagnostics[uri(root / "dup.kdl")]
    assert [d.code for d in dup] == ["TR0301"]
    assert as_tuple(dup[0].range) == ((0, 10), (0, 16))
    related = dup[0].related_information
    assert len(related) == 1
    assert related[0].message == "first declared here"
    assert related[0].location.uri == uri(root / "app.kdl")
    assert as_tuple(related[0].location.range) == ((0, 21), (0, 27))


async def test_utf8_position_encoding_when_the_client_offers_it(client, tmp_path):
    root = make_project(tmp_path, {"app.kdl": APP, "dup.kdl": DUP})
    result = await start(client, root, encodings=[types.PositionEncodingKind.Utf8])
    assert result.capabilities.position_encoding == types.PositionEncodingKind.Utf8
    dup = await diagnostics_of(client, root / "dup.kdl", lambda ds: len(ds) == 1)
    # In UTF-8 the emoji is 4 bytes and é 2: `"shop"` starts at byte 24 of line 0.
    assert as_tuple(dup[0].related_information[0].location.range) == ((0, 24), (0, 30))


async def test_fixing_edits_clear_diagnostics(client, tmp_path):
    root = make_project(tmp_path, {"app.kdl": APP, "dup.kdl": DUP})
    await start(client, root)
    open_file(client, root / "app.kdl")
    await diagnostics_of(client, root / "app.kdl", lambda ds: any(d.code == "TR0302" for d in ds))
    await diagnostics_of(client, root / "dup.kdl", lambda ds: len(ds) == 1)

    # Fix the misspelt namespace: `shpo` -> `shop`, inside the quotes.
    change(client, root / "app.kdl", 2, (2, 41), (2, 45), "shop")
    app = await diagnostics_of(client, root / "app.kdl", lambda ds: not any(d.code == "TR0302" for d in ds))
    assert all(d.code != "TR0302" for d in app)

    # Remove the duplicate in the other file, unsaved: its list is published empty.
    open_file(client, root / "dup.kdl")
    change(client, root / "dup.kdl", 2, (0, 0), (1, 0), "")
    await diagnostics_of(client, root / "dup.kdl", lambda ds: len(ds) == 0)
    # The TR0301 went with it, and app.kdl is clean.
    await diagnostics_of(client, root / "app.kdl", lambda ds: len(ds) == 0)


async def test_unsaved_buffer_overrides_disk_until_closed(client, tmp_path):
    root = make_project(tmp_path, {})
    await start(client, root)
    net = root / "network.kdl"
    text = net.read_text(encoding="utf-8")
    open_file(client, net, text.replace("switch", "swtich"))
    got = await diagnostics_of(client, net, lambda ds: len(ds) == 1)
    assert got[0].code == "TR0201"
    assert got[0].data["help"] == "did you mean `switch`?"
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri(net)))
    )
    await diagnostics_of(client, net, lambda ds: len(ds) == 0)


async def test_save_reads_the_disk(client, tmp_path):
    root = make_project(tmp_path, {})
    await start(client, root)
    app = root / "app.kdl"
    open_file(client, app)
    # Another file changes on disk and the user saves: it is read again.
    (root / "extra.kdl").write_text('namespace "shop" cluster="shop"\n', encoding="utf-8")
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri(app)))
    )
    got = await diagnostics_of(client, root / "extra.kdl", lambda ds: len(ds) == 1)
    assert got[0].code == "TR0301"


async def test_formatting_is_trellis_fmt(client, tmp_path):
    messy = 'namespace   "shop"   cluster=shop\n\n\n\nworkload "web" cluster="shop" namespace="shop" { image "nginx:1.27"; port "http" 8080 }\n'
    root = make_project(tmp_path, {"app.kdl": messy})
    await start(client, root)
    open_file(client, root / "app.kdl")
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri=uri(root / "app.kdl")),
            options=types.FormattingOptions(tab_size=4, insert_spaces=True),
        )
    )
    assert len(edits) == 1
    assert as_tuple(edits[0].range) == ((0, 0), (5, 0))
    # The oracle: `trellis fmt` on the same file.
    subprocess.run([BIN, "fmt", str(root / "app.kdl")], check=True, timeout=60)
    assert edits[0].new_text == (root / "app.kdl").read_text(encoding="utf-8")

    # A formatted file needs no edit; one that does not parse gets none.
    change(client, root / "app.kdl", 2, (0, 0), (5, 0), edits[0].new_text)
    again = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri=uri(root / "app.kdl")),
            options=types.FormattingOptions(tab_size=4, insert_spaces=True),
        )
    )
    assert list(again) == []
    change(client, root / "app.kdl", 3, (0, 0), (0, 0), "{{{")
    broken = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri=uri(root / "app.kdl")),
            options=types.FormattingOptions(tab_size=4, insert_spaces=True),
        )
    )
    assert broken is None


async def test_unknown_method_is_method_not_found(client, tmp_path):
    root = make_project(tmp_path, {})
    await start(client, root)
    with pytest.raises(JsonRpcMethodNotFound):
        await client.protocol.send_request_async("trellis/noSuchThing", {})
    # It still answers afterwards.
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri=uri(root / "network.kdl")),
            options=types.FormattingOptions(tab_size=4, insert_spaces=True),
        )
    )
    assert list(edits) == []


async def test_an_unreadable_root_is_logged(client, tmp_path):
    await start(client, tmp_path / "no-such-folder")
    await wait_for(
        lambda: any("cannot read the project" in m.message for m in client.log_messages),
        "the log message",
    )
    # It still answers.
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri=uri(tmp_path / "no-such-folder" / "a.kdl")),
            options=types.FormattingOptions(tab_size=4, insert_spaces=True),
        )
    )
    assert edits is None


async def test_files_changed_outside_the_editor(client, tmp_path):
    root = make_project(tmp_path, {})
    await start(client, root)
    open_file(client, root / "app.kdl")
    # A file appears on disk; the client's watcher reports it.
    extra = root / "extra.kdl"
    extra.write_text('namespace "shop" cluster="shop"\n', encoding="utf-8")
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=uri(extra), type=types.FileChangeType.Created)]
        )
    )
    got = await diagnostics_of(client, extra, lambda ds: len(ds) == 1)
    assert got[0].code == "TR0301"
    # And is deleted: its diagnostics are cleared.
    extra.unlink()
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=uri(extra), type=types.FileChangeType.Deleted)]
        )
    )
    await diagnostics_of(client, extra, lambda ds: len(ds) == 0)


def test_exit_codes_follow_the_protocol(tmp_path):
    """The real binary over raw stdio: 0 after shutdown and exit, 1 for an exit
    without shutdown."""
    import json

    def msg(obj):
        body = json.dumps(obj).encode()
        return b"Content-Length: %d\r\n\r\n" % len(body) + body

    init = msg(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"processId": None, "rootUri": uri(tmp_path), "capabilities": {}},
        }
    ) + msg({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    shutdown = msg({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
    exit_ = msg({"jsonrpc": "2.0", "method": "exit"})
    clean = subprocess.run([BIN, "lsp"], input=init + shutdown + exit_, capture_output=True, timeout=60)
    assert clean.returncode == 0, clean.stderr
    assert b'"id":2,"result":null' in clean.stdout
    abrupt = subprocess.run([BIN, "lsp"], input=init + exit_, capture_output=True, timeout=60)
    assert abrupt.returncode == 1, abrupt.stderr
