//! Allocation properties, tested on generated projects (proptest):
//! no address or node port is handed out twice; adding or removing services never
//! moves another allocation once `trellis.lock` records it; the result does not
//! depend on how declarations are spread over files; pins are honoured.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use trellis::alloc::Allocation;
use trellis::diag::Diagnostics;
use trellis::source::Sources;
use trellis::{compile, Options};

const CLUSTERS: &[&str] = &["alpha", "beta", "gamma"];

/// One LoadBalancer service of a generated project.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Svc {
    cluster: usize,
    name: String,
    ports: Vec<u16>,
}

fn header(n_clusters: usize) -> String {
    let mut out = String::from(
        "network \"corp\" {\n    switch \"External\"\n    prefix \"10.20.0.0/16\"\n    gateway \"10.20.0.1\"\n    dns \"10.20.0.10\"\n    node-ips \"10.20.1.0\" \"10.20.3.255\"\n    vips \"10.20.4.0\" \"10.20.7.255\"\n}\nhost { network \"corp\"; }\n",
    );
    for (i, c) in CLUSTERS.iter().take(n_clusters).enumerate() {
        out.push_str(&format!(
            "cluster \"{c}\" {{ network \"corp\"; control-plane count={}; node-pool \"linux\" count={}; }}\nnamespace \"apps\" cluster=\"{c}\"\n",
            1 + 2 * (i % 2),
            2 + i
        ));
    }
    out
}

fn service_text(svc: &Svc) -> String {
    let cluster = CLUSTERS[svc.cluster];
    let mut out = format!(
        "service \"{}\" cluster=\"{cluster}\" namespace=\"apps\" {{\n    type \"LoadBalancer\"\n    select app=\"{}\"\n",
        svc.name, svc.name
    );
    for p in &svc.ports {
        out.push_str(&format!("    port {p}\n"));
    }
    out.push_str("}\n");
    out
}

/// Compiles `files` (name, text) with an optional lock text; panics on errors.
fn build(files: &[(String, String)], lock: Option<&str>) -> Allocation {
    let mut sorted = files.to_vec();
    // The loader sorts by path; do the same.
    sorted.sort();
    let mut sources = Sources::new();
    for (name, text) in &sorted {
        sources.add(name.clone(), text.clone());
    }
    if let Some(lock) = lock {
        sources.add_lock("trellis.lock", lock);
    }
    let compilation = compile(&sources, Diagnostics::new(), &Options::default());
    common::assert_no_errors(&compilation, "generated project");
    compilation.allocation.expect("allocation without errors")
}

fn project(n_clusters: usize, services: &[Svc]) -> Vec<(String, String)> {
    let mut files = vec![("infra.kdl".to_string(), header(n_clusters))];
    for svc in services {
        files.push((format!("svc-{}.kdl", svc.name), service_text(svc)));
    }
    files
}

fn by_key(alloc: &Allocation) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for a in &alloc.addresses {
        out.insert(a.key.to_string(), a.address.to_string());
    }
    for p in &alloc.node_ports {
        out.insert(p.key.to_string(), p.node_port.to_string());
    }
    out
}

fn assert_unique(alloc: &Allocation) {
    let mut addresses = BTreeSet::new();
    for a in &alloc.addresses {
        assert!(
            addresses.insert((&a.network, a.address)),
            "{} given twice",
            a.address
        );
    }
    let mut ports = BTreeSet::new();
    for p in &alloc.node_ports {
        assert!(
            ports.insert((&p.cluster, p.node_port)),
            "node port {} given twice",
            p.node_port
        );
        assert!((30000..=32767).contains(&p.node_port));
    }
}

fn services_strategy() -> impl Strategy<Value = (usize, Vec<Svc>)> {
    (1usize..=3).prop_flat_map(|n_clusters| {
        let svc = (
            0..n_clusters,
            0u32..60,
            prop::collection::btree_set(
                prop::sample::select(vec![80u16, 443, 8080, 8443, 5432, 9000]),
                1..3,
            ),
        );
        (Just(n_clusters), prop::collection::vec(svc, 0..25)).prop_map(|(n, raw)| {
            let mut seen = BTreeSet::new();
            let services = raw
                .into_iter()
                .filter(|(_, id, _)| seen.insert(*id))
                .map(|(cluster, id, ports)| Svc {
                    cluster,
                    name: format!("svc{id}"),
                    ports: ports.into_iter().collect(),
                })
                .collect();
            (n, services)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn nothing_is_allocated_twice((n, services) in services_strategy()) {
        let alloc = build(&project(n, &services), None);
        assert_unique(&alloc);
        // Every LoadBalancer service has an address and a node port per port.
        let keys = by_key(&alloc);
        for svc in &services {
            let c = CLUSTERS[svc.cluster];
            let key = format!("service/{c}/apps/{}", svc.name);
            prop_assert!(keys.contains_key(&key), "{} has no address", key);
            for p in &svc.ports {
                let key = format!("service/{c}/apps/{}/{p}/TCP", svc.name);
                prop_assert!(keys.contains_key(&key), "{} has no node port", key);
            }
        }
    }

    #[test]
    fn edits_never_move_other_allocations(
        (n, services) in services_strategy(),
        removals in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        additions in prop::collection::vec((0usize..3, 100u32..160), 0..6),
    ) {
        let before = build(&project(n, &services), None);
        let lock = trellis::lock::render(&before);
        let mut edited = services.clone();
        for idx in removals {
            if !edited.is_empty() {
                edited.remove(idx.index(edited.len()));
            }
        }
        for (cluster, id) in additions {
            let name = format!("svc{id}");
            if edited.iter().all(|s| s.name != name) {
                edited.push(Svc { cluster: cluster % n, name, ports: vec![443] });
            }
        }
        let after = build(&project(n, &edited), Some(&lock));
        assert_unique(&after);
        let (old, new) = (by_key(&before), by_key(&after));
        for (key, value) in &new {
            if let Some(previous) = old.get(key) {
                prop_assert_eq!(previous, value, "{} moved", key);
            }
        }
        // The lock round-trips: building again with the new lock changes nothing.
        let again = build(&project(n, &edited), Some(&trellis::lock::render(&after)));
        prop_assert_eq!(by_key(&after), by_key(&again));
    }

    #[test]
    fn file_layout_does_not_matter((n, services) in services_strategy(), seed in any::<u64>()) {
        let one_file = vec![(
            "all.kdl".to_string(),
            header(n) + &services.iter().map(service_text).collect::<String>(),
        )];
        // Spread the same declarations over files whose names sort in a scrambled order.
        let mut spread = vec![(format!("{:016x}.kdl", seed), header(n))];
        for (i, svc) in services.iter().rev().enumerate() {
            let name = format!("{:016x}.kdl", seed.rotate_left(i as u32 * 7 + 1) ^ i as u64);
            spread.push((name, service_text(svc)));
        }
        let a = build(&one_file, None);
        let b = build(&spread, None);
        prop_assert_eq!(trellis::lock::render(&a), trellis::lock::render(&b));
    }
}

#[test]
fn pins_are_honoured_and_conflicts_with_the_lock_are_reported() {
    let base = header(1);
    let web = "service \"web\" cluster=\"alpha\" namespace=\"apps\" { type \"LoadBalancer\"; select app=\"web\"; port 80; }\n";
    let first = build(&[("a.kdl".into(), base.clone() + web)], None);
    let web_addr = first
        .addresses
        .iter()
        .find(|a| a.key.to_string() == "service/alpha/apps/web")
        .map(|a| a.address.to_string())
        .expect("web has an address");
    assert_eq!(
        web_addr, "10.20.7.255",
        "services come from the end of the VIP pool"
    );
    let lock = trellis::lock::render(&first);
    // A new service pinned to web's locked address: TR0412, and web does not move.
    let api = format!(
        "service \"api\" cluster=\"alpha\" namespace=\"apps\" {{ type \"LoadBalancer\"; address \"{web_addr}\"; select app=\"api\"; port 80; }}\n"
    );
    let mut sources = Sources::new();
    sources.add("a.kdl", base.clone() + web + &api);
    sources.add_lock("trellis.lock", lock.clone());
    let compilation = compile(&sources, Diagnostics::new(), &Options::default());
    let codes: Vec<&str> = compilation
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code.code)
        .collect();
    assert_eq!(codes, ["TR0412"], "{:#?}", compilation.diagnostics);
    // Pinned to a free address instead: honoured, nothing else moves.
    let api = api.replace(&web_addr, "10.20.5.5");
    let second = build(&[("a.kdl".into(), base + web + &api)], Some(&lock));
    let keys = by_key(&second);
    assert_eq!(keys["service/alpha/apps/api"], "10.20.5.5");
    assert_eq!(keys["service/alpha/apps/web"], web_addr);
}

#[test]
fn documented_sizing_example_allocates_27_node_addresses_and_6_vips() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/sizing/project.kdl"
    ))
    .expect("example");
    let alloc = build(&[("project.kdl".into(), text)], None);
    let node = alloc
        .addresses
        .iter()
        .filter(|a| {
            a.address.to_string().starts_with("192.168.0.") && {
                let last: u8 = a
                    .address
                    .to_string()
                    .rsplit('.')
                    .next()
                    .and_then(|o| o.parse().ok())
                    .unwrap_or(0);
                (10..=36).contains(&last)
            }
        })
        .count();
    let vips = alloc.addresses.len() - node;
    assert_eq!(node, 27);
    assert_eq!(vips, 6);
}

#[test]
fn a_cluster_cannot_have_more_node_ports_than_the_range_holds() {
    let mut text = header(1);
    // 1,385 NodePort services with two ports each: 2,770 node ports, 2 more than
    // 30000–32767 holds.
    for i in 0..1385 {
        text.push_str(&format!(
            "service \"s{i}\" cluster=\"alpha\" namespace=\"apps\" {{ type \"NodePort\"; select app=\"x\"; port 80; port 443; }}\n"
        ));
    }
    let mut sources = Sources::new();
    sources.add("a.kdl", text);
    let compilation = compile(&sources, Diagnostics::new(), &Options::default());
    let messages: Vec<String> = compilation
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{} {}", d.code.code, d.message))
        .collect();
    assert_eq!(
        messages,
        ["TR0406 cluster `alpha` needs 2770 node ports for its NodePort and LoadBalancer service ports, and the NodePort range 30000–32767 has 2768"]
    );
    assert!(compilation.allocation.is_none());
}
