"""Completion and the quick fixes of "did you mean" diagnostics, over stdio."""

from lsprotocol import types

from conftest import as_tuple, change, diagnostics_of, make_project, open_file, start, uri


async def complete(client, path, line, character):
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri(path)),
            position=types.Position(line=line, character=character),
        )
    )
    items = result.items if hasattr(result, "items") else result
    return {i.label: i for i in items or []}


async def test_node_names_at_the_top_level_and_in_blocks(client, tmp_path):
    root = make_project(tmp_path, {})
    await start(client, root)
    net = root / "network.kdl"
    text = open_file(client, net)
    lines = text.split("\n")
    # A new empty line after the last node: the top-level nodes.
    change(client, net, 2, (len(lines) - 1, 0), (len(lines) - 1, 0), "\n")
    items = await complete(client, net, len(lines), 0)
    assert set(items) == {
        "network", "host", "cluster", "namespace", "workload", "service", "ingress",
        "policy", "expect",
    }
    assert items["workload"].detail == "A set of identical pods (a Deployment)."
    # A new line in the cluster's block (after line 18): the cluster's children.
    change(client, net, 3, (18, 40), (18, 40), "\n    ")
    items = await complete(client, net, 19, 4)
    assert {"network", "plugin", "kubernetes", "control-plane", "load-balancer", "node-pool",
            "pod-cidr", "service-cidr", "ip-family", "recreate"} <= set(items)
    assert "service" not in items and "switch" not in items
    # Half typed: `plu` is replaced.
    change(client, net, 4, (19, 4), (19, 4), "plu")
    items = await complete(client, net, 19, 7)
    assert "plugin" in items
    edit = items["plugin"].text_edit
    assert as_tuple(edit.range) == ((19, 4), (19, 7)) and edit.new_text == "plugin"


async def test_property_names_and_values(client, tmp_path):
    root = make_project(tmp_path, {})
    await start(client, root)
    net = root / "network.kdl"
    open_file(client, net)
    # After `node-pool "linux" os="linux" count=3 `: the properties not yet written.
    change(client, net, 2, (18, 40), (18, 40), " ")
    items = await complete(client, net, 18, 41)
    assert {"vm-size=", "os-sku=", "max-pods="} <= set(items)
    assert "os=" not in items and "count=" not in items
    # Inside `"calico"` of `plugin`: the plugins, replacing the whole string.
    items = await complete(client, net, 16, 13)
    assert set(items) == {"calico", "flannel"}
    edit = items["flannel"].text_edit
    assert as_tuple(edit.range) == ((16, 11), (16, 19)) and edit.new_text == '"flannel"'
    # Inside `os="linux"`: the operating systems.
    items = await complete(client, net, 18, 26)
    assert set(items) == {"linux", "windows"}
    # Just after a typed `key=`.
    change(client, net, 3, (18, 41), (18, 41), "vm-size=")
    change(client, net, 4, (18, 25), (18, 32), "")
    items = await complete(client, net, 18, 25)
    assert set(items) == {"linux", "windows"}


async def test_names_of_declared_objects_for_references(client, tmp_path):
    root = make_project(tmp_path, {})
    await start(client, root)
    app = root / "app.kdl"
    open_file(client, app)
    # `cluster="shop"` of the workload: the clusters.
    items = await complete(client, app, 2, 25)
    assert set(items) == {"shop"}
    assert items["shop"].kind == types.CompletionItemKind.Reference
    # `namespace="shop"`: the cluster's namespaces and the built-in ones.
    items = await complete(client, app, 2, 42)
    assert set(items) == {"shop", "default", "kube-node-lease", "kube-public", "kube-system"}
    # A half-typed `network "` in the host (network.kdl line 12): the networks.
    net = root / "network.kdl"
    open_file(client, net)
    change(client, net, 2, (11, 12), (11, 18), '"c')
    items = await complete(client, net, 11, 14)
    assert set(items) == {"corp"}
    assert as_tuple(items["corp"].text_edit.range) == ((11, 12), (11, 14))


async def test_quick_fixes_apply_did_you_mean(client, tmp_path):
    root = make_project(tmp_path, {})
    await start(client, root)
    net = root / "network.kdl"
    good = net.read_text(encoding="utf-8")
    bad = (
        good.replace("    switch", "    swtich")
        .replace('plugin "calico"', 'plugin "calcio"')
        .replace('os="linux"', 'ox="linux"')
    )
    open_file(client, net, bad)
    diags = await diagnostics_of(client, net, lambda ds: len(ds) == 3)
    assert sorted(d.code for d in diags) == ["TR0201", "TR0202", "TR0207"]
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri(net)),
            range=types.Range(
                start=types.Position(line=0, character=0),
                end=types.Position(line=30, character=0),
            ),
            context=types.CodeActionContext(diagnostics=list(diags)),
        )
    )
    assert sorted(a.title for a in actions) == [
        "Replace with `calico`", "Replace with `os`", "Replace with `switch`",
    ]
    edits = []
    for a in actions:
        assert a.kind == types.CodeActionKind.QuickFix
        assert len(a.diagnostics) == 1
        (file_edits,) = a.edit.changes.values()
        edits.extend(file_edits)
    assert sorted((as_tuple(e.range), e.new_text) for e in edits) == [
        (((2, 4), (2, 10)), "switch"),
        (((16, 11), (16, 19)), '"calico"'),
        (((18, 22), (18, 24)), "os"),
    ]
    # Applied (last first, so earlier ranges stay valid), they fix the file.
    version = 2
    for e in sorted(edits, key=lambda e: as_tuple(e.range), reverse=True):
        r = as_tuple(e.range)
        change(client, net, version, r[0], r[1], e.new_text)
        version += 1
    await diagnostics_of(client, net, lambda ds: len(ds) == 0)
    # Only the diagnostics in the requested range get actions.
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri(net)),
            range=types.Range(
                start=types.Position(line=2, character=5),
                end=types.Position(line=2, character=5),
            ),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    assert list(actions or []) == []
