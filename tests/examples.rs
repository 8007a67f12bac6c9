//! Every project in `examples/` through every emitter: the complete output is
//! snapshotted (`snapshots/examples/<project>/...`), is byte-identical across builds
//! and file orders, and every manifest passes the real validators:
//! `kubernetes-validate --strict` for the cluster's Kubernetes version.
//!
//! Validators are found on `PATH` or in `target/venv/bin` (where `tests/run`
//! installs them). With `CI=true` a missing validator fails the test; otherwise the
//! test says loudly that it skipped the check.

use std::path::Path;
use std::process::Command;

use trellis::diag::Diagnostics;
use trellis::emit::Artifact;
use trellis::source::Sources;
use trellis::{compile, load, Compilation, Options};

mod common;

use common::{example_dirs as examples, require_tool, ROOT};

/// Compiles a project from `sources`, asserting it has no errors.
fn build(sources: &Sources, what: &str) -> Compilation {
    let compilation = compile(sources, Diagnostics::new(), &Options::default());
    common::assert_no_errors(&compilation, what);
    compilation
}

fn load_example(dir: &Path) -> Sources {
    let project = load::load(dir, &[]).expect("load example");
    assert!(project.diagnostics.is_empty());
    project.sources
}

#[test]
fn every_example_output_is_snapshotted_and_deterministic() {
    for dir in examples() {
        let name = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let sources = load_example(&dir);
        let first = build(&sources, &name);
        let again = build(&sources, &name);
        let other_order = build(&common::reversed(&sources), &name);
        assert_eq!(
            first.artifacts, again.artifacts,
            "{name}: two builds differ"
        );
        assert_eq!(
            first.artifacts, other_order.artifacts,
            "{name}: file order changes the output"
        );
        assert!(!first.artifacts.is_empty(), "{name}: no output");
        insta::with_settings!({
            snapshot_path => format!("{ROOT}/snapshots/examples/{name}"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            for artifact in &first.artifacts {
                let snap = artifact.path.replace('/', "__");
                insta::assert_snapshot!(snap, &artifact.content);
            }
        });
    }
}

/// The Kubernetes version to validate a cluster's manifests against: its declared
/// version, clamped to the versions kubernetes-validate knows (1.25–1.37).
fn validation_version(declared: Option<&str>) -> String {
    let (major, minor) = declared
        .and_then(|v| {
            let mut parts = v.trim_start_matches('v').split('.');
            Some((
                parts.next()?.parse::<u32>().ok()?,
                parts.next()?.parse::<u32>().ok()?,
            ))
        })
        .unwrap_or((1, 37));
    format!("{major}.{}.0", minor.clamp(25, 37))
}

#[test]
fn every_manifest_passes_kubernetes_validate_strict() {
    let Some(tool) = require_tool("kubernetes-validate") else {
        return;
    };
    let mut checked = 0;
    for dir in examples() {
        let name = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let compilation = build(&load_example(&dir), &name);
        let out = tempfile::tempdir().expect("tempdir");
        trellis::output::write_output(&out.path().join("out"), &compilation.artifacts)
            .expect("write");
        for cluster in &compilation.model.clusters {
            let version = validation_version(cluster.kubernetes.as_ref().map(|k| k.value.as_str()));
            let manifests: Vec<&Artifact> = compilation
                .artifacts
                .iter()
                .filter(|a| {
                    a.path
                        .starts_with(&format!("{}/kubernetes/", cluster.name.value))
                })
                .filter(|a| !a.path.ends_with("kustomization.yaml"))
                .collect();
            if manifests.is_empty() {
                continue;
            }
            let mut cmd = Command::new(&tool);
            cmd.args(["--strict", "--quiet", "-k", &version]);
            for m in &manifests {
                cmd.arg(out.path().join("out").join(&m.path));
            }
            let result = cmd.output().expect("run kubernetes-validate");
            assert!(
                result.status.success(),
                "{name}/{}: kubernetes-validate failed:\n{}{}",
                cluster.name.value,
                String::from_utf8_lossy(&result.stdout),
                String::from_utf8_lossy(&result.stderr)
            );
            checked += manifests.len();
        }
    }
    assert!(checked > 10, "only {checked} manifests checked");
}

#[test]
fn kustomizations_list_exactly_their_cluster_manifests() {
    for dir in examples() {
        let name = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let compilation = build(&load_example(&dir), &name);
        for k in compilation
            .artifacts
            .iter()
            .filter(|a| a.path.ends_with("/kubernetes/kustomization.yaml"))
        {
            let base = k.path.trim_end_matches("kustomization.yaml");
            let listed: Vec<String> = k
                .content
                .lines()
                .filter_map(|l| l.strip_prefix("- "))
                .map(|l| format!("{base}{}", l.trim()))
                .collect();
            let mut present: Vec<String> = compilation
                .artifacts
                .iter()
                .filter(|a| a.path.starts_with(base) && !a.path.ends_with("kustomization.yaml"))
                .map(|a| a.path.clone())
                .collect();
            let mut sorted_listed = listed.clone();
            sorted_listed.sort();
            present.sort();
            assert_eq!(sorted_listed, present, "{name}: {}", k.path);
            // Namespaces come first.
            let first_other = listed
                .iter()
                .position(|p| !p.ends_with("/namespace.yaml"))
                .unwrap_or(listed.len());
            assert!(
                listed[first_other..]
                    .iter()
                    .all(|p| !p.ends_with("/namespace.yaml")),
                "{name}: namespaces not first"
            );
        }
    }
}

/// Validates every Calico resource of every example against the JSON Schemas
/// converted from Calico v3.32.1's CRDs (`tests/schemas/calico/`, see SOURCE.md
/// there). The Tier resource has no schema there; its fields are checked directly.
#[test]
fn every_calico_resource_matches_the_calico_schemas() {
    let load_schema = |name: &str| -> jsonschema::Validator {
        let text =
            std::fs::read_to_string(format!("{ROOT}/tests/schemas/calico/{name}")).expect("schema");
        let json: serde_json::Value = serde_json::from_str(&text).expect("schema JSON");
        jsonschema::validator_for(&json).expect("valid schema")
    };
    let np = load_schema("networkpolicy.json");
    let gnp = load_schema("globalnetworkpolicy.json");
    // The schemas do reject what Calico rejects.
    let bad: serde_json::Value = serde_json::json!({
        "apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy",
        "metadata": {"name": "x", "namespace": "y"},
        "spec": {"selector": "all()", "ingress": [{"action": "Maybe"}]}
    });
    assert!(
        !np.is_valid(&bad),
        "the NetworkPolicy schema accepts an unknown action"
    );
    let mut checked = 0;
    for dir in examples() {
        let name = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let compilation = build(&load_example(&dir), &name);
        for artifact in compilation
            .artifacts
            .iter()
            .filter(|a| a.path.contains("/calico/"))
        {
            let doc: serde_json::Value =
                serde_saphyr::from_str(&artifact.content).expect("YAML parses back");
            let kind = doc["kind"].as_str().unwrap_or("");
            let validator = match kind {
                "NetworkPolicy" => &np,
                "GlobalNetworkPolicy" => &gnp,
                "Tier" => {
                    assert_eq!(doc["apiVersion"], "projectcalico.org/v3");
                    assert!(doc["spec"]["order"].is_number());
                    assert!(matches!(
                        doc["spec"]["defaultAction"].as_str(),
                        Some("Pass" | "Deny")
                    ));
                    continue;
                }
                other => panic!("{name}/{}: unexpected kind {other}", artifact.path),
            };
            let errors: Vec<String> = validator
                .iter_errors(&doc)
                .map(|e| format!("{e} at {}", e.instance_path()))
                .collect();
            assert!(
                errors.is_empty(),
                "{name}/{}: {errors:#?}\n{}",
                artifact.path,
                artifact.content
            );
            checked += 1;
        }
    }
    assert!(checked >= 1, "no Calico resource checked");
}

/// `trellis graph`: every example's DOT graph is snapshotted
/// (`snapshots/graph/<project>.snap`), the same whatever the file order, and Graphviz
/// (`dot -Tsvg`) lays it out without an error or a warning.
#[test]
fn every_example_graph_is_snapshotted_and_accepted_by_graphviz() {
    let dot = require_tool("dot");
    for dir in examples() {
        let name = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let sources = load_example(&dir);
        let c = build(&sources, &name);
        let graph = trellis::graph::dot(&c.model, c.allocation.as_ref().expect("allocation"), None);
        let reordered = build(&common::reversed(&sources), &name);
        assert_eq!(
            graph,
            trellis::graph::dot(
                &reordered.model,
                reordered.allocation.as_ref().expect("allocation"),
                None
            ),
            "{name}: file order changes the graph"
        );
        insta::with_settings!({
            snapshot_path => format!("{ROOT}/snapshots/graph"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name.clone(), &graph);
        });
        let Some(dot) = &dot else { continue };
        let mut child = Command::new(dot)
            .arg("-Tsvg")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run dot");
        {
            use std::io::Write as _;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(graph.as_bytes()).expect("write to dot");
        }
        let out = child.wait_with_output().expect("dot output");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.trim().is_empty(),
            "{name}: dot rejected the graph:\n{stderr}\n{graph}"
        );
        let svg = String::from_utf8_lossy(&out.stdout);
        assert!(svg.contains("<svg"), "{name}: dot wrote no SVG");
    }
}
