//! The generated PowerShell scripts against a real PowerShell parser
//! (tree-sitter-powershell) and the AksHci cmdlet signatures
//! (`stdlib/akshci-cmdlets.kdl`): every script of every example parses without an
//! ERROR or MISSING node; every AksHci call uses documented parameters only, with
//! values of the right type, and every mandatory one; hostile strings end up inside
//! single-quoted literals and never become code.

use std::path::Path;

use trellis::diag::Diagnostics;
use trellis::{compile, compile_str, load, Options};

mod common;
#[path = "common/powershell.rs"]
mod ps;

use common::{example_names, ROOT};
use ps::{check_script, literals_and_commands, TEMPLATE_COMMANDS};

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
        let (literals, commands) = literals_and_commands(&deploy.content);
        assert!(
            literals.iter().filter(|l| *l == value).count() >= 2,
            "{value} not found as a literal"
        );
        for c in &commands {
            assert!(
                c.contains("AksHci") || TEMPLATE_COMMANDS.contains(&c.as_str()),
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
