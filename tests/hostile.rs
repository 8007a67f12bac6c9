//! Hostile input in every string the language takes. Each hostile value goes, one at
//! a time, into one place of a project that otherwise checks clean and produces every
//! kind of output. Either the compiler rejects it with a coded error at that place,
//! or the value is provably inert in every output:
//!
//! - every file name stays inside the output folder (plain names, no `..`);
//! - every YAML file parses back, and where the value reaches YAML it comes back as
//!   exactly the same scalar;
//! - every `haproxy.cfg` passes `haproxy -c` and every `keepalived-<i>.conf`
//!   passes `keepalived -t`;
//! - every PowerShell script parses with no ERROR node, calls AksHci correctly, runs
//!   no command the templates do not write, and, where the value reaches the
//!   script, holds it as the exact content of single-quoted literals.
//!
//! The values: quotes, newlines, `$(...)`, backticks, `#`, YAML indicators, HAProxy
//! comment and escape characters, Unicode bidi controls, NUL, 64 KB and 1 MB strings, path
//! traversal. (Deep nesting and huge numbers are in `tests/robustness.rs`.)

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use trellis::compile_str;

mod common;
#[path = "common/powershell.rs"]
mod ps;

use common::require_tool;

/// The project. `{slot}` marks where each slot's value goes (as a KDL string).
const TEMPLATE: &str = r#"
network {network} {
    switch {switch}
    prefix "10.20.0.0/16"
    gateway "10.20.0.1"
    dns "10.20.0.10"
    node-ips "10.20.1.0" "10.20.1.255"
    vips "10.20.2.0" "10.20.2.255"
}
host {
    network {network}
    image-dir {image-dir}
    working-dir {working-dir}
}
cluster {cluster} {
    network {network}
    kubernetes {kubernetes}
    control-plane count=1 vm-size={vm-size}
    load-balancer count=2 interface={interface}
    node-pool {pool} count=2 {
        taint {taint}
    }
}
namespace {namespace} cluster={cluster} {
    labels {label-key}={label-value}
}
workload {workload} cluster={cluster} namespace={namespace} {
    image {image}
    port {port-name} 8080
}
service "web" cluster={cluster} namespace={namespace} {
    type "LoadBalancer"
    select app={workload}
    port 80 target={port-name} name={service-port-name}
    health-check path={health-path}
}
service "db" cluster={cluster} namespace={namespace} {
    type "ExternalName"
    external-name {external-name}
}
ingress {ingress} cluster={cluster} namespace={namespace} {
    class {ingress-class}
    tls {tls-host} secret={tls-secret}
    rule {tls-host} {
        route {route-path} service="web" port=80
    }
}
policy {policy} cluster={cluster} namespace={namespace} {
    workloads {workload}
    allow "ingress" { port {port-name}; }
}
expect "allow" cluster={cluster} from={expect-from} to={expect-to} port=8080
"#;

/// Every slot with its ordinary value, and where a value put there reaches.
struct Slot {
    name: &'static str,
    value: &'static str,
    yaml: bool,
    powershell: bool,
}

const fn slot(name: &'static str, value: &'static str, yaml: bool, powershell: bool) -> Slot {
    Slot {
        name,
        value,
        yaml,
        powershell,
    }
}

const SLOTS: &[Slot] = &[
    slot("network", "corp", false, true),
    slot("switch", "External", false, true),
    slot("image-dir", "C:\\ClusterStorage\\Images", false, true),
    slot("working-dir", "C:\\ClusterStorage\\AksHci", false, true),
    slot("cluster", "shop", false, true),
    slot("kubernetes", "v1.29.4", false, true),
    slot("vm-size", "Standard_A4_v2", false, true),
    slot("interface", "eth0", false, false),
    slot("pool", "linux", false, true),
    slot("taint", "sku=Linux:NoSchedule", true, true),
    slot("namespace", "store", true, false),
    slot("label-key", "team", true, false),
    slot("label-value", "web", true, false),
    slot("workload", "web", true, false),
    slot("image", "nginx:1.27", true, false),
    slot("port-name", "http", true, false),
    slot("service-port-name", "http", true, false),
    slot("health-path", "/healthz", false, false),
    slot("external-name", "db.example.com", true, false),
    slot("ingress", "store", true, false),
    slot("ingress-class", "nginx", true, false),
    slot("tls-host", "shop.example.com", true, false),
    slot("tls-secret", "shop-tls", true, false),
    slot("route-path", "/", true, false),
    slot("policy", "web-in", true, false),
    slot("expect-from", "203.0.113.7", false, false),
    slot("expect-to", "", false, false), // namespace/workload
];

/// The hostile values.
fn hostile_values() -> Vec<(&'static str, String)> {
    let mut values: Vec<(&'static str, String)> = [
        ("double quote", "a\"b"),
        ("single quote", "a'b"),
        ("typographic quote", "a\u{2019}b"),
        ("newline", "a\nb: c"),
        ("carriage return", "a\rb"),
        ("command substitution", "$(Remove-Item -Recurse C:\\)"),
        ("backtick", "a`whoami`b"),
        ("hash", "a #b"),
        ("yaml sequence", "- a"),
        ("yaml mapping", "a: b"),
        ("yaml flow", "{a: [b]}"),
        ("yaml anchor", "&a *a"),
        ("yaml tag", "!!binary AAAA"),
        ("yaml block", "|\n  a"),
        ("yaml document", "---"),
        ("yaml boolean", "yes"),
        ("yaml 1.1 boolean", "on"),
        ("yaml octal", "010"),
        ("yaml sexagesimal", "10:20"),
        ("yaml null", "~"),
        ("haproxy escape", "a\\ b"),
        ("haproxy comment", "x # frontend evil"),
        ("bidi override", "a\u{202e}b"),
        ("bidi isolate", "a\u{2066}b\u{2069}"),
        ("nul", "a\u{0}b"),
        ("path traversal", "../../etc/passwd"),
        ("windows traversal", "..\\..\\Windows\\System32"),
        ("html", "<script>alert(1)</script>"),
        ("semicolon", "a; Stop-Computer"),
        ("empty", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .collect();
    values.push(("64 KB", "a".repeat(1 << 16)));
    values.push(("1 MB", "a".repeat(1 << 20)));
    values
}

/// A KDL string literal holding exactly `value`.
fn kdl_string(value: &str) -> String {
    trellis::fmt::quote(value)
}

/// The project with `value` in slot `target` and ordinary values elsewhere, and the
/// byte ranges where `value` was written.
fn project(target: &str, value: &str) -> (String, Vec<std::ops::Range<usize>>) {
    let mut out = String::new();
    let mut ranges = Vec::new();
    let mut rest = TEMPLATE;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let key = &after[..close];
        let Some(slot) = SLOTS.iter().find(|s| s.name == key) else {
            out.push_str(&rest[..=open]);
            rest = after;
            continue;
        };
        out.push_str(&rest[..open]);
        let value_of = |name: &str| {
            if name == target {
                value.to_string()
            } else {
                SLOTS
                    .iter()
                    .find(|s| s.name == name)
                    .map_or(String::new(), |s| s.value.to_string())
            }
        };
        // The expectation names the workload by namespace/name, whatever they are.
        let text = if slot.name == "expect-to" && target != "expect-to" {
            format!("{}/{}", value_of("namespace"), value_of("workload"))
        } else {
            value_of(slot.name)
        };
        let literal = kdl_string(&text);
        if slot.name == target {
            ranges.push(out.len()..out.len() + literal.len());
        }
        out.push_str(&literal);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    (out, ranges)
}

fn yaml_scalars(value: &serde_json::Value, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::String(s) => {
            out.insert(s.clone());
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| yaml_scalars(v, out)),
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                out.insert(k.clone());
                yaml_scalars(v, out);
            }
        }
        _ => {}
    }
}

/// Runs `tool -flag FILE` on `content`; fails the test with the tool's output.
/// `missing_interface` is an interface name whose absence from this machine is not a
/// failure (`keepalived -t` checks that the interface exists).
fn validate(
    tool: &PathBuf,
    flag: &str,
    content: &str,
    what: &str,
    missing_interface: Option<&str>,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config");
    std::fs::write(&path, content).expect("write");
    let out = Command::new(tool)
        .arg(flag)
        .arg("-f")
        .arg(&path)
        .output()
        .expect("run validator");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if let Some(name) = missing_interface {
        if !out.status.success()
            && stderr.contains(&format!("interface {name} for vrrp_instance"))
            && stderr.contains("doesn't exist")
        {
            return;
        }
    }
    assert!(
        out.status.success(),
        "{what}: {} {flag} failed:\n{}{}\n{content}",
        tool.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_template_is_clean_and_produces_every_output() {
    let (source, _) = project("", "");
    let (_, compilation) = compile_str("p.kdl", &source);
    common::assert_no_errors(&compilation, "the hostile-input template");
    let paths: Vec<&str> = compilation
        .artifacts
        .iter()
        .map(|a| a.path.as_str())
        .collect();
    for wanted in [
        "haproxy.cfg",
        "keepalived-1.conf",
        "deploy.ps1",
        "remove.ps1",
    ] {
        assert!(
            paths.iter().any(|p| p.ends_with(wanted)),
            "{wanted} missing: {paths:?}"
        );
    }
    assert!(paths.iter().any(|p| p.ends_with(".yaml")), "{paths:?}");
    assert!(
        paths.iter().any(|p| p.contains("networkpolic")),
        "{paths:?}"
    );
}

#[test]
fn hostile_values_are_rejected_or_inert_everywhere() {
    let haproxy = require_tool("haproxy");
    let keepalived = require_tool("keepalived");
    let (mut rejected, mut inert) = (0, 0);
    for (kind, value) in hostile_values() {
        for slot in SLOTS {
            if kind == "1 MB" && slot.name != "switch" {
                // One 1 MB string is enough (it takes seconds in a debug build);
                // every slot gets the 64 KB one.
                continue;
            }
            let what = format!("{kind} in `{}`", slot.name);
            let (source, ranges) = project(slot.name, &value);
            let (_, compilation) = compile_str("p.kdl", &source);
            if compilation.has_errors() {
                // A coded error at the place the value was written.
                let at_value = compilation.diagnostics.iter().any(|d| {
                    d.is_error()
                        && d.code.code.starts_with("TR")
                        && ranges.iter().any(|r| {
                            let span = d.span.range();
                            span.start < r.end && r.start < span.end.max(span.start + 1)
                        })
                });
                assert!(
                    at_value,
                    "{what}: errors, but none at the value: {:#?}",
                    compilation
                        .diagnostics
                        .iter()
                        .map(|d| format!("{} {} {:?}", d.code.code, d.message, d.span))
                        .collect::<Vec<_>>()
                );
                rejected += 1;
                continue;
            }
            inert += 1;
            let mut yaml_values = BTreeSet::new();
            let mut ps_literals = Vec::new();
            for artifact in &compilation.artifacts {
                let path = &artifact.path;
                assert!(
                    path.split('/').all(|part| {
                        !part.is_empty()
                            && part != "."
                            && part != ".."
                            && part
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
                    }),
                    "{what}: file name {path:?}"
                );
                let file = path.rsplit('/').next().unwrap_or("");
                if file.ends_with(".yaml") {
                    // A plain scalar a YAML 1.1 reader would turn into a bool, a
                    // number or null stays quoted.
                    if !value.is_empty()
                        && value
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == ':' || c == '~')
                    {
                        for line in artifact.content.lines() {
                            let t = line.trim_start().trim_start_matches("- ");
                            let bare = t == value.as_str()
                                || t.split_once(": ").is_some_and(|(_, v)| v == value)
                                || t.strip_suffix(':').is_some_and(|k| k == value);
                            assert!(!bare, "{what}: {path} has it unquoted: {line}");
                        }
                    }
                    let doc: serde_json::Value = serde_saphyr::from_str(&artifact.content)
                        .unwrap_or_else(|e| panic!("{what}: {path} does not parse: {e}"));
                    yaml_scalars(&doc, &mut yaml_values);
                } else if file == "haproxy.cfg" {
                    if let Some(tool) = &haproxy {
                        validate(tool, "-c", &artifact.content, &what, None);
                    }
                } else if file.starts_with("keepalived-") {
                    if let Some(tool) = &keepalived {
                        // The interface this machine lacks must still be one word
                        // on its own line.
                        let missing = (slot.name == "interface").then_some(value.as_str());
                        if missing.is_some() {
                            assert!(
                                artifact
                                    .content
                                    .lines()
                                    .any(|l| l.trim() == format!("interface {value}")),
                                "{what}: no `interface {value}` line"
                            );
                        }
                        validate(tool, "-t", &artifact.content, &what, missing);
                    }
                } else if file.ends_with(".ps1") {
                    ps::check_script(&what, &artifact.content);
                    let (literals, commands) = ps::literals_and_commands(&artifact.content);
                    for c in &commands {
                        assert!(
                            c.contains("AksHci") || ps::TEMPLATE_COMMANDS.contains(&c.as_str()),
                            "{what}: {path} runs {c}"
                        );
                    }
                    ps_literals.extend(literals);
                }
            }
            if slot.yaml {
                assert!(
                    yaml_values
                        .iter()
                        .any(|v| v == &value || v.contains(value.as_str())),
                    "{what}: accepted, but not found as a YAML value"
                );
            }
            if slot.powershell {
                assert!(
                    ps_literals
                        .iter()
                        .any(|l| l == &value || l.contains(value.as_str())),
                    "{what}: accepted, but not found inside a PowerShell literal"
                );
            }
        }
    }
    eprintln!("hostile values: {rejected} rejected with a coded error, {inert} accepted and inert");
    assert!(rejected > 0 && inert > 0);
}
