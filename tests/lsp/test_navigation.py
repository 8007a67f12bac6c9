"""Hover, go to definition, find references and document symbols over stdio, on the
quickstart example (with its trellis.lock, so allocations are known)."""

import pathlib
from urllib.parse import unquote, urlparse

from lsprotocol import types

from conftest import as_tuple, diagnostics_of, make_project, open_file, start, uri


def pos(path, line, character):
    return dict(
        text_document=types.TextDocumentIdentifier(uri=uri(path)),
        position=types.Position(line=line, character=character),
    )


async def hover_text(client, path, line, character):
    result = await client.text_document_hover_async(types.HoverParams(**pos(path, line, character)))
    assert result is not None, f"no hover at {line}:{character}"
    return result.contents.value


async def definition(client, path, line, character):
    result = await client.text_document_definition_async(
        types.DefinitionParams(**pos(path, line, character))
    )
    return sorted((loc.uri, as_tuple(loc.range)) for loc in result or [])


async def test_hover_documents_nodes_and_properties_from_the_schema(client, tmp_path):
    root = make_project(tmp_path, {}, lock=True)
    await start(client, root)
    app = root / "app.kdl"
    open_file(client, app)
    # `workload` (line 2): the schema's doc, its arguments and properties.
    text = await hover_text(client, app, 2, 3)
    assert text.startswith("**`workload`**: A set of identical pods (a Deployment).")
    assert "- `name`: a Kubernetes name string; name of the workload" in text
    assert "- `cluster`: the name of a cluster, required" in text
    # The `os=` property of a node pool (network.kdl line 18).
    text = await hover_text(client, root / "network.kdl", 18, 23)
    assert text.startswith('`os`: one of "linux" or "windows"')
    assert "default `linux`" in text


async def test_hover_on_references_shows_the_targets_facts(client, tmp_path):
    root = make_project(tmp_path, {}, lock=True)
    await start(client, root)
    app = root / "app.kdl"
    open_file(client, app)
    # The service's name (line 8): its allocated address and NodePort (trellis.lock).
    text = await hover_text(client, app, 8, 10)
    assert "**service `web`** in namespace `shop` of cluster `shop`" in text
    assert "- type: `LoadBalancer`" in text
    assert "- address: `10.20.2.255`" in text
    assert "- port 80/TCP → `http`, NodePort 30000" in text
    # `cluster="shop"` (line 0): the cluster's plugin and network.
    text = await hover_text(client, app, 0, 27)
    assert "**cluster `shop`**" in text
    assert "- network: `corp`" in text
    assert "- plugin: `calico`" in text
    assert "- API server address: `10.20.2.1`" in text
    # `network "corp"` in the cluster (network.kdl line 15).
    text = await hover_text(client, root / "network.kdl", 15, 14)
    assert "**network `corp`**" in text
    assert "- VIP pool: `10.20.2.0`–`10.20.2.255`" in text


async def test_hover_shows_the_help_of_a_diagnostic(client, tmp_path):
    root = make_project(tmp_path, {})
    await start(client, root)
    app = root / "app.kdl"
    open_file(client, app, app.read_text().replace('namespace="shop" {\n    image', 'namespace="shpo" {\n    image'))
    await diagnostics_of(client, app, lambda ds: any(d.code == "TR0302" for d in ds))
    text = await hover_text(client, app, 2, 42)
    assert "**TR0302** no namespace named `shpo` in cluster `shop`" in text
    assert "help: did you mean `shop`?" in text


async def test_definition_of_every_kind_of_reference(client, tmp_path):
    root = make_project(tmp_path, {}, lock=True)
    await start(client, root)
    app, net = root / "app.kdl", root / "network.kdl"
    open_file(client, app)
    cluster_decl = [(uri(net), ((14, 8), (14, 14)))]
    network_decl = [(uri(net), ((1, 8), (1, 14)))]
    namespace_decl = [(uri(app), ((0, 10), (0, 16)))]
    # cluster= of the namespace, the workload and the service.
    assert await definition(client, app, 0, 27) == cluster_decl
    assert await definition(client, app, 2, 25) == cluster_decl
    assert await definition(client, app, 8, 24) == cluster_decl
    # namespace= of the workload.
    assert await definition(client, app, 2, 42) == namespace_decl
    # `network "corp"` in the host and in the cluster.
    assert await definition(client, net, 11, 14) == network_decl
    assert await definition(client, net, 15, 14) == network_decl
    # A declaration's own name is its definition; whitespace has none.
    assert await definition(client, net, 14, 10) == cluster_decl
    assert await definition(client, app, 1, 0) == []


async def test_references_across_files(client, tmp_path):
    root = make_project(tmp_path, {}, lock=True)
    await start(client, root)
    app, net = root / "app.kdl", root / "network.kdl"
    open_file(client, net)
    result = await client.text_document_references_async(
        types.ReferenceParams(
            **pos(net, 14, 10), context=types.ReferenceContext(include_declaration=True)
        )
    )
    got = sorted((loc.uri, as_tuple(loc.range)) for loc in result)
    assert got == sorted(
        [
            (uri(net), ((14, 8), (14, 14))),
            (uri(app), ((0, 25), (0, 31))),
            (uri(app), ((2, 23), (2, 29))),
            (uri(app), ((8, 22), (8, 28))),
        ]
    )
    # From a reference, without the declaration: the network's two uses.
    result = await client.text_document_references_async(
        types.ReferenceParams(
            **pos(net, 11, 14), context=types.ReferenceContext(include_declaration=False)
        )
    )
    got = sorted((loc.uri, as_tuple(loc.range)) for loc in result)
    assert got == [(uri(net), ((11, 12), (11, 18))), (uri(net), ((15, 12), (15, 18)))]


async def test_document_symbols(client, tmp_path):
    root = make_project(tmp_path, {}, lock=True)
    await start(client, root)
    app = root / "app.kdl"
    open_file(client, app)
    result = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri(app)))
    )
    assert [s.name for s in result] == ["namespace shop", "workload web", "service web"]
    workload = result[1]
    assert workload.kind == types.SymbolKind.Class
    assert as_tuple(workload.range) == ((2, 0), (6, 1))
    assert as_tuple(workload.selection_range) == ((2, 9), (2, 14))
    assert [c.name for c in workload.children] == ["image nginx:1.27", "replicas 3", "port http"]


POLICIES = (
    'policy "lockdown" cluster="shop" namespace="shop" preset="default-deny"\n'
    'policy "dns" cluster="shop" namespace="shop" preset="allow-dns"\n'
    'policy "web-in" cluster="shop" namespace="shop" preset="default-deny" {\n'
    '    pods app="web"\n'
    "}\n"
)


async def test_policy_presets(client, tmp_path):
    root = make_project(tmp_path, {"policies.kdl": POLICIES}, lock=True)
    await start(client, root)
    pol = root / "policies.kdl"
    open_file(client, pol)
    # Definition: the preset in a read-only copy of the built-in presets.
    result = await client.text_document_definition_async(
        types.DefinitionParams(**pos(pol, 0, 60))
    )
    assert len(result) == 1
    target = result[0]
    assert target.uri.endswith("/presets.kdl")
    lines = pathlib.Path(unquote(urlparse(target.uri).path)).read_text().split("\n")
    line = lines[target.range.start.line]
    assert line[target.range.start.character : target.range.end.character] == '"default-deny"'
    assert line.startswith('preset "default-deny"')
    # References: both policies that use it.
    result = await client.text_document_references_async(
        types.ReferenceParams(
            **pos(pol, 2, 60), context=types.ReferenceContext(include_declaration=True)
        )
    )
    got = sorted((loc.uri, as_tuple(loc.range)) for loc in result)
    assert got == [(uri(pol), ((0, 57), (0, 71))), (uri(pol), ((2, 55), (2, 69)))]
    # Hover: the preset's definition.
    text = await hover_text(client, pol, 1, 55)
    assert "built-in preset:" in text
    assert 'preset "allow-dns" {' in text
    assert "port 53 protocol=\"UDP\"" in text


async def test_workload_and_service_references_in_policies_and_ingresses(client, tmp_path):
    from conftest import copy_example

    root = copy_example(tmp_path, "multi-tier")
    await start(client, root)
    apps, pols = root / "apps.kdl", root / "policies.kdl"
    open_file(client, pols)
    controller = [(uri(apps), ((3, 9), (3, 21)))]
    web = [(uri(apps), ((19, 9), (19, 14)))]
    # `from workload="controller" namespace="ingress-nginx"`: the other namespace.
    assert await definition(client, pols, 10, 25) == controller
    # `from workload="web"` and `workloads "web"`: the policy's namespace.
    assert await definition(client, pols, 18, 24) == web
    assert await definition(client, pols, 8, 16) == web
    # `route "/" service="web"` in the ingress: the service.
    assert await definition(client, apps, 55, 28) == [(uri(apps), ((36, 8), (36, 13)))]
    text = await hover_text(client, apps, 55, 28)
    assert "**service `web`** in namespace `store` of cluster `retail`" in text
    assert "- port 80/TCP → `http`" in text

    # Every use of workload "api" in the policies, found independently here.
    want = [(uri(apps), ((25, 9), (25, 14)))]
    for n, line in enumerate(pols.read_text(encoding="utf-8").split("\n")):
        for marker in ('workloads "api"', 'workload="api"'):
            at = line.find(marker)
            if at >= 0:
                col = at + len(marker) - len('"api"')
                want.append((uri(pols), ((n, col), (n, col + 5))))
    assert len(want) >= 4
    result = await client.text_document_references_async(
        types.ReferenceParams(
            **pos(apps, 25, 11), context=types.ReferenceContext(include_declaration=True)
        )
    )
    assert sorted((loc.uri, as_tuple(loc.range)) for loc in result) == sorted(want)
