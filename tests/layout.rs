//! `trellis build --layout bundle`: each cluster's Kubernetes objects in one YAML
//! stream (`<cluster>/kubernetes/manifests.yaml`) and its Calico objects in another
//! (`<cluster>/calico/policies.yaml`).
//!
//! The bundle layout is held to the file layout, which the other suites check in
//! depth: for every example, each stream holds exactly the documents of that
//! cluster's files, value for value, in apply order (Namespaces and the Calico tier
//! first); every other file is byte-identical. On top of that the streams pass
//! `kubernetes-validate --strict` as written, the scripts pass the PowerShell and
//! AksHci signature checks, and the command line writes the layout it is asked for.

use std::path::Path;
use std::process::Command;

use trellis::diag::Diagnostics;
use trellis::emit::{Artifact, Layout, CALICO_BUNDLE, KUBERNETES_BUNDLE};
use trellis::source::Sources;
use trellis::{compile, load, Compilation, Options};

mod common;
#[path = "common/powershell.rs"]
mod ps;
use common::{example_dirs, require_tool};

fn build(sources: &Sources, layout: Layout, what: &str) -> Compilation {
    let options = Options {
        layout,
        ..Options::default()
    };
    let compilation = compile(sources, Diagnostics::new(), &options);
    common::assert_no_errors(&compilation, what);
    compilation
}

fn example(dir: &Path) -> (String, Sources) {
    let name = dir
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let project = load::load(dir, &[]).expect("load example");
    assert!(project.diagnostics.is_empty(), "{name}");
    (name, project.sources)
}

/// The bundle a file of the file layout goes into, if any: by the path's second
/// segment (a namespace may be named `kubernetes` or `calico`).
fn bundle_of(path: &str) -> Option<String> {
    let mut parts = path.splitn(3, '/');
    let (cluster, folder, rest) = (parts.next()?, parts.next()?, parts.next()?);
    let file = match folder {
        "kubernetes" if rest != "kustomization.yaml" => KUBERNETES_BUNDLE,
        "calico" => CALICO_BUNDLE,
        _ => return None,
    };
    Some(format!("{cluster}/{folder}/{file}"))
}

/// Namespaces and tiers first, then by path: the order `kubectl apply -k` and
/// `deploy.ps1` apply the file layout in.
fn apply_key(path: &str) -> (bool, String) {
    let file = path.rsplit('/').next().unwrap_or(path);
    (
        !(file == "namespace.yaml" || file.starts_with("tier-")),
        path.to_string(),
    )
}

fn yaml(text: &str, what: &str) -> serde_json::Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{what}: {e}"))
}

fn find<'a>(artifacts: &'a [Artifact], path: &str) -> Option<&'a Artifact> {
    artifacts.iter().find(|a| a.path == path)
}

#[test]
fn bundles_hold_exactly_the_documents_of_the_files_in_apply_order() {
    let mut streams = 0;
    for dir in example_dirs() {
        let (name, sources) = example(&dir);
        let files = build(&sources, Layout::Files, &name).artifacts;
        let bundle = build(&sources, Layout::Bundle, &name).artifacts;
        // Group the file layout's manifests by the stream they belong in.
        let mut expected: std::collections::BTreeMap<String, Vec<&Artifact>> =
            std::collections::BTreeMap::new();
        for a in &files {
            if let Some(stream) = bundle_of(&a.path) {
                expected.entry(stream).or_default().push(a);
            }
        }
        for (stream, mut documents) in expected {
            documents.sort_by_key(|a| apply_key(&a.path));
            let written = find(&bundle, &stream)
                .unwrap_or_else(|| panic!("{name}: no {stream} in the bundle layout"));
            assert!(written.content.starts_with("---\n"), "{name}/{stream}");
            let parsed: Vec<serde_json::Value> = serde_saphyr::from_multiple(&written.content)
                .unwrap_or_else(|e| panic!("{name}/{stream}: {e}"));
            let want: Vec<serde_json::Value> = documents
                .iter()
                .map(|a| yaml(&a.content, &a.path))
                .collect();
            assert_eq!(parsed.len(), want.len(), "{name}/{stream}: document count");
            for (i, (got, want)) in parsed.iter().zip(&want).enumerate() {
                assert_eq!(
                    got, want,
                    "{name}/{stream}: document {i} ({})",
                    documents[i].path
                );
            }
            streams += 1;
        }
        // Every file outside the streams is the same, except the kustomizations
        // and the scripts, which name the streams.
        for a in files.iter().filter(|a| bundle_of(&a.path).is_none()) {
            let other = find(&bundle, &a.path)
                .unwrap_or_else(|| panic!("{name}: {} missing in the bundle layout", a.path));
            if a.path.ends_with("kustomization.yaml") {
                let k = yaml(&other.content, &other.path);
                assert_eq!(
                    k["resources"],
                    serde_json::json!([KUBERNETES_BUNDLE]),
                    "{name}/{}",
                    a.path
                );
            } else if !a.path.ends_with(".ps1") {
                assert_eq!(a.content, other.content, "{name}/{}", a.path);
            }
        }
        // Nothing else appears.
        for a in &bundle {
            let known = bundle_of(&a.path).is_some() || find(&files, &a.path).is_some();
            assert!(known, "{name}: unexpected {}", a.path);
        }
    }
    assert!(streams >= 5, "only {streams} streams compared");
}

#[test]
fn bundles_pass_kubernetes_validate_strict() {
    let Some(tool) = require_tool("kubernetes-validate") else {
        return;
    };
    let mut checked = 0;
    for dir in example_dirs() {
        let (name, sources) = example(&dir);
        let compilation = build(&sources, Layout::Bundle, &name);
        let out = tempfile::tempdir().expect("tempdir");
        let root = out.path().join("out");
        trellis::output::write_output(&root, &compilation.artifacts).expect("write");
        for cluster in &compilation.model.clusters {
            let stream = format!("{}/kubernetes/{KUBERNETES_BUNDLE}", cluster.name.value);
            if find(&compilation.artifacts, &stream).is_none() {
                continue;
            }
            // The newest version kubernetes-validate knows; the file layout's suite
            // checks each cluster's own version.
            let result = Command::new(&tool)
                .args(["--strict", "--quiet", "-k", "1.32.0"])
                .arg(root.join(&stream))
                .output()
                .expect("run kubernetes-validate");
            assert!(
                result.status.success(),
                "{name}/{stream}: kubernetes-validate failed:\n{}{}",
                String::from_utf8_lossy(&result.stdout),
                String::from_utf8_lossy(&result.stderr)
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} streams validated");
}

#[test]
fn bundle_scripts_apply_the_streams_and_pass_the_powershell_checks() {
    let mut calico_streams = 0;
    for dir in example_dirs() {
        let (name, sources) = example(&dir);
        let compilation = build(&sources, Layout::Bundle, &name);
        let deploy = find(&compilation.artifacts, "deploy.ps1").expect("deploy.ps1");
        for script in compilation
            .artifacts
            .iter()
            .filter(|a| a.path.ends_with(".ps1"))
        {
            ps::check_script(&format!("{name}/{}", script.path), &script.content);
        }
        let (literals, _) = ps::literals_and_commands(&deploy.content);
        for cluster in &compilation.model.clusters {
            let calico = format!("{}/calico/{CALICO_BUNDLE}", cluster.name.value);
            if find(&compilation.artifacts, &calico).is_some() {
                assert!(
                    literals.contains(&calico),
                    "{name}: deploy.ps1 does not apply {calico}"
                );
                calico_streams += 1;
            }
            // No per-object Calico file is named any more.
            let folder = format!("{}/calico/", cluster.name.value);
            assert!(
                !literals
                    .iter()
                    .any(|l| l.starts_with(&folder) && *l != calico),
                "{name}: deploy.ps1 names a Calico file that is not written"
            );
        }
    }
    assert!(calico_streams >= 1, "no example has Calico policies");
}

#[test]
fn build_writes_the_layout_it_is_asked_for() {
    let project = format!("{}/examples/multi-tier", common::ROOT);
    let out = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_trellis"))
            .args(args)
            .output()
            .expect("run trellis")
    };
    let bundle = out.path().join("bundle");
    let files = out.path().join("files");
    let b = run(&[
        "build",
        &project,
        "-o",
        bundle.to_str().expect("utf-8"),
        "--layout",
        "bundle",
    ]);
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let f = run(&["build", &project, "-o", files.to_str().expect("utf-8")]);
    assert!(f.status.success(), "{}", String::from_utf8_lossy(&f.stderr));
    let count = |dir: &Path| {
        walkdir::WalkDir::new(dir)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .count()
    };
    assert!(bundle
        .join("retail/kubernetes")
        .join(KUBERNETES_BUNDLE)
        .is_file());
    assert!(!bundle.join("retail/kubernetes/store").exists());
    assert!(files.join("retail/kubernetes/store").is_dir());
    assert!(count(&bundle) < count(&files));
    // An unknown layout is a usage error, and writes nothing.
    let bad = out.path().join("bad");
    let e = run(&[
        "build",
        &project,
        "-o",
        bad.to_str().expect("utf-8"),
        "--layout",
        "tree",
    ]);
    assert_eq!(e.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&e.stderr).contains("files"));
    assert!(!bad.exists());
}

/// Namespaces named like the output folders (`kubernetes`, `calico`): their files
/// sit below `<cluster>/calico/kubernetes/` and `<cluster>/kubernetes/calico/`, and
/// must still be told apart by the folder right below the cluster. (They were not:
/// a Calico policy of namespace `kubernetes` got a kustomization of its own, and in
/// the bundle layout a stream apart from its tier, applied before it.)
#[test]
fn namespaces_named_like_the_output_folders() {
    let text = std::fs::read_to_string(format!("{}/examples/quickstart/network.kdl", common::ROOT))
        .expect("quickstart");
    let extra = r#"
namespace "kubernetes" cluster="shop"
namespace "calico" cluster="shop"
workload "api" cluster="shop" namespace="kubernetes" { image "nginx:1.27"; port "http" 8080; }
workload "felix" cluster="shop" namespace="calico" { image "nginx:1.27"; port "http" 8080; }
policy "guard" cluster="shop" namespace="kubernetes" order=5 {
    pods app="api"
    allow ingress { from { pods app="api" }; port 8080; }
}
"#;
    let mut sources = Sources::new();
    sources.add("network.kdl", text);
    sources.add("extra.kdl", extra.to_string());
    let files = build(&sources, Layout::Files, "files").artifacts;
    let paths: Vec<&str> = files.iter().map(|a| a.path.as_str()).collect();
    let kustomizations: Vec<&str> = paths
        .iter()
        .copied()
        .filter(|p| p.ends_with("kustomization.yaml"))
        .collect();
    assert_eq!(kustomizations, ["shop/kubernetes/kustomization.yaml"]);
    assert!(paths.contains(&"shop/calico/kubernetes/networkpolicy-guard.yaml"));
    assert!(paths.contains(&"shop/kubernetes/calico/deployment-felix.yaml"));
    let k = find(&files, "shop/kubernetes/kustomization.yaml").expect("kustomization");
    let listed = yaml(&k.content, &k.path)["resources"]
        .as_array()
        .expect("resources")
        .len();
    let manifests = paths
        .iter()
        .filter(|p| p.starts_with("shop/kubernetes/") && !p.ends_with("kustomization.yaml"))
        .count();
    assert_eq!(listed, manifests, "the kustomization lists every manifest");

    let bundle = build(&sources, Layout::Bundle, "bundle").artifacts;
    let mut written: Vec<&str> = bundle.iter().map(|a| a.path.as_str()).collect();
    written.sort_unstable();
    assert_eq!(
        written,
        [
            "deploy.ps1",
            "remove.ps1",
            "shop/calico/policies.yaml",
            "shop/haproxy/haproxy.cfg",
            "shop/kubernetes/kustomization.yaml",
            "shop/kubernetes/manifests.yaml",
        ]
    );
    let calico = find(&bundle, "shop/calico/policies.yaml").expect("calico stream");
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(&calico.content).expect("parses");
    let kinds: Vec<&str> = docs
        .iter()
        .map(|d| d["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        ["Tier", "NetworkPolicy"],
        "the tier before its policy"
    );
}

/// The bundle layout of `multi-tier` (Kubernetes and Calico streams, the
/// kustomization and `deploy.ps1`), snapshotted in `snapshots/layout/` so a change
/// to it is reviewed like every other output; the other files are those of the
/// default layout, snapshotted by `tests/examples.rs`.
#[test]
fn multi_tier_bundle_is_snapshotted() {
    let (name, sources) = example(std::path::Path::new(&format!(
        "{}/examples/multi-tier",
        common::ROOT
    )));
    let bundle = build(&sources, Layout::Bundle, &name).artifacts;
    insta::with_settings!({
        snapshot_path => format!("{}/snapshots/layout/{name}", common::ROOT),
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        for artifact in bundle
            .iter()
            .filter(|a| a.path == "deploy.ps1" || a.path.contains("/kubernetes/") || a.path.contains("/calico/"))
        {
            insta::assert_snapshot!(artifact.path.replace('/', "__"), &artifact.content);
        }
    });
}
