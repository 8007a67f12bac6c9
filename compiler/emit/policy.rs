//! Network policies: each `policy` becomes a Kubernetes NetworkPolicy when one can
//! express it exactly (`check::policy::kubernetes_obstacle`), or else a Calico
//! `projectcalico.org/v3` NetworkPolicy (namespaced) or GlobalNetworkPolicy.
//!
//! ```text
//! <cluster>/kubernetes/<namespace>/networkpolicy-<name>.yaml     (listed in the kustomization)
//! <cluster>/calico/<namespace>/networkpolicy-<name>.yaml
//! <cluster>/calico/globalnetworkpolicy-<name>.yaml
//! ```
//!
//! The meaning is kept exactly (`docs/outputs.md` has the full mapping):
//! - both outputs always state the directions (`policyTypes` / `types`), because the
//!   two systems default them differently;
//! - a trailing unconditional `deny` is the end-of-tier default in Calico and the
//!   isolation of a Kubernetes policy, so it is not written as a rule (written as a
//!   Deny, it would override allows of policies evaluated later);
//! - Calico rules have one protocol and one peer: a trellis rule with ports of
//!   several protocols, or several peers, becomes several Calico rules in order;
//! - a policy selecting several workloads becomes one Kubernetes policy per workload
//!   (`<name>.<workload>`; a dot never occurs in a declared name), since a pod
//!   selector cannot express "either label set".

use std::collections::BTreeMap;

use serde::Serialize;

use super::kubernetes::labels_map;
use super::yaml::to_document;
use super::Artifact;
use crate::alloc::Allocation;
use crate::check::policy::{directions, effective_rules, kubernetes_obstacle};
use crate::model::{
    Action, Direction, Model, Peer, Policy, PolicyRule, PolicyTarget, PortRef, Protocol, RulePort,
    RuleProtocol,
};

/// Writes `policies` (one cluster's: `emit::emit_each`); Kubernetes policies also return their
/// paths (relative to `<cluster>/kubernetes/`) for the kustomization.
pub fn emit(model: &Model, alloc: &Allocation, policies: &[&Policy]) -> Vec<Artifact> {
    let cx = Cx { model, alloc };
    let mut out = Vec::new();
    // The tier of ordered policies, once per cluster that has any.
    let mut tiers: Vec<&str> = policies
        .iter()
        .filter(|p| p.order.is_some())
        .map(|p| p.cluster.value.as_str())
        .collect();
    tiers.sort_unstable();
    tiers.dedup();
    for c in tiers {
        out.push(Artifact {
            path: format!("{c}/calico/tier-{ORDERED_TIER}.yaml"),
            content: to_document(&Tier {
                api_version: "projectcalico.org/v3",
                kind: "Tier",
                metadata: Metadata {
                    name: ORDERED_TIER.to_string(),
                    namespace: None,
                    labels: managed(),
                },
                spec: TierSpec {
                    order: ORDERED_TIER_ORDER,
                    default_action: "Pass",
                },
            })
            .into(),
        });
    }
    // The policies, in blocks to the next free core.
    out.extend(crate::par::flat_map(policies, |policy| {
        let c = &policy.cluster.value;
        let calico =
            policy.target.value == PolicyTarget::Calico || kubernetes_obstacle(policy).is_some();
        if calico {
            let object = cx.calico(policy);
            let path = match &policy.namespace {
                Some(ns) if !policy.global.value => format!(
                    "{c}/calico/{}/networkpolicy-{}.yaml",
                    ns.value, policy.name.value
                ),
                _ => format!("{c}/calico/globalnetworkpolicy-{}.yaml", policy.name.value),
            };
            vec![Artifact {
                path,
                content: to_document(&object).into(),
            }]
        } else {
            let ns = policy
                .namespace
                .as_ref()
                .map_or("default", |n| n.value.as_str());
            cx.kubernetes(policy)
                .into_iter()
                .map(|(name, object)| Artifact {
                    path: format!("{c}/kubernetes/{ns}/networkpolicy-{name}.yaml"),
                    content: to_document(&object).into(),
                })
                .collect()
        }
    }));
    out
}

/// The Calico tier of ordered policies: before the default tier (order 1,000,000)
/// and Kubernetes' admin tier (1,000), passing what its policies do not decide.
pub const ORDERED_TIER: &str = "trellis";
pub const ORDERED_TIER_ORDER: u32 = 100;

struct Cx<'m> {
    model: &'m Model,
    alloc: &'m Allocation,
}

impl<'m> Cx<'m> {
    fn workload_labels(
        &self,
        policy: &Policy,
        namespace: &str,
        name: &str,
    ) -> BTreeMap<String, String> {
        self.model
            .workloads
            .iter()
            .find(|w| {
                w.cluster.value == policy.cluster.value
                    && w.namespace.value == namespace
                    && w.name.value == name
            })
            .map(|w| labels_map(&w.labels))
            .unwrap_or_default()
    }

    // ------------------------------------------------------------ Kubernetes

    fn kubernetes(&self, policy: &Policy) -> Vec<(String, K8sNetworkPolicy)> {
        let ns = policy
            .namespace
            .as_ref()
            .map_or("default", |n| n.value.as_str());
        let types = type_names(policy);
        let ingress = effective_rules(policy, Direction::Ingress)
            .into_iter()
            .map(|r| self.k8s_rule(policy, ns, r))
            .collect::<Vec<_>>();
        let egress = effective_rules(policy, Direction::Egress)
            .into_iter()
            .map(|r| self.k8s_rule(policy, ns, r))
            .collect::<Vec<_>>();
        let selectors: Vec<(String, BTreeMap<String, String>)> = if !policy.workloads.is_empty() {
            policy
                .workloads
                .iter()
                .map(|w| {
                    // A dot cannot occur in a declared name, so `<policy>.<workload>`
                    // never clashes with another policy.
                    let name = if policy.workloads.len() == 1 {
                        policy.name.value.clone()
                    } else {
                        format!("{}.{}", policy.name.value, w.value)
                    };
                    (name, self.workload_labels(policy, ns, &w.value))
                })
                .collect()
        } else {
            vec![(
                policy.name.value.clone(),
                policy.pods.as_ref().map(labels_map).unwrap_or_default(),
            )]
        };
        selectors
            .into_iter()
            .map(|(name, match_labels)| {
                let object = K8sNetworkPolicy {
                    api_version: "networking.k8s.io/v1",
                    kind: "NetworkPolicy",
                    metadata: Metadata {
                        name: name.clone(),
                        namespace: Some(ns.to_string()),
                        labels: managed(),
                    },
                    spec: K8sSpec {
                        pod_selector: LabelSelector { match_labels },
                        policy_types: types.clone(),
                        ingress: types.contains(&"Ingress").then(|| {
                            ingress
                                .iter()
                                .map(|r| K8sRule::new(Direction::Ingress, r))
                                .collect()
                        }),
                        egress: types.contains(&"Egress").then(|| {
                            egress
                                .iter()
                                .map(|r| K8sRule::new(Direction::Egress, r))
                                .collect()
                        }),
                    },
                };
                (name, object)
            })
            .collect()
    }

    /// One Kubernetes rule: its peers and ports.
    fn k8s_rule(
        &self,
        policy: &Policy,
        own_ns: &str,
        rule: &PolicyRule,
    ) -> (Vec<K8sPeer>, Vec<K8sPort>) {
        // `anywhere` among the peers means any peer: no `from`/`to` at all.
        let peers = if rule.peers.iter().any(|p| p.anywhere) {
            Vec::new()
        } else {
            rule.peers
                .iter()
                .map(|p| self.k8s_peer(policy, own_ns, p))
                .collect()
        };
        let mut ports: Vec<K8sPort> = rule
            .ports
            .iter()
            .map(|p| K8sPort {
                protocol: Some(p.protocol.value.as_str()),
                port: Some(port_value(&p.port.value)),
                end_port: p.end.as_ref().map(|e| e.value),
            })
            .collect();
        if ports.is_empty() {
            if let Some(protocol) = rule.protocol.as_ref().and_then(|p| plain_protocol(p.value)) {
                ports.push(K8sPort {
                    protocol: Some(protocol.as_str()),
                    port: None,
                    end_port: None,
                });
            }
        }
        (peers, ports)
    }

    fn k8s_peer(&self, policy: &Policy, own_ns: &str, peer: &Peer) -> K8sPeer {
        let ns_by_name = |ns: &str| LabelSelector {
            match_labels: BTreeMap::from([(
                "kubernetes.io/metadata.name".to_string(),
                ns.to_string(),
            )]),
        };
        if let Some(cidr) = &peer.cidr {
            return K8sPeer {
                ip_block: Some(IpBlock {
                    cidr: cidr.value.to_string(),
                    except: peer.except.iter().map(|e| e.value.to_string()).collect(),
                }),
                ..K8sPeer::default()
            };
        }
        if let Some(w) = &peer.workload {
            let ns = peer.namespace.as_ref().map_or(own_ns, |n| n.value.as_str());
            return K8sPeer {
                pod_selector: Some(LabelSelector {
                    match_labels: self.workload_labels(policy, ns, &w.value),
                }),
                namespace_selector: (ns != own_ns).then(|| ns_by_name(ns)),
                ..K8sPeer::default()
            };
        }
        let namespace_selector = match (&peer.namespace, &peer.namespaces) {
            (Some(n), _) => Some(ns_by_name(&n.value)),
            (None, Some(labels)) => Some(LabelSelector {
                match_labels: labels_map(labels),
            }),
            (None, None) => None,
        };
        let pod_selector = peer.pods.as_ref().map(|p| LabelSelector {
            match_labels: labels_map(p),
        });
        // A namespace alone means every pod of it.
        K8sPeer {
            pod_selector: pod_selector
                .or_else(|| namespace_selector.is_none().then(LabelSelector::default)),
            namespace_selector,
            ip_block: None,
        }
    }

    // ---------------------------------------------------------------- Calico

    fn calico(&self, policy: &Policy) -> CalicoPolicy {
        let global = policy.global.value || policy.namespace.is_none();
        let own_ns = policy.namespace.as_ref().map(|n| n.value.as_str());
        let selector = if !policy.workloads.is_empty() {
            let ns = own_ns.unwrap_or("default");
            let alternatives: Vec<String> = policy
                .workloads
                .iter()
                .map(|w| selector_expr(&self.workload_labels(policy, ns, &w.value)))
                .collect();
            if alternatives.len() == 1 {
                alternatives
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| "all()".into())
            } else {
                alternatives
                    .iter()
                    .map(|a| format!("({a})"))
                    .collect::<Vec<_>>()
                    .join(" || ")
            }
        } else {
            policy
                .pods
                .as_ref()
                .map(|p| selector_expr(&labels_map(p)))
                .unwrap_or_else(|| "all()".into())
        };
        let types = type_names(policy);
        let ingress = self.calico_rules(policy, Direction::Ingress);
        let egress = self.calico_rules(policy, Direction::Egress);
        CalicoPolicy {
            api_version: "projectcalico.org/v3",
            kind: if global {
                "GlobalNetworkPolicy"
            } else {
                "NetworkPolicy"
            },
            metadata: Metadata {
                name: policy.name.value.clone(),
                namespace: if global {
                    None
                } else {
                    own_ns.map(str::to_string)
                },
                labels: managed(),
            },
            spec: CalicoSpec {
                tier: policy.order.is_some().then(|| ORDERED_TIER.to_string()),
                order: policy.order.as_ref().map(|o| o.value),
                selector,
                // A global policy applies to pods (namespaced endpoints) only.
                namespace_selector: global.then(|| "all()".to_string()),
                types,
                ingress,
                egress,
            },
        }
    }

    fn calico_rules(&self, policy: &Policy, direction: Direction) -> Vec<CalicoRule> {
        let mut out = Vec::new();
        for rule in effective_rules(policy, direction) {
            let action = match rule.action.value {
                Action::Allow => "Allow",
                Action::Deny => "Deny",
                Action::Log => "Log",
                Action::Pass => "Pass",
            };
            let peers: Vec<CalicoEntity> =
                if rule.peers.iter().any(|p| p.anywhere) || rule.peers.is_empty() {
                    vec![CalicoEntity::default()]
                } else {
                    rule.peers
                        .iter()
                        .map(|p| self.calico_peer(policy, p))
                        .collect()
                };
            // One Calico rule per protocol group of the ports (Calico rules carry one
            // protocol), in the order the protocols first appear.
            let mut groups: Vec<(Option<String>, Vec<PortOrRange>)> = Vec::new();
            for port in &rule.ports {
                let proto = Some(port.protocol.value.as_str().to_string());
                let entry = calico_port(port);
                match groups.iter_mut().find(|(p, _)| *p == proto) {
                    Some((_, list)) => list.push(entry),
                    None => groups.push((proto, vec![entry])),
                }
            }
            if groups.is_empty() {
                let proto = rule.protocol.as_ref().map(|p| match p.value {
                    RuleProtocol::Tcp => "TCP".to_string(),
                    RuleProtocol::Udp => "UDP".to_string(),
                    RuleProtocol::Sctp => "SCTP".to_string(),
                    RuleProtocol::Icmp => "ICMP".to_string(),
                });
                groups.push((proto, Vec::new()));
            }
            let icmp = rule.icmp.as_ref().and_then(|i| {
                Some(Icmp {
                    icmp_type: i.icmp_type.as_ref()?.value,
                    code: i.code.as_ref().map(|c| c.value),
                })
            });
            for peer in &peers {
                for (protocol, ports) in &groups {
                    let mut entity = peer.clone();
                    let mut dest = CalicoEntity::default();
                    // Ingress: the peer is the source, ports are the destination's.
                    // Egress: peer and ports are both the destination.
                    let (source, destination) = match direction {
                        Direction::Ingress => {
                            dest.ports = ports.clone();
                            (entity, dest)
                        }
                        Direction::Egress => {
                            entity.ports = ports.clone();
                            (CalicoEntity::default(), entity)
                        }
                    };
                    out.push(CalicoRule {
                        action,
                        protocol: protocol.clone(),
                        icmp: icmp.clone(),
                        source: (!source.is_empty()).then_some(source),
                        destination: (!destination.is_empty()).then_some(destination),
                    });
                }
            }
        }
        out
    }

    fn calico_peer(&self, policy: &Policy, peer: &Peer) -> CalicoEntity {
        let global = policy.global.value || policy.namespace.is_none();
        let own_ns = policy.namespace.as_ref().map(|n| n.value.as_str());
        let by_name = |ns: &str| format!("projectcalico.org/name == '{ns}'");
        if let Some(cidr) = &peer.cidr {
            return CalicoEntity {
                nets: vec![cidr.value.to_string()],
                not_nets: peer.except.iter().map(|e| e.value.to_string()).collect(),
                ..CalicoEntity::default()
            };
        }
        if peer.nodes {
            return CalicoEntity {
                nets: self.node_nets(policy),
                ..CalicoEntity::default()
            };
        }
        if let Some(w) = &peer.workload {
            let ns = peer
                .namespace
                .as_ref()
                .map(|n| n.value.as_str())
                .or(own_ns)
                .unwrap_or("default");
            let other_ns = global || Some(ns) != own_ns;
            return CalicoEntity {
                selector: Some(selector_expr(&self.workload_labels(policy, ns, &w.value))),
                namespace_selector: other_ns.then(|| by_name(ns)),
                ..CalicoEntity::default()
            };
        }
        let namespace_selector = match (&peer.namespace, &peer.namespaces) {
            (Some(n), _) => Some(by_name(&n.value)),
            (None, Some(labels)) => Some(selector_expr(&labels_map(labels))),
            (None, None) => None,
        };
        let selector = match &peer.pods {
            Some(p) => Some(selector_expr(&labels_map(p))),
            // A namespace alone: every pod of it.
            None => Some("all()".to_string()),
        };
        CalicoEntity {
            selector,
            namespace_selector,
            ..CalicoEntity::default()
        }
    }

    /// The node VMs of the policy's cluster as /32 nets (allocated on static
    /// networks, declared on DHCP networks); the network's prefix when they are not
    /// known.
    fn node_nets(&self, policy: &Policy) -> Vec<String> {
        let c = &policy.cluster.value;
        let Some(cluster) = self.model.clusters.iter().find(|k| &k.name.value == c) else {
            return Vec::new();
        };
        let mut nets: Vec<String> = Allocation::node_addresses(Some(self.alloc), cluster)
            .iter()
            .map(|a| format!("{a}/32"))
            .collect();
        if nets.is_empty() {
            if let Some(prefix) = self
                .model
                .networks
                .iter()
                .find(|n| n.name.value == cluster.network.value)
                .and_then(|n| n.prefix.as_ref())
            {
                nets.push(prefix.value.to_string());
            }
        }
        nets.sort();
        nets.dedup();
        nets
    }
}

/// The policy's directions as both outputs name them ("Ingress", "Egress").
fn type_names(policy: &Policy) -> Vec<&'static str> {
    directions(policy)
        .into_iter()
        .map(|d| match d {
            Direction::Ingress => "Ingress",
            Direction::Egress => "Egress",
        })
        .collect()
}

fn plain_protocol(p: RuleProtocol) -> Option<Protocol> {
    match p {
        RuleProtocol::Tcp => Some(Protocol::Tcp),
        RuleProtocol::Udp => Some(Protocol::Udp),
        RuleProtocol::Sctp => Some(Protocol::Sctp),
        RuleProtocol::Icmp => None,
    }
}

fn port_value(p: &PortRef) -> IntOrString {
    match p {
        PortRef::Number(n) => IntOrString::Int(*n),
        PortRef::Name(n) => IntOrString::Str(n.clone()),
    }
}

fn calico_port(p: &RulePort) -> PortOrRange {
    match (&p.port.value, &p.end) {
        (PortRef::Number(n), Some(end)) => PortOrRange::Str(format!("{n}:{}", end.value)),
        (PortRef::Number(n), None) => PortOrRange::Int(*n),
        (PortRef::Name(n), _) => PortOrRange::Str(n.clone()),
    }
}

/// A Calico selector for "all these labels": `k1 == 'v1' && k2 == 'v2'`; `all()`
/// for no labels. Label keys and values are validated (no quotes or spaces).
pub fn selector_expr(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return "all()".to_string();
    }
    labels
        .iter()
        .map(|(k, v)| format!("{k} == '{v}'"))
        .collect::<Vec<_>>()
        .join(" && ")
}

fn managed() -> BTreeMap<String, String> {
    BTreeMap::from([(
        super::kubernetes::MANAGED_BY.0.to_string(),
        super::kubernetes::MANAGED_BY.1.to_string(),
    )])
}

// ---------------------------------------------------------------- objects

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    labels: BTreeMap<String, String>,
}

#[derive(Serialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
struct LabelSelector {
    match_labels: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct K8sNetworkPolicy {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: K8sSpec,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct K8sSpec {
    pod_selector: LabelSelector,
    policy_types: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ingress: Option<Vec<K8sRule>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    egress: Option<Vec<K8sRule>>,
}

/// One Kubernetes rule. Ingress rules name their peers `from`, egress rules `to`;
/// both are written as `peers` here and renamed by direction.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct K8sRule {
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<Vec<K8sPeer>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<Vec<K8sPeer>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<K8sPort>,
}

impl K8sRule {
    /// A rule from its peers (none: any peer) and ports (none: every port).
    fn new(direction: Direction, (peers, ports): &(Vec<K8sPeer>, Vec<K8sPort>)) -> K8sRule {
        let peers = (!peers.is_empty()).then(|| peers.clone());
        let (from, to) = match direction {
            Direction::Ingress => (peers, None),
            Direction::Egress => (None, peers),
        };
        K8sRule {
            from,
            to,
            ports: ports.clone(),
        }
    }
}

#[derive(Serialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
struct K8sPeer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pod_selector: Option<LabelSelector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace_selector: Option<LabelSelector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_block: Option<IpBlock>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct IpBlock {
    cidr: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    except: Vec<String>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct K8sPort {
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<IntOrString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_port: Option<u16>,
}

#[derive(Serialize, Clone)]
#[serde(untagged)]
enum IntOrString {
    Int(u16),
    Str(String),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CalicoPolicy {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: CalicoSpec,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Tier {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: TierSpec,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TierSpec {
    order: u32,
    default_action: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CalicoSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    tier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order: Option<u32>,
    selector: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace_selector: Option<String>,
    types: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ingress: Vec<CalicoRule>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    egress: Vec<CalicoRule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CalicoRule {
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icmp: Option<Icmp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<CalicoEntity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination: Option<CalicoEntity>,
}

#[derive(Serialize, Clone)]
struct Icmp {
    #[serde(rename = "type")]
    icmp_type: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<u8>,
}

#[derive(Serialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
struct CalicoEntity {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    nets: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    not_nets: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    selector: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace_selector: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<PortOrRange>,
}

impl CalicoEntity {
    fn is_empty(&self) -> bool {
        self.nets.is_empty()
            && self.not_nets.is_empty()
            && self.selector.is_none()
            && self.namespace_selector.is_none()
            && self.ports.is_empty()
    }
}

#[derive(Serialize, Clone)]
#[serde(untagged)]
enum PortOrRange {
    Int(u16),
    Str(String),
}
