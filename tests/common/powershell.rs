//! PowerShell checks shared by the tests: parse a script with tree-sitter-powershell
//! and check every AksHci call against the cmdlet signatures
//! (`stdlib/akshci-cmdlets.kdl`). Included with `#[path]` by the tests that need it,
//! next to `mod common;`.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use tree_sitter::{Node, Parser};

use crate::common::ROOT;

#[derive(Debug, Clone)]
pub struct Param {
    ty: String,
    mandatory: bool,
    values: Vec<String>,
}

/// Cmdlet name (lowercase) -> parameter name (lowercase) -> signature.
pub fn signatures() -> BTreeMap<String, BTreeMap<String, Param>> {
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

pub fn parse(script: &str) -> tree_sitter::Tree {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .expect("PowerShell grammar");
    parser.parse(script, None).expect("parse")
}

pub fn walk<'t>(node: Node<'t>, out: &mut Vec<Node<'t>>) {
    out.push(node);
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        walk(child, out);
    }
}

pub fn text<'s>(node: Node<'_>, src: &'s str) -> &'s str {
    src.get(node.byte_range()).unwrap_or("")
}

/// The value of a single-quoted PowerShell literal.
pub fn unquote(literal: &str) -> Option<String> {
    let inner = literal.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(
        inner
            .replace("''", "'")
            .replace("\u{2019}\u{2019}", "\u{2019}"),
    )
}

/// What kind of value an argument node is.
pub fn value_kind(node: Node<'_>, src: &str) -> (String, Option<String>) {
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
pub fn check_script(name: &str, script: &str) -> usize {
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

/// The values of every single-quoted literal of `script`, and the names of every
/// command it runs.
pub fn literals_and_commands(script: &str) -> (Vec<String>, BTreeSet<String>) {
    let tree = parse(script);
    let mut nodes = Vec::new();
    walk(tree.root_node(), &mut nodes);
    let literals = nodes
        .iter()
        .filter(|n| n.kind() == "string_literal")
        .filter_map(|n| unquote(text(*n, script)))
        .collect();
    let commands = nodes
        .iter()
        .filter(|n| n.kind() == "command")
        .filter_map(|n| n.child_by_field_name("command_name"))
        .map(|n| text(n, script).to_string())
        .collect();
    (literals, commands)
}

/// The commands the script templates write; any other command in a script is code
/// that came from user input.
pub const TEMPLATE_COMMANDS: &[&str] = &[
    "Set-StrictMode",
    "Write-TrellisStep",
    "Write-Host",
    "Write-Warning",
    "Join-Path",
    "Out-Null",
    "kubectl",
    "calicoctl",
];
