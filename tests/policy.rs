//! Policies end to end: every stdlib preset lowers in a policy and compiles
//! cleanly; the choice of output (Kubernetes or Calico) follows what each
//! construct needs; a forced Kubernetes target names its obstacle.

use trellis::compile_str;

const BASE: &str = r#"
network "corp" { switch "External"; mode "dhcp"; vips "10.20.2.0" "10.20.2.255"; }
cluster "shop" {
    network "corp"
    control-plane { addresses "10.20.1.1"; }
    node-pool "linux" count=1 { addresses "10.20.1.2"; }
}
namespace "shop" cluster="shop"
namespace "ingress-nginx" cluster="shop"
workload "web" cluster="shop" namespace="shop" { image "nginx:1.27"; port "http" 8080; }
"#;

fn errors(text: &str) -> Vec<String> {
    let (_, compilation) = compile_str("p.kdl", text);
    compilation
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{} {}", d.code.code, d.message))
        .collect()
}

fn artifacts(text: &str) -> Vec<(String, String)> {
    let (_, compilation) = compile_str("p.kdl", text);
    assert!(!compilation.has_errors(), "{:#?}", compilation.diagnostics);
    compilation
        .artifacts
        .into_iter()
        .map(|a| (a.path, a.content.into_string()))
        .collect()
}

#[test]
fn every_preset_compiles_in_a_policy() {
    for preset in trellis::lower::schema::PRESET_NAMES {
        // Deny rules other than the final unconditional ones need an order.
        let order = if *preset == "deny-cloud-metadata" {
            " order=10"
        } else {
            ""
        };
        let text = format!(
            "{BASE}policy \"p\" cluster=\"shop\" namespace=\"shop\" preset=\"{preset}\"{order}\n"
        );
        assert_eq!(errors(&text), Vec::<String>::new(), "preset {preset}");
        let (_, compilation) = compile_str("p.kdl", &text);
        let policy = compilation.model.policies.first().expect("policy lowered");
        assert!(!policy.rules.is_empty(), "preset {preset} brought no rules");
        assert!(
            compilation
                .artifacts
                .iter()
                .any(|a| a.path.contains("networkpolicy-p")),
            "preset {preset} produced no policy output"
        );
    }
}

#[test]
fn a_misspelt_preset_is_suggested() {
    let text =
        format!("{BASE}policy \"p\" cluster=\"shop\" namespace=\"shop\" preset=\"default-deni\"\n");
    let errs = errors(&text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].starts_with("TR0207"), "{errs:?}");
}

#[test]
fn allow_only_policies_become_kubernetes_network_policies() {
    let text = format!(
        "{BASE}policy \"web-in\" cluster=\"shop\" namespace=\"shop\" {{ workloads \"web\"; allow ingress {{ from namespace=\"ingress-nginx\"; port \"http\"; }}; deny ingress; }}\n"
    );
    let out = artifacts(&text);
    let (path, yaml) = out
        .iter()
        .find(|(p, _)| p.contains("networkpolicy-web-in"))
        .expect("policy");
    assert_eq!(path, "shop/kubernetes/shop/networkpolicy-web-in.yaml");
    assert!(yaml.contains("policyTypes:\n  - Ingress"), "{yaml}");
    assert!(
        yaml.contains("kubernetes.io/metadata.name: ingress-nginx"),
        "{yaml}"
    );
    assert!(yaml.contains("port: http"), "{yaml}");
    // The kustomization lists it.
    let (_, kustomization) = out
        .iter()
        .find(|(p, _)| p == "shop/kubernetes/kustomization.yaml")
        .expect("kustomization");
    assert!(
        kustomization.contains("- shop/networkpolicy-web-in.yaml"),
        "{kustomization}"
    );
}

#[test]
fn constructs_kubernetes_cannot_express_go_to_calico() {
    for (rules, why) in [
        ("allow egress { to nodes=#true; }", "nodes"),
        ("allow ingress { icmp type=8; }", "icmp"),
    ] {
        let text =
            format!("{BASE}policy \"p\" cluster=\"shop\" namespace=\"shop\" {{ {rules} }}\n");
        let out = artifacts(&text);
        assert!(
            out.iter()
                .any(|(p, _)| p == "shop/calico/shop/networkpolicy-p.yaml"),
            "{why}: {:?}",
            out.iter().map(|(p, _)| p).collect::<Vec<_>>()
        );
    }
    // Ordered policies go to Calico, in the `trellis` tier, which is written once.
    let text = format!(
        "{BASE}policy \"guard\" cluster=\"shop\" global=#true order=10 {{ deny egress {{ to cidr=\"169.254.169.254/32\"; }} }}\n"
    );
    let out = artifacts(&text);
    let (_, gnp) = out
        .iter()
        .find(|(p, _)| p == "shop/calico/globalnetworkpolicy-guard.yaml")
        .expect("gnp");
    assert!(
        gnp.contains("tier: trellis") && gnp.contains("order: 10") && gnp.contains("action: Deny"),
        "{gnp}"
    );
    assert!(out
        .iter()
        .any(|(p, _)| p == "shop/calico/tier-trellis.yaml"));
}

#[test]
fn a_forced_kubernetes_target_names_its_obstacle() {
    let text = format!(
        "{BASE}policy \"p\" cluster=\"shop\" namespace=\"shop\" target=\"kubernetes\" {{ allow egress {{ to nodes=#true; }} }}\n"
    );
    let errs = errors(&text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("TR0601") && errs[0].contains("`nodes=#true` peer"),
        "{errs:?}"
    );
}

#[test]
fn deny_log_and_pass_need_an_order() {
    for action in ["log", "pass"] {
        let text = format!("{BASE}policy \"p\" cluster=\"shop\" namespace=\"shop\" {{ {action} ingress; allow ingress; }}\n");
        let errs = errors(&text);
        assert!(
            errs.iter().any(|e| e.starts_with("TR0605")),
            "{action}: {errs:?}"
        );
    }
    let text = format!("{BASE}policy \"p\" cluster=\"shop\" namespace=\"shop\" {{ deny egress {{ to cidr=\"10.0.0.0/8\"; }} }}\n");
    assert!(errors(&text).iter().any(|e| e.starts_with("TR0605")));
}
