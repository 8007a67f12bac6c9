//! `trellis matrix --manifests`: reading Kubernetes YAML into the reachability
//! engine. The fixture `tests/manifests/shop` end to end (snapshots of the text and
//! JSON matrix, `kubernetes-validate --strict` on every file), the meaning of
//! selectors, policyTypes, peers and ports against policy-semantics.md, malformed
//! input (file:line, exit 1), hostile input (no panic, bounded), and the
//! equivalence with `trellis matrix` on what `trellis build` emits.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use trellis::manifests::{self, Manifests};
use trellis::model::{LabelRequirement, Protocol, SelectorOp};
use trellis::reach::{Endpoint, Engine};
use trellis::source::{FileId, Sources, Span, Spanned};

mod common;

use common::{require_tool, ROOT};

const SHOP: &str = "tests/manifests/shop";

fn trellis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trellis"))
        .args(args)
        .current_dir(ROOT)
        .env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .output()
        .expect("run trellis")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8 output")
}

/// Reads in-memory files as a manifest folder.
fn world(files: &[(&str, &str)]) -> Manifests {
    let mut sources = Sources::new();
    let mut problems = Vec::new();
    for (path, body) in files {
        manifests::add_bytes(
            &mut sources,
            &mut problems,
            path.to_string(),
            body.as_bytes().to_vec(),
        );
    }
    manifests::read(sources, problems)
}

/// `path:line: message` of every problem.
fn problems(m: &Manifests) -> Vec<String> {
    m.problems
        .iter()
        .map(|p| {
            let f = m.sources.get(p.span.file).expect("file");
            let (line, _) = f.line_col(p.span.start as usize);
            format!("{}:{line}: {}", f.path, p.message)
        })
        .collect()
}

/// The names of the workloads read, in order.
fn workload_names(m: &Manifests) -> Vec<&str> {
    m.model
        .workloads
        .iter()
        .map(|w| w.name.value.as_str())
        .collect()
}

fn clean(files: &[(&str, &str)]) -> Manifests {
    let m = world(files);
    assert!(m.problems.is_empty(), "{:#?}", problems(&m));
    m
}

/// Whether `from` may open `to` on `port` (TCP unless `/UDP`); endpoints are
/// `namespace/name` or an address.
fn allowed(m: &Manifests, from: &str, to: &str, port: &str) -> bool {
    let engine = Engine::new(&m.model, None, m.cluster().expect("cluster"));
    let end = |s: &str| match s.split_once('/') {
        Some((ns, name)) => Endpoint::Pod(
            engine
                .workload(ns, name)
                .unwrap_or_else(|| panic!("no workload {s}")),
        ),
        None => Endpoint::External(s.parse().expect("address")),
    };
    let (number, protocol) = match port.split_once('/') {
        Some((n, "UDP")) => (n, Protocol::Udp),
        Some((n, "SCTP")) => (n, Protocol::Sctp),
        _ => (port, Protocol::Tcp),
    };
    engine
        .decide(end(from), end(to), number.parse().expect("port"), protocol)
        .allowed
}

/// A Deployment in `ns` with labels (`k: v` lines) and container ports
/// (`name:number[/UDP]`).
fn deployment(ns: &str, name: &str, labels: &[(&str, &str)], ports: &[&str]) -> String {
    let labels: String = labels
        .iter()
        .map(|(k, v)| format!("        {k}: \"{v}\"\n"))
        .collect();
    let ports: String = ports
        .iter()
        .map(|p| {
            let (pname, rest) = p.split_once(':').expect("name:number");
            let (number, proto) = rest.split_once('/').unwrap_or((rest, "TCP"));
            format!("            - name: {pname}\n              containerPort: {number}\n              protocol: {proto}\n")
        })
        .collect();
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  selector:\n    matchLabels:\n      x: y\n  template:\n    metadata:\n      labels:\n{labels}    spec:\n      containers:\n        - name: c\n          image: busybox\n          ports:\n{ports}---\n"
    )
}

fn namespace(name: &str, labels: &[(&str, &str)]) -> String {
    let labels: String = labels
        .iter()
        .map(|(k, v)| format!("    {k}: \"{v}\"\n"))
        .collect();
    format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels:\n{labels}---\n")
}

fn policy(ns: &str, name: &str, spec: &str) -> String {
    let spec: String = spec.lines().map(|l| format!("  {l}\n")).collect();
    format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n{spec}---\n")
}

// --- the fixture, end to end -------------------------------------------------

#[test]
fn shop_matrix_text_and_json() {
    let txt = trellis(&["matrix", "--manifests", SHOP]);
    assert_eq!(txt.status.code(), Some(0), "{}", text(&txt.stderr));
    let json = trellis(&["matrix", "--manifests", SHOP, "--format", "json"]);
    assert_eq!(json.status.code(), Some(0), "{}", text(&json.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(
        doc["workloads"].as_array().map(Vec::len),
        doc["matrix"].as_array().map(Vec::len)
    );
    insta::with_settings!({
        snapshot_path => format!("{ROOT}/snapshots/manifests"),
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!("shop.txt", text(&txt.stdout));
        insta::assert_snapshot!("shop.json", text(&json.stdout));
        insta::assert_snapshot!("shop.notes", text(&txt.stderr));
    });
    // Byte-identical on every run.
    let again = trellis(&["matrix", "--manifests", SHOP]);
    assert_eq!(txt.stdout, again.stdout);
    assert_eq!(txt.stderr, again.stderr);
}

#[test]
fn shop_namespace_port_and_csv() {
    let out = trellis(&[
        "matrix",
        "--manifests",
        SHOP,
        "--namespace",
        "shop",
        "--port",
        "5432",
        "--format",
        "csv",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("from\\to,shop/api,shop/db,shop/debug,shop/web,\"0.0.0.0/0 except 10.0.0.0/8, 203.0.113.0/24 + 203.0.113.128/25\",10.0.0.0/8,203.0.113.0/24 except 203.0.113.128/25")
    );
    // Only the API reaches the database on 5432.
    let db_column: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').nth(5).expect("cell"))
        .collect();
    assert_eq!(
        db_column,
        vec!["allow", "deny", "deny", "deny", "deny", "deny", "deny"]
    );
}

#[test]
fn shop_verdicts_follow_the_policies() {
    let m = manifests::read_dir(&Path::new(ROOT).join(SHOP)).expect("read");
    assert!(m.problems.is_empty(), "{:#?}", problems(&m));
    // The Deployment's ReplicaSet and Pod are part of it; the bare Pod is its own.
    let names: Vec<String> = m
        .model
        .workloads
        .iter()
        .map(|w| format!("{}/{}", w.namespace.value, w.name.value))
        .collect();
    assert_eq!(
        names,
        vec![
            "shop/api",
            "shop/db",
            "shop/debug",
            "monitoring/node-exporter",
            "monitoring/prometheus",
            "kube-system/coredns",
            "shop/web"
        ]
    );
    // Named ports resolve on the destination: `http` is 8080 on web, 9000 on api.
    assert!(allowed(&m, "shop/web", "shop/api", "9000"));
    assert!(!allowed(&m, "shop/web", "shop/api", "9090"));
    assert!(allowed(&m, "93.184.216.34", "shop/web", "8080"));
    assert!(!allowed(&m, "10.3.0.1", "shop/web", "8080"));
    // ipBlock except, and endPort inclusive at both ends.
    assert!(allowed(&m, "shop/api", "203.0.113.10", "443"));
    assert!(allowed(&m, "shop/api", "203.0.113.10", "8443"));
    assert!(allowed(&m, "shop/api", "203.0.113.10", "8450"));
    assert!(!allowed(&m, "shop/api", "203.0.113.10", "8451"));
    assert!(!allowed(&m, "shop/api", "203.0.113.200", "443"));
    // DNS in an undeclared namespace, by its implicit name label.
    assert!(allowed(&m, "shop/db", "kube-system/coredns", "53/UDP"));
    assert!(!allowed(&m, "shop/db", "kube-system/coredns", "54/UDP"));
    // NotIn excludes the frontend; DoesNotExist excludes the debug pod.
    assert!(allowed(&m, "shop/api", "shop/db", "5432"));
    assert!(!allowed(&m, "shop/web", "shop/db", "5432"));
    assert!(allowed(
        &m,
        "kube-system/coredns",
        "monitoring/node-exporter",
        "9100"
    ));
    assert!(!allowed(
        &m,
        "shop/debug",
        "monitoring/node-exporter",
        "9100"
    ));
}

#[test]
fn shop_fixtures_pass_kubernetes_validate_strict() {
    let Some(tool) = require_tool("kubernetes-validate") else {
        return;
    };
    // kubernetes-validate has no schema for `List`: its items go in files of their own.
    let items = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for path in walkdir(&Path::new(ROOT).join(SHOP)) {
        let body = std::fs::read_to_string(&path).expect("read");
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&body).expect("YAML");
        if !docs.iter().any(|d| d["kind"] == "List") {
            files.push(path);
            continue;
        }
        for (i, item) in docs
            .iter()
            .flat_map(|d| d["items"].as_array().cloned().unwrap_or_default())
            .enumerate()
        {
            let file = items.path().join(format!("item-{i}.json"));
            std::fs::write(&file, item.to_string()).expect("write");
            files.push(file);
        }
    }
    assert!(files.len() >= 10, "{files:?}");
    let out = Command::new(tool)
        .args(["--strict", "-k", "1.31.0"])
        .args(&files)
        .output()
        .expect("run kubernetes-validate");
    let report = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success(),
        "kubernetes-validate failed:\n{report}"
    );
    assert!(
        !report.contains("ERROR") && !report.contains("WARN"),
        "{report}"
    );
}

fn walkdir(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            out.extend(walkdir(&p));
        } else {
            out.push(p);
        }
    }
    out
}

// --- selectors ----------------------------------------------------------------

#[test]
fn requirement_operators() {
    let req = |op, values: &[&str]| LabelRequirement {
        span: Span::new(FileId(0), 0, 0),
        key: Spanned::new("tier".to_string(), Span::new(FileId(0), 0, 0)),
        op,
        values: values.iter().map(|v| v.to_string()).collect(),
    };
    let cases = [
        (SelectorOp::In, &["a", "b"][..], Some("a"), true),
        (SelectorOp::In, &["a", "b"], Some("c"), false),
        (SelectorOp::In, &["a"], None, false),
        (SelectorOp::NotIn, &["a"], Some("a"), false),
        (SelectorOp::NotIn, &["a"], Some("b"), true),
        (SelectorOp::NotIn, &["a"], None, true),
        (SelectorOp::Exists, &[], Some(""), true),
        (SelectorOp::Exists, &[], None, false),
        (SelectorOp::DoesNotExist, &[], Some("x"), false),
        (SelectorOp::DoesNotExist, &[], None, true),
    ];
    for (op, values, label, expected) in cases {
        assert_eq!(
            req(op, values).holds(label),
            expected,
            "{op:?} {values:?} on {label:?}"
        );
    }
}

/// A namespace `app` with three pods, and `client` pods in two namespaces.
fn selector_world(pod_selector: &str) -> Manifests {
    let mut yaml = namespace("app", &[("team", "a")]);
    yaml += &namespace("other", &[("team", "b")]);
    yaml += &deployment(
        "app",
        "red",
        &[("tier", "front"), ("color", "red")],
        &["http:80"],
    );
    yaml += &deployment("app", "blue", &[("tier", "back")], &["http:80"]);
    yaml += &deployment("app", "plain", &[], &["http:80"]);
    yaml += &deployment("app", "client", &[("role", "client")], &[]);
    yaml += &deployment("other", "client", &[("role", "client")], &[]);
    yaml += &policy(
        "app",
        "p",
        &format!("podSelector:\n{pod_selector}\npolicyTypes: [Ingress]"),
    );
    clean(&[("all.yaml", &yaml)])
}

/// Which of red, blue, plain the policy isolates (denies the client).
fn isolated(pod_selector: &str) -> Vec<&'static str> {
    let m = selector_world(pod_selector);
    ["red", "blue", "plain"]
        .into_iter()
        .filter(|w| !allowed(&m, "app/client", &format!("app/{w}"), "80"))
        .collect()
}

#[test]
fn pod_selectors_match_labels_and_expressions() {
    assert_eq!(isolated("  {}"), vec!["red", "blue", "plain"]);
    assert_eq!(isolated("  matchLabels: {tier: front}"), vec!["red"]);
    let expr = |key: &str, op: &str, values: &str| {
        format!("  matchExpressions:\n    - key: {key}\n      operator: {op}\n{values}")
    };
    assert_eq!(
        isolated(&expr("tier", "In", "      values: [front, back]")),
        vec!["red", "blue"]
    );
    assert_eq!(
        isolated(&expr("tier", "NotIn", "      values: [front]")),
        vec!["blue", "plain"]
    );
    assert_eq!(isolated(&expr("color", "Exists", "")), vec!["red"]);
    assert_eq!(isolated(&expr("tier", "DoesNotExist", "")), vec!["plain"]);
    // matchLabels AND matchExpressions.
    assert_eq!(
        isolated("  matchLabels: {tier: front}\n  matchExpressions:\n    - {key: color, operator: NotIn, values: [red]}"),
        Vec::<&str>::new()
    );
}

#[test]
fn peer_selectors_scope_namespaces() {
    let peers = |from: &str| {
        let mut yaml = namespace("app", &[("team", "a")]);
        yaml += &namespace("other", &[("team", "b")]);
        yaml += &deployment("app", "server", &[("app", "server")], &["http:80"]);
        yaml += &deployment("app", "client", &[("role", "client")], &[]);
        yaml += &deployment("other", "client", &[("role", "client")], &[]);
        yaml += &deployment("other", "bystander", &[], &[]);
        yaml += &policy(
            "app",
            "p",
            &format!("podSelector: {{}}\ningress:\n  - from:\n{from}"),
        );
        let m = clean(&[("all.yaml", &yaml)]);
        ["app/client", "other/client", "other/bystander", "192.0.2.1"]
            .into_iter()
            .filter(|c| allowed(&m, c, "app/server", "80"))
            .collect::<Vec<_>>()
    };
    // podSelector alone: the policy's own namespace.
    assert_eq!(
        peers("      - podSelector: {matchLabels: {role: client}}"),
        vec!["app/client"]
    );
    // namespaceSelector alone: every pod of the matching namespaces.
    assert_eq!(
        peers("      - namespaceSelector: {matchLabels: {team: b}}"),
        vec!["other/client", "other/bystander"]
    );
    assert_eq!(
        peers("      - namespaceSelector: {}"),
        vec!["app/client", "other/client", "other/bystander"]
    );
    // Both in one peer: AND. Two peers: OR.
    assert_eq!(
        peers("      - namespaceSelector: {matchExpressions: [{key: team, operator: NotIn, values: [a]}]}\n        podSelector: {matchLabels: {role: client}}"),
        vec!["other/client"]
    );
    assert_eq!(
        peers("      - namespaceSelector: {matchLabels: {team: b}}\n      - podSelector: {matchLabels: {role: client}}"),
        vec!["app/client", "other/client", "other/bystander"]
    );
    // The implicit name label.
    assert_eq!(
        peers("      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: other}}\n        podSelector: {matchExpressions: [{key: role, operator: Exists}]}"),
        vec!["other/client"]
    );
    // ipBlock matches external addresses only.
    assert_eq!(
        peers("      - ipBlock: {cidr: 0.0.0.0/0}"),
        vec!["192.0.2.1"]
    );
}

// --- policyTypes, rules and ports ----------------------------------------------

fn two_pods(spec: &str) -> Manifests {
    let mut yaml = deployment("default", "a", &[("app", "a")], &["http:80", "dns:53/UDP"]);
    yaml += &deployment(
        "default",
        "b",
        &[("app", "b")],
        &["http:80", "web:8080", "dns:53/UDP"],
    );
    yaml += &policy("default", "p", spec);
    clean(&[("all.yaml", &yaml)])
}

#[test]
fn policy_types_default_as_the_api_server_does() {
    // Egress rules without policyTypes: Ingress and Egress.
    let m = two_pods("podSelector: {matchLabels: {app: a}}\negress:\n  - to: [{podSelector: {matchLabels: {app: b}}}]\n    ports: [{port: 80}]");
    assert!(allowed(&m, "default/a", "default/b", "80"));
    assert!(!allowed(&m, "default/a", "default/b", "8080"));
    assert!(
        !allowed(&m, "default/b", "default/a", "80"),
        "ingress isolated too"
    );
    // `egress: []` without policyTypes isolates nothing for egress.
    let m = two_pods("podSelector: {matchLabels: {app: a}}\negress: []");
    assert!(allowed(&m, "default/a", "default/b", "8080"));
    assert!(!allowed(&m, "default/b", "default/a", "80"));
    // policyTypes [Egress]: ingress rules are ignored, ingress is open.
    let m =
        two_pods("podSelector: {matchLabels: {app: a}}\npolicyTypes: [Egress]\ningress:\n  - {}");
    assert!(allowed(&m, "default/b", "default/a", "80"));
    assert!(!allowed(&m, "default/a", "default/b", "80"));
    // `ingress: [{}]`: one rule that allows everything.
    let m = two_pods("podSelector: {}\npolicyTypes: [Ingress]\ningress:\n  - {}");
    assert!(allowed(&m, "default/a", "default/b", "8080"));
    assert!(allowed(&m, "10.0.0.1", "default/b", "8080"));
}

#[test]
fn ports_named_ranges_and_protocols() {
    let ingress = |ports: &str| {
        two_pods(&format!(
            "podSelector: {{matchLabels: {{app: b}}}}\npolicyTypes: [Ingress]\ningress:\n  - ports: {ports}"
        ))
    };
    let m = ingress("[{port: web}]");
    assert!(allowed(&m, "default/a", "default/b", "8080"));
    assert!(!allowed(&m, "default/a", "default/b", "80"));
    let m = ingress("[{port: 79, endPort: 80}]");
    assert!(allowed(&m, "default/a", "default/b", "80"));
    assert!(!allowed(&m, "default/a", "default/b", "8080"));
    let m = ingress("[{protocol: UDP}]");
    assert!(allowed(&m, "default/a", "default/b", "53/UDP"));
    assert!(!allowed(&m, "default/a", "default/b", "80"));
    let m = ingress("[{port: dns, protocol: UDP}, {port: 8080}]");
    assert!(allowed(&m, "default/a", "default/b", "53/UDP"));
    assert!(allowed(&m, "default/a", "default/b", "8080"));
    assert!(!allowed(&m, "default/a", "default/b", "80"));
    // A named port of another protocol matches nothing.
    let m = ingress("[{port: dns, protocol: TCP}]");
    assert!(!allowed(&m, "default/a", "default/b", "53"));
    assert!(!allowed(&m, "default/a", "default/b", "53/UDP"));
}

#[test]
fn owners_group_pods_and_replica_sets() {
    let rs = "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: w-1\n  namespace: prod\n  ownerReferences:\n    - {apiVersion: apps/v1, kind: Deployment, name: w, uid: u, controller: true}\nspec:\n  selector: {matchLabels: {app: w}}\n  template:\n    metadata: {labels: {app: w}}\n    spec: {containers: [{name: c, image: i}]}\n---\n";
    let pod = |name: &str, owner: &str| {
        format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: prod\n  labels: {{app: w}}\n  ownerReferences:\n    - {{apiVersion: apps/v1, kind: ReplicaSet, name: {owner}, uid: u, controller: true}}\nspec:\n  containers: [{{name: c, image: i}}]\n---\n")
    };
    let with_owner = format!(
        "{}{rs}{}",
        deployment("prod", "w", &[("app", "w")], &[]),
        pod("w-1-a", "w-1")
    );
    let m = clean(&[("a.yaml", &with_owner)]);
    let names = workload_names(&m);
    assert_eq!(names, vec!["w"]);
    // An owner that is not in the folder: the Pod stands alone.
    let m = clean(&[("a.yaml", &pod("orphan", "gone"))]);
    let names = workload_names(&m);
    assert_eq!(names, vec!["orphan"]);
    // Same name, different kinds: both kept, told apart by kind.
    let sts = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: w, namespace: prod}\nspec:\n  serviceName: w\n  selector: {matchLabels: {app: s}}\n  template:\n    metadata: {labels: {app: s}}\n    spec: {containers: [{name: c, image: i}]}\n";
    let m = clean(&[(
        "a.yaml",
        &format!("{}{sts}", deployment("prod", "w", &[("app", "w")], &[])),
    )]);
    let names = workload_names(&m);
    assert_eq!(names, vec!["w (Deployment)", "w (StatefulSet)"]);
}

#[test]
fn unknown_kinds_and_implicit_namespaces_are_noted() {
    let m = clean(&[(
        "x.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: p, namespace: n}\nspec: {selector: all()}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {deep: {deeper: [1, 2]}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: i}]}\n",
    )]);
    let notes: Vec<String> = m
        .notes
        .iter()
        .map(|n| {
            let f = m.sources.get(n.span.file).expect("file");
            format!(
                "{}:{} {}",
                f.path,
                f.line_col(n.span.start as usize).0,
                n.message
            )
        })
        .collect();
    assert_eq!(
        notes,
        vec![
            "x.yaml:2 skipped ConfigMap v1",
            "x.yaml:6 skipped NetworkPolicy projectcalico.org/v3 (Calico resources are not read; the matrix leaves them out)",
            "x.yaml:11 skipped Widget example.com/v1",
            "x.yaml:17 namespace `default` is not declared; its only label is `kubernetes.io/metadata.name=default`",
        ]
    );
}

// --- malformed input ----------------------------------------------------------

#[test]
fn malformed_documents_are_problems_with_their_line() {
    let np = |spec: &str| policy("prod", "p", spec);
    let cases: Vec<(String, &str)> = vec![
        ("a: [1, 2\nb: c\n".into(), "x.yaml:2: not valid YAML: illegal placement of ':' indicator"),
        ("- 1\n- 2\n".into(), "x.yaml:1: a Kubernetes object must be a mapping"),
        ("apiVersion: v1\nmetadata: {name: x}\n".into(), "x.yaml:1: `kind` is missing"),
        ("kind: Pod\nmetadata: {name: x}\n".into(), "x.yaml:1: `apiVersion` is missing"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {namespace: x}\n".into(), "x.yaml:3: `metadata.name` is missing"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: 7}\n".into(), "x.yaml:3: `metadata.name` must be a non-empty string, not the number 7 (quote it)"),
        (np("podSelector:\n  matchExpressions:\n    - {key: a, operator: Equals, values: [b]}"), "x.yaml:9: unknown selector operator `Equals`"),
        (np("podSelector:\n  matchExpressions:\n    - {key: a, operator: In}"), "x.yaml:9: operator In needs at least one value"),
        (np("podSelector:\n  matchExpressions:\n    - {key: a, operator: Exists, values: [b]}"), "x.yaml:9: operator Exists takes no values"),
        (np("podSelector:\n  matchLabel: {a: b}"), "x.yaml:8: unknown field `matchLabel` in `podSelector`"),
        (np("podSelector: {matchLabels: {a: 1}}"), "x.yaml:7: the value of `a` in `matchLabels` must be a string, not the number 1"),
        (np("podSelector: {}\ningress:\n  - from:\n      - ipBlock: {cidr: 10.0.0.0/33}"), "x.yaml:10: `10.0.0.0/33` is not a CIDR"),
        (np("podSelector: {}\ningress:\n  - from:\n      - ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}"), "x.yaml:10: `except` 11.0.0.0/16 must lie strictly inside the `cidr` 10.0.0.0/8"),
        (np("podSelector: {}\ningress:\n  - from:\n      - ipBlock: {cidr: 10.0.0.0/8}\n        podSelector: {}"), "x.yaml:10: `ipBlock` cannot be combined"),
        (np("podSelector: {}\ningress:\n  - from:\n      - {}"), "x.yaml:10: a peer must have"),
        (np("podSelector: {}\ningress:\n  - ports:\n      - port: 70000"), "x.yaml:10: `port` must be a number from 1 to 65535 or a port name"),
        (np("podSelector: {}\ningress:\n  - ports:\n      - port: Not_A_Name"), "x.yaml:10: `port` must be a number"),
        (np("podSelector: {}\ningress:\n  - ports:\n      - {port: 90, endPort: 80}"), "x.yaml:10: `endPort` 80 is below `port` 90"),
        (np("podSelector: {}\ningress:\n  - ports:\n      - {port: http, endPort: 80}"), "x.yaml:10: `endPort` needs a numbered `port`, not a port name"),
        (np("podSelector: {}\ningress:\n  - ports:\n      - {protocol: ICMP}"), "x.yaml:10: `protocol` must be TCP, UDP or SCTP"),
        (np("policyTypes: [Ingress]"), "x.yaml:7: `spec.podSelector` is missing"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: Web_1}\n".into(), "x.yaml:3: `Web_1` is not a valid Pod name"),
        ("apiVersion: v1\nkind: Namespace\nmetadata: {name: a.b}\n".into(), "x.yaml:3: `a.b` is not a valid Namespace name"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: \"\\e[31m\"}\n".into(), "x.yaml:3: `\\u{1b}[31m` is not a valid namespace name"),
        (np("podSelector: {}\npolicyTypes: [Both]"), "x.yaml:8: a policy type is `Ingress` or `Egress`"),
        (np("podSelector: {}\ningres: []"), "x.yaml:8: unknown field `ingres` in a NetworkPolicy spec"),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: c\n      ports:\n        - containerPort: 0\n".into(),
            "x.yaml:8: `containerPort` must be a number from 1 to 65535, not 0",
        ),
        (
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n".into(),
            "x.yaml:7: Namespace `a` is declared twice (first at x.yaml:3)",
        ),
        (
            "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Pod\n    metadata: {}\n".into(),
            "x.yaml:6: `metadata.name` is missing",
        ),
    ];
    for (yaml, expected) in &cases {
        let m = world(&[("x.yaml", yaml)]);
        let got = problems(&m);
        assert!(
            got.len() == 1 && got[0].starts_with(expected),
            "expected `{expected}…`, got {got:#?}\nfor:\n{yaml}"
        );
    }
}

#[test]
fn cli_reports_problems_with_exit_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("bad.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [x]\n",
    )
    .expect("write");
    let out = trellis(&["matrix", "--manifests", dir.path().to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        "error: bad.yaml:4:9: `metadata.name` must be a non-empty string, not a list\nerror: 1 problem(s) in the manifests; no matrix\n"
    );
    // No YAML at all, a missing folder, PATH together with --manifests: usage.
    let empty = tempfile::tempdir().expect("tempdir");
    let out = trellis(&[
        "matrix",
        "--manifests",
        empty.path().to_str().expect("path"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = trellis(&["matrix", "--manifests", "/nonexistent/trellis-manifests"]);
    assert_eq!(out.status.code(), Some(2));
    let out = trellis(&["matrix", "examples/multi-tier", "--manifests", SHOP]);
    assert_eq!(out.status.code(), Some(2));
    let out = trellis(&["matrix", "--manifests", SHOP, "--port", "http"]);
    assert_eq!(out.status.code(), Some(2));
}

// --- hostile input --------------------------------------------------------------

#[test]
fn hostile_yaml_is_refused_quickly_without_panics() {
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    let mut prev = 'a';
    for c in 'b'..='m' {
        bomb.push_str(&format!(
            "{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        ));
        prev = c;
    }
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("alias bomb", bomb.into_bytes()),
        (
            "deep flow nesting",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        ),
        (
            "deep block nesting",
            (0..2_000)
                .map(|i| format!("{}k:\n", " ".repeat(i)))
                .collect::<String>()
                .into_bytes(),
        ),
        (
            "deep mapping nesting",
            format!("{}1{}", "{a: ".repeat(50_000), "}".repeat(50_000)).into_bytes(),
        ),
        (
            "invalid UTF-8",
            b"apiVersion: v1\nkind: \xff\xfe\n".to_vec(),
        ),
        ("NUL bytes", b"apiVersion: v1\0\0kind: Pod".to_vec()),
        ("tabs", b"apiVersion: v1\n\tkind: Pod\n".to_vec()),
        ("many documents", "---\na: 1\n".repeat(50_000).into_bytes()),
        (
            "huge scalar",
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: \"{}\"}}\n",
                "x".repeat(8 << 20)
            )
            .into_bytes(),
        ),
        (
            "too large",
            vec![b'#'; (manifests::MAX_FILE_BYTES + 1) as usize],
        ),
        (
            "merge keys",
            b"a: &a {x: 1}\nb:\n  <<: *a\n  <<: *a\n".to_vec(),
        ),
        ("binary", (0..=255u8).cycle().take(100_000).collect()),
    ];
    for (what, bytes) in cases {
        let start = Instant::now();
        let mut sources = Sources::new();
        let mut problems = Vec::new();
        manifests::add_bytes(&mut sources, &mut problems, format!("{what}.yaml"), bytes);
        let m = manifests::read(sources, problems);
        let took = start.elapsed();
        assert!(took < Duration::from_secs(10), "{what}: {took:?}");
        assert!(
            !m.problems.is_empty() || what == "huge scalar" || what == "many documents",
            "{what}: expected a problem"
        );
    }
}

#[test]
fn random_bytes_never_panic() {
    use proptest::prelude::*;
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 200,
        ..Default::default()
    });
    let alphabet = proptest::collection::vec(
        prop_oneof![
            Just(b'-'),
            Just(b':'),
            Just(b' '),
            Just(b'\n'),
            Just(b'['),
            Just(b'{'),
            Just(b'&'),
            Just(b'*'),
            Just(b'a'),
            Just(b'1'),
            any::<u8>()
        ],
        0..400,
    );
    runner
        .run(&alphabet, |bytes| {
            let mut sources = Sources::new();
            let mut problems = Vec::new();
            manifests::add_bytes(&mut sources, &mut problems, "r.yaml".into(), bytes);
            let _ = manifests::read(sources, problems);
            Ok(())
        })
        .expect("no panic");
}

// --- the same engine: trellis sources and the NetworkPolicies they emit --------

#[test]
fn emitted_network_policies_read_back_to_the_same_verdicts() {
    use trellis::check::policy::kubernetes_obstacle;
    use trellis::model::PolicyTarget;
    use trellis::reach::Reason;
    let mut compared = 0;
    for dir in common::example_dirs() {
        let name = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let project = trellis::load::load(&dir, &[]).expect("load");
        let c = trellis::compile(
            &project.sources,
            project.diagnostics,
            &trellis::Options::default(),
        );
        common::assert_no_errors(&c, &name);
        if c.model.policies.is_empty() {
            continue;
        }
        let out = tempfile::tempdir().expect("tempdir");
        trellis::output::write_output(&out.path().join("out"), &c.artifacts).expect("write");
        for cluster in &c.model.clusters {
            // Policies emitted as Calico (ordered, global, ...) are not read back;
            // only verdicts no Calico policy decided are compared.
            let calico: Vec<&str> = c
                .model
                .policies
                .iter()
                .filter(|p| p.cluster.value == cluster.name.value)
                .filter(|p| {
                    p.target.value == PolicyTarget::Calico || kubernetes_obstacle(p).is_some()
                })
                .map(|p| p.name.value.as_str())
                .collect();
            let k8s_dir = out
                .path()
                .join("out")
                .join(&cluster.name.value)
                .join("kubernetes");
            let m = manifests::read_dir(&k8s_dir).expect("read back");
            assert!(m.problems.is_empty(), "{name}: {:#?}", problems(&m));
            let source = Engine::new(&c.model, c.allocation.as_ref(), cluster);
            let back = Engine::new(&m.model, None, m.cluster().expect("cluster"));
            let by_calico = |r: &Reason| matches!(r, Reason::Rule { policy, .. } if calico.contains(&policy.as_str()));
            let workloads: Vec<_> = source.workloads().collect();
            assert_eq!(workloads.len(), back.workloads().count(), "{name}");
            for s in &workloads {
                for d in &workloads {
                    let (bs, bd) = (
                        back.workload(&s.namespace.value, &s.name.value)
                            .expect("source read back"),
                        back.workload(&d.namespace.value, &d.name.value)
                            .expect("destination read back"),
                    );
                    let ports: Vec<(u16, Protocol)> = [53, 80, 443, 5432, 8080, 9000]
                        .into_iter()
                        .map(|p| (p, Protocol::Tcp))
                        .chain(d.ports.iter().map(|p| (p.number.value, p.protocol.value)))
                        .chain([(53, Protocol::Udp)])
                        .collect();
                    for (port, proto) in ports {
                        let v = source.decide(Endpoint::Pod(s), Endpoint::Pod(d), port, proto);
                        if by_calico(&v.egress.reason) || by_calico(&v.ingress.reason) {
                            continue;
                        }
                        let w = back.decide(Endpoint::Pod(bs), Endpoint::Pod(bd), port, proto);
                        assert_eq!(
                            v.allowed,
                            w.allowed,
                            "{name}: {}/{} -> {}/{} on {port}/{}: source {v:?}, manifests {w:?}",
                            s.namespace.value,
                            s.name.value,
                            d.namespace.value,
                            d.name.value,
                            proto.as_str()
                        );
                        compared += 1;
                    }
                }
            }
        }
    }
    assert!(compared > 100, "only {compared} verdicts compared");
}
