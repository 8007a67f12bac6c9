//! Benchmarks of the pipeline on generated projects (`cargo bench`).
//!
//! - `parse`, `lower`, `check`, `allocate`, `emit` and the whole `compile` on the
//!   peers' job (`../shared/bench/peers/README.md`: per service a Deployment, a
//!   LoadBalancer Service with a pinned address and a NetworkPolicy) at 1,000 and
//!   10,000 services (10,000 only under `cargo bench`);
//! - `matrix`: the reachability matrix of 1,000 workloads and 1,000 policies;
//! - `manifests`: the same scale as a folder of Kubernetes YAML (`trellis matrix
//!   --manifests`): reading the YAML, the engine and every cell, external ranges
//!   included.
//!
//! Each generated project is compiled once before timing and must have no errors,
//! so a benchmark never measures a project that stopped early. `cargo bench -- --test`
//! runs each benchmark once (the test suite does this). Figures go to
//! `docs/performance.md`.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use trellis::diag::Diagnostics;
use trellis::reach::Engine;
use trellis::source::Sources;
use trellis::{compile, Compilation, Options};

// The allocator the `trellis` binary uses, so figures match the command line.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Services per generated file, as a team would split a large project.
const PER_FILE: usize = 250;

/// Services per cluster: each LoadBalancer port takes a NodePort, and a cluster has
/// 2,768; larger projects get more clusters, each on its own network.
const PER_CLUSTER: usize = 2_000;

/// The peers' job: `n` services, in clusters of at most [`PER_CLUSTER`].
fn peers_project(n: usize) -> Sources {
    let mut sources = Sources::new();
    let clusters = n.div_ceil(PER_CLUSTER).max(1);
    let mut infra = String::new();
    for k in 0..clusters {
        let _ = write!(
            infra,
            r#"network "corp{k}" {{
    switch "External"
    prefix "10.{k}.0.0/16"
    gateway "10.{k}.255.1"
    dns "10.{k}.255.2"
    node-ips "10.{k}.128.0" "10.{k}.129.255"
    vips "10.{k}.0.1" "10.{k}.63.254"
}}
cluster "bench{k}" {{ network "corp{k}"; control-plane count=3; node-pool "linux" count=10; }}
namespace "apps" cluster="bench{k}"
"#
        );
    }
    sources.add("infra.kdl", infra);
    for (f, chunk) in (0..n).collect::<Vec<_>>().chunks(PER_FILE).enumerate() {
        let mut text = String::new();
        for &i in chunk {
            let (k, j) = (i / PER_CLUSTER, i % PER_CLUSTER);
            let _ = write!(
                text,
                r#"workload "svc-{i}" cluster="bench{k}" namespace="apps" {{
    image "registry.local/svc-{i}:1.0.0"
    replicas 2
    port "http" 8080
}}
service "svc-{i}" cluster="bench{k}" namespace="apps" {{
    type "LoadBalancer"
    address "10.{k}.{}.{}"
    select app="svc-{i}"
    port {} target="http"
}}
policy "svc-{i}-allow-frontend" cluster="bench{k}" namespace="apps" {{
    pods app="svc-{i}"
    allow ingress {{
        from {{ pods tier="frontend" }}
        port 8080
    }}
}}
"#,
                (j + 1) / 256,
                (j + 1) % 256,
                1024 + j,
            );
        }
        sources.add(format!("svc-{f:03}.kdl"), text);
    }
    sources
}

/// `workloads` workloads in 10 namespaces (per namespace, a quarter in each of 4
/// tiers) and as many policies: each admits, on its workload's port, the pods of the
/// next tier of its own namespace.
fn matrix_project(workloads: usize) -> Sources {
    let mut text = String::from(
        r#"network "corp" {
    switch "External"
    prefix "10.0.0.0/16"
    gateway "10.0.255.1"
    dns "10.0.255.2"
    node-ips "10.0.128.0" "10.0.129.255"
    vips "10.0.0.1" "10.0.63.254"
}
cluster "bench" { network "corp"; control-plane count=1; node-pool "linux" count=3; }
"#,
    );
    for ns in 0..10 {
        let _ = writeln!(
            text,
            r#"namespace "ns-{ns}" cluster="bench" {{ labels team="t{ns}"; }}"#
        );
    }
    for i in 0..workloads {
        let ns = i % 10;
        let tier = (i / 10) % 4;
        let _ = write!(
            text,
            r#"workload "w-{i}" cluster="bench" namespace="ns-{ns}" {{
    image "registry.local/w:1.0.0"
    labels app="w-{i}" tier="t{tier}"
    port "http" {}
}}
policy "w-{i}-in" cluster="bench" namespace="ns-{ns}" {{
    pods app="w-{i}"
    allow ingress {{
        from {{ pods tier="t{}" }}
        port "http"
    }}
}}
"#,
            8000 + i % 7,
            (tier + 1) % 4,
        );
    }
    let mut sources = Sources::new();
    sources.add("project.kdl", text);
    sources
}

/// Compiles `sources`, refusing a project with errors.
fn compile_clean(sources: &Sources) -> Compilation {
    let c = compile(sources, Diagnostics::new(), &Options::default());
    let errors: Vec<String> = c
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .take(5)
        .map(|d| format!("{} {}", d.code.code, d.message))
        .collect();
    assert!(
        errors.is_empty(),
        "the generated project has errors: {errors:#?}"
    );
    c
}

/// Every cell of the cluster's matrix, as `trellis matrix` computes them.
fn matrix(c: &Compilation) -> usize {
    let cluster = &c.model.clusters[0];
    let engine = Engine::new(&c.model, c.allocation.as_ref(), cluster);
    let workloads: Vec<_> = engine.workloads().collect();
    let mut allowed = 0;
    for src in &workloads {
        for dst in &workloads {
            if engine.cell(src, dst, None) == trellis::reach::Cell::Allow {
                allowed += 1;
            }
        }
    }
    allowed
}

/// Each stage of the pipeline on the peers' job, and the whole compilation. 10,000
/// services only under `cargo bench` (in the test suite's single pass, a debug build,
/// 1,000 are enough to prove the generated project is clean).
fn peers(c: &mut Criterion) {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if bench_mode {
        &[1_000, 10_000]
    } else {
        &[1_000]
    };
    for &n in sizes {
        let sources = peers_project(n);
        let compiled = compile_clean(&sources);
        assert_eq!(compiled.model.services.len(), n);
        assert!(!compiled.artifacts.is_empty());
        let mut diags = Diagnostics::new();
        let parsed = trellis::parse::parse_all(&sources, &[], &mut diags);
        let lock = trellis::lock::read_from(&sources, &mut diags);
        let model = trellis::lower::lower(&parsed, &sources, &mut diags);
        let alloc = compiled.allocation.as_ref().expect("allocated");
        let mut group = c.benchmark_group(format!("peers-{n}"));
        group.sample_size(10);
        group.bench_function("parse", |b| {
            b.iter(|| {
                let mut diags = Diagnostics::new();
                black_box(trellis::parse::parse_all(&sources, &[], &mut diags))
            })
        });
        group.bench_function("lower", |b| {
            b.iter(|| {
                let mut diags = Diagnostics::new();
                black_box(trellis::lower::lower(&parsed, &sources, &mut diags))
            })
        });
        group.bench_function("check", |b| {
            b.iter(|| {
                let mut diags = Diagnostics::new();
                trellis::check::check(&model, lock.as_ref(), &mut diags);
                black_box(diags)
            })
        });
        group.bench_function("allocate", |b| {
            b.iter(|| {
                let mut diags = Diagnostics::new();
                black_box(trellis::alloc::allocate(&model, lock.as_ref(), &mut diags))
            })
        });
        group.bench_function("emit", |b| {
            b.iter(|| {
                black_box(trellis::emit::emit_all(
                    &model,
                    alloc,
                    trellis::emit::Layout::Files,
                ))
            })
        });
        group.bench_function("compile", |b| {
            b.iter(|| black_box(compile(&sources, Diagnostics::new(), &Options::default())))
        });
        group.finish();
    }
}

fn reachability(c: &mut Criterion) {
    let sources = matrix_project(1_000);
    let compiled = compile_clean(&sources);
    assert_eq!(compiled.model.workloads.len(), 1_000);
    assert_eq!(compiled.model.policies.len(), 1_000);
    // Same namespace, the admitted tier, the right port: each workload admits the
    // 25 workloads of the next tier in its namespace (and only them).
    assert_eq!(matrix(&compiled), 1_000 * 25);
    let mut group = c.benchmark_group("matrix-1000x1000");
    group.sample_size(10);
    group.bench_function("engine+cells", |b| b.iter(|| black_box(matrix(&compiled))));
    group.finish();
}

/// The shape of `matrix_project` as Kubernetes YAML, in files of 100 documents:
/// 10 Namespaces, `workloads` Deployments and as many NetworkPolicies, each
/// admitting on its workload's named port the next tier of its own namespace
/// (`matchExpressions`); every 100th also admits an ipBlock with an exception.
fn manifests_folder(workloads: usize) -> Sources {
    let mut sources = Sources::new();
    let mut text = String::new();
    for ns in 0..10 {
        let _ = write!(
            text,
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns-{ns}\n  labels:\n    team: t{ns}\n---\n"
        );
    }
    sources.add("namespaces.yaml", text);
    for chunk in (0..workloads).collect::<Vec<_>>().chunks(50) {
        let mut text = String::new();
        for &i in chunk {
            let ns = i % 10;
            let tier = (i / 10) % 4;
            let _ = write!(
                text,
                r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: w-{i}
  namespace: ns-{ns}
spec:
  replicas: 2
  selector:
    matchLabels:
      app: w-{i}
  template:
    metadata:
      labels:
        app: w-{i}
        tier: t{tier}
    spec:
      containers:
        - name: w
          image: registry.local/w:1.0.0
          ports:
            - name: http
              containerPort: {port}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: w-{i}-in
  namespace: ns-{ns}
spec:
  podSelector:
    matchLabels:
      app: w-{i}
  policyTypes: [Ingress]
  ingress:
    - from:
        - podSelector:
            matchExpressions:
              - key: tier
                operator: In
                values: [t{next}]
{block}      ports:
        - port: http
---
"#,
                port = 8000 + i % 7,
                next = (tier + 1) % 4,
                block = if i % 100 == 0 {
                    format!(
                        "        - ipBlock:\n            cidr: 10.{k}.0.0/16\n            except: [10.{k}.1.0/24]\n",
                        k = i / 100
                    )
                } else {
                    String::new()
                },
            );
        }
        sources.add(format!("apps-{:04}.yaml", chunk[0]), text);
    }
    sources
}

/// Reads a manifest folder and computes every cell of its matrix.
fn manifests_matrix(sources: &Sources) -> (usize, usize) {
    let read = trellis::manifests::read(sources.clone(), Vec::new());
    assert!(read.problems.is_empty(), "{:?}", read.problems.first());
    let cluster = read.cluster().expect("cluster");
    let engine = Engine::new(&read.model, None, cluster);
    let m = trellis::manifests::matrix::matrix(&engine, &read.model, None, None);
    let allowed = m
        .cells
        .iter()
        .flatten()
        .filter(|c| **c == trellis::reach::Cell::Allow)
        .count();
    (m.parties.len(), allowed)
}

fn manifests(c: &mut Criterion) {
    let sources = manifests_folder(1_000);
    let (parties, allowed) = manifests_matrix(&sources);
    // 1,000 workloads and 11 external ranges: each block without its exception, and
    // the rest of the address space (the exceptions behave like it).
    assert_eq!(parties, 1_011);
    // Pod to pod as in `matrix`; every workload reaches every range (no egress
    // policy); each range of a block reaches its workload; ranges to ranges: `-`.
    assert_eq!(allowed, 1_000 * 25 + 1_000 * 11 + 10);
    let mut group = c.benchmark_group("manifests-1000x1000");
    group.sample_size(10);
    group.bench_function("read+engine+cells", |b| {
        b.iter(|| black_box(manifests_matrix(&sources)))
    });
    group.finish();
}

criterion_group!(benches, peers, reachability, manifests);
criterion_main!(benches);
