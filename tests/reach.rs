//! The reachability engine against the semantic traps of Kubernetes and Calico
//! policies (`../shared/reference/policy-semantics.md` §3), in trellis's terms:
//! selection isolates, allows add up, both sides must allow, empty and missing
//! selectors, peers within and across rules, CIDR exceptions, port ranges, named
//! ports, ordered policies (ties, pass, deny), and `expect`.

mod common;

use trellis::model::Protocol;
use trellis::reach::{Endpoint, Engine, Reason};
use trellis::Compilation;

const WORLD: &str = r#"
network "corp" { switch "External"; mode "dhcp"; vips "10.20.2.0" "10.20.2.255"; }
cluster "c" {
    network "corp"
    control-plane { addresses "10.20.1.1"; }
    node-pool "linux" count=1 { addresses "10.20.1.2"; }
}
namespace "a" cluster="c" { labels team="alpha"; }
namespace "b" cluster="c" { labels team="beta"; }
workload "web" cluster="c" namespace="a" { image "nginx:1.27"; labels app="web" tier="front"; port "http" 8080; }
workload "api" cluster="c" namespace="a" { image "nginx:1.27"; labels app="api"; port "api" 9000; port "metrics" 9100; }
workload "db" cluster="c" namespace="a" { image "postgres:16"; labels app="db"; port "pg" 5432; }
workload "job" cluster="c" namespace="b" { image "busybox:1.36"; labels app="job"; port "http" 8080; }
"#;

fn compile(policies: &str) -> Compilation {
    let (_, compilation) = trellis::compile_str("p.kdl", &format!("{WORLD}{policies}"));
    common::assert_no_errors(&compilation, "policies");
    compilation
}

/// `from` and `to` are `ns/workload` or an address.
fn allowed(c: &Compilation, from: &str, to: &str, port: u16) -> bool {
    verdict(c, from, to, port).allowed
}

fn verdict(c: &Compilation, from: &str, to: &str, port: u16) -> trellis::reach::Verdict {
    let cluster = c.model.clusters.first().expect("cluster");
    let engine = Engine::new(&c.model, c.allocation.as_ref(), cluster);
    let ep = |s: &str| match s.split_once('/') {
        Some((ns, n)) => Endpoint::Pod(engine.workload(ns, n).expect("workload")),
        None => Endpoint::External(s.parse().expect("address")),
    };
    engine.decide(ep(from), ep(to), port, Protocol::Tcp)
}

#[test]
fn without_policies_everything_is_allowed() {
    let c = compile("");
    assert!(allowed(&c, "a/web", "a/db", 5432));
    assert_eq!(
        verdict(&c, "a/web", "a/db", 5432).ingress.reason,
        Reason::NotSelected
    );
}

#[test]
fn selection_isolates_and_allows_add_up() {
    let c = compile(
        r#"policy "db-in" cluster="c" namespace="a" { workloads "db"; allow "ingress" { from workload="api"; port 5432; } }
           policy "db-in-2" cluster="c" namespace="a" { workloads "db"; allow "ingress" { from workload="web"; port 5432; } }"#,
    );
    assert!(allowed(&c, "a/api", "a/db", 5432));
    assert!(
        allowed(&c, "a/web", "a/db", 5432),
        "allows of two policies add up"
    );
    assert!(
        !allowed(&c, "b/job", "a/db", 5432),
        "selected for ingress: default deny"
    );
    assert!(!allowed(&c, "a/api", "a/db", 5433), "wrong port");
    // Egress is untouched: db was only selected for ingress.
    assert!(allowed(&c, "a/db", "a/web", 8080));
}

#[test]
fn both_sides_must_allow() {
    let c = compile(
        r#"policy "web-out" cluster="c" namespace="a" { workloads "web"; deny "egress"; }
           policy "db-in" cluster="c" namespace="a" { workloads "db"; allow "ingress" { from workload="web"; } }"#,
    );
    let v = verdict(&c, "a/web", "a/db", 5432);
    assert!(v.ingress.allowed && !v.egress.allowed && !v.allowed);
}

#[test]
fn empty_and_missing_selectors() {
    // No `pods`/`workloads`: every pod of the namespace. A peer `pods` with no
    // labels: every pod of the policy's namespace. `namespaces` with no labels is
    // not written here; a namespace by name: all its pods.
    let c = compile(
        r#"policy "all-a" cluster="c" namespace="a" { allow "ingress" { from { pods; }; } }
           policy "job-in" cluster="c" namespace="b" { allow "ingress" { from namespace="a"; } }"#,
    );
    assert!(
        allowed(&c, "a/web", "a/db", 5432),
        "peer `pods` with no labels: own namespace"
    );
    assert!(
        !allowed(&c, "b/job", "a/db", 5432),
        "other namespaces are not in `pods`"
    );
    assert!(
        allowed(&c, "a/api", "b/job", 8080),
        "a namespace by name: all its pods"
    );
}

#[test]
fn peers_within_one_rule_and_across_rules() {
    // One peer with pods AND namespaces selectors: both must match.
    let c = compile(
        r#"policy "p" cluster="c" namespace="a" { workloads "db"; allow "ingress" { from { pods app="job"; namespaces team="beta"; }; } }"#,
    );
    assert!(allowed(&c, "b/job", "a/db", 5432));
    assert!(!allowed(&c, "a/web", "a/db", 5432));
    // Two peers of one rule: either.
    let c = compile(
        r#"policy "p" cluster="c" namespace="a" { workloads "db"; allow "ingress" { from workload="web"; from workload="api"; port 5432; } }"#,
    );
    assert!(allowed(&c, "a/web", "a/db", 5432) && allowed(&c, "a/api", "a/db", 5432));
    assert!(!allowed(&c, "b/job", "a/db", 5432));
}

#[test]
fn cidr_with_exceptions_and_port_ranges() {
    let c = compile(
        r#"policy "out" cluster="c" namespace="a" { workloads "web"; allow "egress" { to cidr="10.0.0.0/8" { except "10.1.0.0/16"; }; port 8000 end=8099; } }"#,
    );
    assert!(allowed(&c, "a/web", "10.2.3.4", 8080));
    assert!(!allowed(&c, "a/web", "10.1.2.3", 8080), "except");
    assert!(
        !allowed(&c, "a/web", "10.2.3.4", 8100),
        "past the range end"
    );
    assert!(
        allowed(&c, "a/web", "10.2.3.4", 8099),
        "the end is inclusive"
    );
    assert!(
        !allowed(&c, "a/web", "a/api", 8080),
        "a cidr peer matches addresses, not pods"
    );
}

#[test]
fn named_ports_resolve_on_the_destination() {
    let c = compile(
        r#"policy "api-in" cluster="c" namespace="a" { workloads "api"; allow "ingress" { port "api"; } }
           policy "web-out" cluster="c" namespace="a" { workloads "web"; allow "egress" { to workload="api"; port "metrics"; } }"#,
    );
    assert!(
        allowed(&c, "a/db", "a/api", 9000),
        "ingress: the selected pod's port named api"
    );
    assert!(!allowed(&c, "a/db", "a/api", 9100));
    // Egress: the peer's port named metrics (9100); api's ingress only opens 9000.
    let v = verdict(&c, "a/web", "a/api", 9100);
    assert!(v.egress.allowed && !v.ingress.allowed);
}

#[test]
fn ordered_policies_first_match_ties_and_pass() {
    let c = compile(
        r#"policy "z-allow" cluster="c" global=#true order=10 { allow "egress" { to cidr="192.0.2.0/24"; } }
           policy "a-deny" cluster="c" global=#true order=10 { deny "egress" { to cidr="192.0.2.0/24"; } }
           policy "guard" cluster="c" global=#true order=5 { log "egress"; pass "egress" { to cidr="198.51.100.0/24"; } }
           policy "late" cluster="c" global=#true order=20 { deny "egress" { to cidr="198.51.100.0/24"; } }"#,
    );
    // Same order: ties go by name, so `a-deny` runs before `z-allow`.
    assert!(!allowed(&c, "a/web", "192.0.2.1", 443));
    // `pass` skips the remaining ordered policies (`late` never runs); nothing else
    // selects web for egress, so it is allowed.
    assert!(allowed(&c, "a/web", "198.51.100.7", 443));
    // Unmatched traffic goes on past the ordered policies: not isolated.
    assert!(allowed(&c, "a/web", "203.0.113.9", 443));
}

#[test]
fn default_deny_after_selection_and_dns() {
    let c = compile(
        r#"policy "deny-all" cluster="c" namespace="a" preset="default-deny"
           policy "dns" cluster="c" namespace="a" { allow "egress" { to namespace="kube-system"; port 53 protocol="UDP"; } }"#,
    );
    assert!(!allowed(&c, "a/web", "a/api", 9000));
    assert!(!allowed(&c, "a/web", "8.8.8.8", 443));
    assert!(matches!(
        verdict(&c, "a/web", "a/api", 9000).ingress.reason,
        Reason::Isolated { .. }
    ));
}

#[test]
fn failed_expectations_are_errors_with_the_deciding_rules() {
    let (_, compilation) = trellis::compile_str(
        "p.kdl",
        &format!(
            "{WORLD}policy \"db-in\" cluster=\"c\" namespace=\"a\" {{ workloads \"db\"; allow \"ingress\" {{ from workload=\"api\"; }} }}\n\
             expect \"allow\" cluster=\"c\" from=\"a/api\" to=\"a/db\" port=5432\n\
             expect \"allow\" cluster=\"c\" from=\"a/web\" to=\"a/db\" port=5432\n\
             expect \"deny\" cluster=\"c\" from=\"a/nope\" to=\"a/db\" port=5432\n"
        ),
    );
    let codes: Vec<&str> = compilation
        .diagnostics
        .iter()
        .map(|d| d.code.code)
        .collect();
    assert_eq!(
        codes,
        ["TR0607", "TR0302"],
        "{:#?}",
        compilation.diagnostics
    );
    let failed = &compilation.diagnostics[0];
    assert!(
        failed
            .message
            .contains("a/web → a/db on 5432/TCP to be allowed, but it is denied"),
        "{}",
        failed.message
    );
    assert!(!failed.related.is_empty());
}
