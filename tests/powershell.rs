//! The generated PowerShell scripts against a real PowerShell parser
//! (tree-sitter-powershell) and the AksHci cmdlet signatures
//! (`stdlib/akshci-cmdlets.kdl`): every script of every example parses without an
//! ERROR or MISSING node; every AksHci call uses documented parameters only, with
//! values of the right type, and every mandatory one; hostile strings end up inside
//! single-quoted literals and never become code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use tree_sitter::{Node, Parser};
use trellis::diag::Diagnostics;
use trellis::{compile, compile_str, load, Options};

mod common;

use common::{example_names, ROOT};

#[derive(Debug, Clone)]
struct Param {
    ty: String,
    mandatory: bool,
    values: Vec<String>,
}

/// Cmdlet name (lowercase) -> parameter name (lowercase) -> signature.
fn signatures() -> BTreeMap<String, BTreeMap<String, Param>> {
    let text =
        std::fs::read_to_string(format!("{ROOT}/stdlib/akshci-cmdlets.kdl")).expect("signatures");
    let doc = kdl::KdlDocument::parse_v2(&text).expect("signatures parse");
    let mut out = BTreeMap::new();
    for cmdlet in doc.nodes() {
        let name = cmdlet
            .get(0)
            .and_then(|v| v.as_string())
            .expect("cmdlet name")
            .to_lowercase();
        let mut params = BTreeMap::new();
        for p in cmdlet.iter_children() {
            let pname = p
                .get(0)
                .and_then(|v| v.as_string())
                .expect("param name")
                .to_lowercase();
            let values = p
                .iter_children()
                .filter(|c| c.name().value() == "values")
                .flat_map(|c| {
                    c.entries()
                        .iter()
                        .filter_map(|e| e.value().as_string().map(str::to_string))
                })
                .collect();
            params.insert(
                pname,
                Param {
                    ty: p
                        .get("type")
                        .and_then(|v| v.as_string())
                        .expect("type")
                        .to_string(),
                    mandatory: p
                        .get("mandatory")
                        .and_then(|v| v.as_bool())
                        .unwrap_or(false),
                    values,
                },
            );
        }
        out.insert(name, params);
    }
    out
}

fn parse(script: &str) -> tree_sitter::Tree {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .expect("PowerShell grammar");
    parser.parse(script, None).expect("parse")
}

fn walk<'t>(node: Node<'t>, out: &mut Vec<Node<'t>>) {
    out.push(node);
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        walk(child, out);
    }
}

fn text<'s>(node: Node<'_>, src: &'s str) -> &'s str {
    src.get(node.byte_range()).unwrap_or("")
}

/// The value of a single-quoted PowerShell literal.
fn unquote(literal: &str) -> Option<String> {
    let inner = literal.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(
        inner
            .replace("''", "'")
            .replace("\u{2019}\u{2019}", "\u{2019}"),
    )
}

/// What kind of value an argument node is.
fn value_kind(node: Node<'_>, src: &str) -> (String, Option<String>) {
    let mut nodes = Vec::new();
    walk(node, &mut nodes);
    let unary: Vec<Node> = {
        let mut c = node.walk();
        node.children(&mut c)
            .filter(|n| n.kind() == "unary_expression")
            .collect()
    };
    if unary.len() > 1 {
        return ("string[]".into(), None);
    }
    if nodes.iter().any(|n| n.kind() == "parenthesized_expression") {
        return ("string".into(), None);
    }
    if let Some(s) = nodes.iter().find(|n| n.kind() == "string_literal") {
        return ("string".into(), unquote(text(*s, src)));
    }
    if nodes.iter().any(|n| n.kind() == "integer_literal") {
        return ("int".into(), None);
    }
    if nodes.iter().any(|n| n.kind() == "variable") {
        return ("object".into(), None);
    }
    ("unknown".into(), None)
}

/// Checks one script; returns the number of AksHci calls checked.
fn check_script(name: &str, script: &str) -> usize {
    let tree = parse(script);
    let mut nodes = Vec::new();
    walk(tree.root_node(), &mut nodes);
    let broken: Vec<String> = nodes
        .iter()
        .filter(|n| n.is_error() || n.is_missing())
        .map(|n| format!("{} at {:?}", n.kind(), n.start_position()))
        .collect();
    assert!(
        broken.is_empty(),
        "{name}: the PowerShell parser found {broken:?}\n{script}"
    );
    // Every string literal is single-quoted: nothing is expanded.
    for n in nodes.iter().filter(|n| n.kind() == "string_literal") {
        let t = text(*n, script);
        assert!(
            t.starts_with('\'') || t.starts_with("@'"),
            "{name}: expandable string {t}"
        );
    }
    let sigs = signatures();
    let mut checked = 0;
    for command in nodes.iter().filter(|n| n.kind() == "command") {
        let Some(name_node) = command.child_by_field_name("command_name") else {
            continue;
        };
        let cmd = text(name_node, script).to_lowercase();
        let Some(params) = sigs.get(&cmd) else {
            continue;
        };
        let Some(elements) = command.child_by_field_name("command_elements") else {
            // A call without arguments: only valid when nothing is mandatory.
            assert!(
                params.values().all(|p| !p.mandatory),
                "{name}: {cmd} without its mandatory parameters"
            );
            checked += 1;
            continue;
        };
        let mut cursor = elements.walk();
        let items: Vec<Node> = elements
            .children(&mut cursor)
            .filter(|n| n.kind() != "command_argument_sep")
            .collect();
        let mut given = BTreeSet::new();
        let mut i = 0;
        while i < items.len() {
            let item = items[i];
            assert_eq!(
                item.kind(),
                "command_parameter",
                "{name}: {cmd}: positional argument {}",
                text(item, script)
            );
            let pname = text(item, script).trim_start_matches('-').to_lowercase();
            let sig = params
                .get(&pname)
                .unwrap_or_else(|| panic!("{name}: {cmd} has no parameter -{pname}"));
            given.insert(pname.clone());
            let value = items.get(i + 1).filter(|n| n.kind() != "command_parameter");
            match (sig.ty.as_str(), value) {
                ("switch", None) => i += 1,
                ("switch", Some(v)) => panic!(
                    "{name}: {cmd} -{pname} is a switch, given {}",
                    text(*v, script)
                ),
                (_, None) => panic!("{name}: {cmd} -{pname} has no value"),
                (ty, Some(v)) => {
                    let (kind, literal) = value_kind(*v, script);
                    let fits = kind == ty || (ty == "string[]" && kind == "string");
                    assert!(
                        fits,
                        "{name}: {cmd} -{pname} expects {ty}, given {kind}: {}",
                        text(*v, script)
                    );
                    if let (false, Some(lit)) = (sig.values.is_empty(), literal) {
                        assert!(
                            sig.values.contains(&lit),
                            "{name}: {cmd} -{pname} '{lit}' is not one of {:?}",
                            sig.values
                        );
                    }
                    i += 2;
                }
            }
        }
        for (pname, sig) in params {
            assert!(
                !sig.mandatory || given.contains(pname),
                "{name}: {cmd} without mandatory -{pname}"
            );
        }
        checked += 1;
    }
    checked
}

#[test]
fn every_generated_script_parses_and_calls_akshci_correctly() {
    let mut calls = 0;
    let mut scripts = 0;
    for name in example_names() {
        let project = load::load(Path::new(&format!("{ROOT}/examples/{name}")), &[]).expect("load");
        let compilation = compile(&project.sources, Diagnostics::new(), &Options::default());
        assert!(!compilation.has_errors(), "{name}");
        for artifact in compilation
            .artifacts
            .iter()
            .filter(|a| a.path.ends_with(".ps1"))
        {
            calls += check_script(&format!("{name}/{}", artifact.path), &artifact.content);
            scripts += 1;
        }
    }
    assert!(scripts >= 16, "only {scripts} scripts");
    assert!(calls >= 50, "only {calls} AksHci calls checked");
}

#[test]
fn the_signature_checker_rejects_bad_calls() {
    let bad = [
        "New-AksHciCluster -nodeCount 3",                 // missing -name
        "New-AksHciCluster -name 'a' -nodeCount 'three'", // wrong type
        "New-AksHciCluster -name 'a' -bogus 'x'",         // unknown parameter
        "New-AksHciCluster -name 'a' -osType 'Solaris'",  // not an allowed value
        "New-AksHciCluster -name \"a$(x)\"",              // expandable string
    ];
    for script in bad {
        let result = std::panic::catch_unwind(|| check_script("bad", script));
        assert!(result.is_err(), "accepted: {script}");
    }
}

#[test]
fn hostile_strings_stay_inside_literals() {
    let hostile = [
        "Ext'ernal",
        "a$(Remove-Item -Recurse C:\\)b",
        "back`tick",
        "semi;colon; Stop-Computer",
        "quote\u{2019}typographic",
        "\"double\" and 'single'",
    ];
    for value in hostile {
        let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
        let source = format!(
            "network \"corp\" {{\n    switch \"{escaped}\"\n    prefix \"10.20.0.0/16\"; gateway \"10.20.0.1\"; dns \"10.20.0.10\"\n    node-ips \"10.20.1.0\" \"10.20.1.255\"; vips \"10.20.2.0\" \"10.20.2.255\"\n}}\nhost {{ network \"corp\"; image-dir \"{escaped}\"; }}\ncluster \"shop\" {{ network \"corp\"; node-pool \"linux\" count=1; }}\n"
        );
        let (_, compilation) = compile_str("p.kdl", &source);
        assert!(
            !compilation.has_errors(),
            "{value}: {:#?}",
            compilation.diagnostics
        );
        let deploy = compilation
            .artifacts
            .iter()
            .find(|a| a.path == "deploy.ps1")
            .expect("deploy.ps1");
        check_script("hostile", &deploy.content);
        // The value appears, whole, as the content of single-quoted literals, and
        // no command the template does not write exists.
        let tree = parse(&deploy.content);
        let mut nodes = Vec::new();
        walk(tree.root_node(), &mut nodes);
        let literals: Vec<String> = nodes
            .iter()
            .filter(|n| n.kind() == "string_literal")
            .filter_map(|n| unquote(text(*n, &deploy.content)))
            .collect();
        assert!(
            literals.iter().filter(|l| *l == value).count() >= 2,
            "{value} not found as a literal"
        );
        let commands: BTreeSet<String> = nodes
            .iter()
            .filter(|n| n.kind() == "command")
            .filter_map(|n| n.child_by_field_name("command_name"))
            .map(|n| text(n, &deploy.content).to_string())
            .collect();
        for c in &commands {
            assert!(
                c.contains("AksHci")
                    || [
                        "Set-StrictMode",
                        "Write-TrellisStep",
                        "Write-Host",
                        "Write-Warning",
                        "Join-Path",
                        "Out-Null",
                        "kubectl",
                        "calicoctl"
                    ]
                    .contains(&c.as_str()),
                "{value}: unexpected command {c}"
            );
        }
    }
    // Control characters and bidi controls never get that far: they are rejected.
    let (_, compilation) = compile_str(
        "p.kdl",
        "network \"corp\" { switch \"a\\nb\"; mode \"dhcp\"; vips \"10.0.0.1\" \"10.0.0.2\"; }",
    );
    assert!(compilation
        .diagnostics
        .iter()
        .any(|d| d.code.code == "TR0222"));
}
