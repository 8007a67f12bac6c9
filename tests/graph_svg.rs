//! `trellis graph --format svg`: trellis lays the topology out itself. The SVG of
//! every example is well-formed XML (roxmltree), deterministic across file orders,
//! draws every node of the topology, and is snapshotted for two examples
//! (`snapshots/graph-svg/`); hostile labels stay text.

use std::path::Path;
use std::process::Command;

use trellis::diag::Diagnostics;
use trellis::graph::{ClusterGroup, Edge, EdgeKind, Node, NodeKind, Topology};
use trellis::source::Sources;
use trellis::{compile, load, Compilation, Options};

mod common;

use common::{example_dirs, ROOT};

fn compile_dir(dir: &Path) -> (Sources, Compilation) {
    let project = load::load(dir, &[]).expect("load");
    let c = compile(&project.sources, project.diagnostics, &Options::default());
    (project.sources, c)
}

/// Every `<text>` of the document, its `<tspan>` lines joined by newlines.
fn texts(doc: &roxmltree::Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|t| {
            let lines: Vec<&str> = t
                .children()
                .filter(|c| c.has_tag_name("tspan"))
                .map(|s| s.text().unwrap_or_default())
                .collect();
            if lines.is_empty() {
                t.text().unwrap_or_default().to_string()
            } else {
                lines.join("\n")
            }
        })
        .collect()
}

fn assert_well_formed(svg: &str, what: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg)
        .unwrap_or_else(|e| panic!("{what}: the SVG is not well-formed XML: {e}\n{svg}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg", "{what}");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg"),
        "{what}"
    );
    for attr in ["width", "height", "viewBox"] {
        assert!(root.attribute(attr).is_some(), "{what}: no {attr}");
    }
    assert!(
        !doc.descendants().any(|n| n.has_tag_name("script")
            || n.has_tag_name("foreignObject")
            || n.attributes().any(|a| a.name().starts_with("on"))),
        "{what}: active content in the SVG"
    );
    texts(&doc)
}

#[test]
fn every_example_svg_is_well_formed_complete_and_deterministic() {
    for dir in example_dirs() {
        let name = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let (sources, c) = compile_dir(&dir);
        common::assert_no_errors(&c, &name);
        let alloc = c.allocation.as_ref().expect("allocation");
        let svg = trellis::graph_svg::svg(&c.model, alloc, None);
        let other = compile(
            &common::reversed(&sources),
            Diagnostics::new(),
            &Options::default(),
        );
        assert_eq!(
            svg,
            trellis::graph_svg::svg(
                &other.model,
                other.allocation.as_ref().expect("alloc"),
                None
            ),
            "{name}: file order changes the SVG"
        );
        let texts = assert_well_formed(&svg, &name);
        let topo = trellis::graph::topology(&c.model, alloc, None);
        for node in topo.nodes() {
            let label = node.label.join("\n");
            assert!(
                texts.contains(&label),
                "{name}: node {} is not drawn with its label",
                node.id
            );
        }
        for c in &topo.clusters {
            assert!(texts.contains(&c.label), "{name}: no box for {}", c.name);
            for e in &c.edges {
                if let Some(label) = &e.label {
                    assert!(
                        texts.iter().any(|t| t.lines().any(|l| l == label)),
                        "{name}: edge label {label} is not drawn"
                    );
                }
            }
        }
        // One cluster alone is a smaller, equally valid drawing.
        for cluster in &c.model.clusters {
            let one = trellis::graph_svg::svg(&c.model, alloc, Some(&cluster.name.value));
            assert_well_formed(&one, &format!("{name} --cluster {}", cluster.name.value));
        }
        if name == "quickstart" || name == "multi-tier" {
            insta::with_settings!({
                snapshot_path => format!("{ROOT}/snapshots/graph-svg"),
                prepend_module_to_snapshot => false,
                omit_expression => true,
            }, {
                insta::assert_snapshot!(name.clone(), svg);
            });
        }
    }
}

#[test]
fn hostile_labels_stay_text() {
    let hostile = "<script>alert(1)</script> \"q\" 'a' & b \u{202E}evil";
    let node = |id: &str, kind| Node {
        id: format!("{id}{hostile}"),
        kind,
        label: vec![hostile.to_string(), "second".to_string()],
    };
    let topo = Topology {
        networks: vec![Node {
            id: "network/corp".to_string(),
            kind: NodeKind::Network,
            label: vec![hostile.to_string()],
        }],
        clusters: vec![ClusterGroup {
            name: "shop".to_string(),
            network: "corp".to_string(),
            label: hostile.to_string(),
            load_balancer: Some(node("lb/", NodeKind::LoadBalancer)),
            services: vec![node("service/", NodeKind::Service)],
            workloads: vec![
                node("workload/a", NodeKind::Workload),
                node("workload/b", NodeKind::Workload),
            ],
            edges: vec![
                Edge {
                    from: format!("lb/{hostile}"),
                    to: format!("service/{hostile}"),
                    kind: EdgeKind::Frontend,
                    label: Some(hostile.to_string()),
                },
                Edge {
                    from: format!("workload/a{hostile}"),
                    to: format!("workload/b{hostile}"),
                    kind: EdgeKind::AllowsSome,
                    label: None,
                },
            ],
        }],
    };
    let svg = trellis::graph_svg::render(&topo);
    assert!(!svg.contains("<script"), "{svg}");
    assert!(!svg.contains('\u{202E}'), "a raw bidi control");
    let texts = assert_well_formed(&svg, "hostile");
    let shown = "<script>alert(1)</script> \"q\" 'a' & b [U+202E]evil";
    assert!(texts.iter().any(|t| t == shown), "{texts:#?}");
    assert!(texts.contains(&format!("{shown}\nsecond")), "{texts:#?}");
}

#[test]
fn cli_writes_the_svg() {
    let out = Command::new(env!("CARGO_BIN_EXE_trellis"))
        .args([
            "graph",
            &format!("{ROOT}/examples/quickstart"),
            "--format",
            "svg",
        ])
        .output()
        .expect("run trellis graph");
    assert_eq!(out.status.code(), Some(0));
    let (_, c) = compile_dir(Path::new(&format!("{ROOT}/examples/quickstart")));
    let expected =
        trellis::graph_svg::svg(&c.model, c.allocation.as_ref().expect("allocation"), None);
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
}
