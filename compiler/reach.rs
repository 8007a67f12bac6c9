//! Reachability: decides whether a connection is allowed by the project's network
//! policies, and says which rule (or which default) decided it on each side.
//!
//! A connection from A to B on a port needs A's egress and B's ingress to allow it.
//! Each side is decided as `docs/language.md` ("What policies mean") defines and the
//! emitted Calico and Kubernetes objects enforce:
//!
//! 1. Ordered policies that select the endpoint for that direction, by order (then
//!    name): in each, rules in order; the first matching `allow` or `deny` decides,
//!    `log` goes on, `pass` skips the rest of the ordered policies.
//! 2. Otherwise the unordered policies selecting it: none → allowed (not isolated);
//!    some → allowed only when one of their `allow` rules matches (isolated).
//!
//! Endpoints are workloads (their pods) or external addresses (which have no
//! policies of their own, so their side always allows). A `cidr` peer matches
//! external addresses only: pods have overlay addresses of the pod range.
//!
//! Example: default-deny in `store`, `allow ingress from workload="api" port 5432` on
//! `db`: `api → db:5432` is allowed (ingress rule of `db-from-api`; `api`'s egress is
//! not isolated), `web → db:5432` is denied (`db` is isolated and no allow matches).
//!
//! Selectors are full Kubernetes label selectors (`Labels::selects`): the trellis
//! language gives equality only, manifests (`crate::manifests`) also give
//! `matchExpressions`.
//!
//! Invariant: pure; reads only the model and the allocation.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::alloc::Allocation;
use crate::check::policy::{directions, effective_rules};
use crate::check::refs::BUILTIN_NAMESPACES;
use crate::model::{
    Action, Cluster, Direction, Labels, Model, Namespace, Peer, Policy, PolicyRule, PortRef,
    Protocol, RuleProtocol, Workload,
};
use crate::source::Span;

/// One end of a connection.
#[derive(Debug, Clone, Copy)]
pub enum Endpoint<'m> {
    /// The pods of a workload.
    Pod(&'m Workload),
    /// An address outside the cluster's pods (a VM, a node, the internet).
    External(IpAddr),
}

impl Endpoint<'_> {
    /// "store/web" or "10.0.0.5".
    pub fn describe(&self) -> String {
        match self {
            Endpoint::Pod(w) => format!("{}/{}", w.namespace.value, w.name.value),
            Endpoint::External(ip) => ip.to_string(),
        }
    }
}

/// Why one side decided as it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A rule matched: the policy, the rule's span, its action.
    Rule {
        policy: String,
        policy_span: Span,
        rule_span: Span,
        action: Action,
    },
    /// Selected by unordered policies, none of which allows it.
    Isolated { policies: Vec<(String, Span)> },
    /// No policy selects the endpoint for this direction.
    NotSelected,
    /// An external address: no policies of its own.
    External,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    pub allowed: bool,
    pub reason: Reason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    /// The source's egress.
    pub egress: Side,
    /// The destination's ingress.
    pub ingress: Side,
}

/// A cell of the connectivity matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// Every checked port is allowed.
    Allow,
    /// No checked port is allowed.
    Deny,
    /// Some checked ports are allowed, others not.
    Partial,
    /// The destination declares no port to check.
    NoPorts,
}

impl Cell {
    /// `allow`, `deny`, `partial` or `-`, as the matrix prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Cell::Allow => "allow",
            Cell::Deny => "deny",
            Cell::Partial => "partial",
            Cell::NoPorts => "-",
        }
    }
}

/// The policies selecting one workload for one direction: ordered ones (sorted),
/// then unordered ones.
type Selecting<'m> = (Vec<&'m Policy>, Vec<&'m Policy>);

/// Answers reachability questions for one cluster.
pub struct Engine<'m> {
    model: &'m Model,
    cluster: &'m Cluster,
    namespaces: HashMap<&'m str, &'m Namespace>,
    node_addresses: Vec<IpAddr>,
    /// Policies of the cluster selecting each workload, per direction, ordered first
    /// (by order, then name), computed once.
    selecting: HashMap<(&'m str, &'m str, Direction), Selecting<'m>>,
}

impl<'m> Engine<'m> {
    pub fn new(
        model: &'m Model,
        alloc: Option<&'m Allocation>,
        cluster: &'m Cluster,
    ) -> Engine<'m> {
        let c = cluster.name.value.as_str();
        let namespaces = model
            .namespaces
            .iter()
            .filter(|n| n.cluster.value == c)
            .map(|n| (n.name.value.as_str(), n))
            .collect();
        let node_addresses = Allocation::node_addresses(alloc, cluster);
        let mut selecting = HashMap::new();
        let policies: Vec<&Policy> = model
            .policies
            .iter()
            .map(Box::as_ref)
            .filter(|p| p.cluster.value == c)
            .collect();
        for w in model.workloads.iter().filter(|w| w.cluster.value == c) {
            for direction in [Direction::Ingress, Direction::Egress] {
                let mut ordered: Vec<&Policy> = Vec::new();
                let mut unordered: Vec<&Policy> = Vec::new();
                for p in &policies {
                    if directions(p).contains(&direction) && selects(p, w) {
                        if p.order.is_some() {
                            ordered.push(p);
                        } else {
                            unordered.push(p);
                        }
                    }
                }
                ordered.sort_by(|a, b| {
                    let key = |p: &Policy| {
                        (
                            p.order.as_ref().map_or(u32::MAX, |o| o.value),
                            p.name.value.clone(),
                        )
                    };
                    key(a).cmp(&key(b))
                });
                selecting.insert(
                    (w.namespace.value.as_str(), w.name.value.as_str(), direction),
                    (ordered, unordered),
                );
            }
        }
        Engine {
            model,
            cluster,
            namespaces,
            node_addresses,
            selecting,
        }
    }

    /// The workloads of the cluster, in source order.
    pub fn workloads(&self) -> impl Iterator<Item = &'m Workload> + '_ {
        let c = self.cluster.name.value.clone();
        self.model
            .workloads
            .iter()
            .map(Box::as_ref)
            .filter(move |w| w.cluster.value == c)
    }

    /// The workloads of the cluster (of `namespace` only, when given), sorted by
    /// namespace and name: the rows and columns of a matrix.
    pub fn workloads_by_name(&self, namespace: Option<&str>) -> Vec<&'m Workload> {
        let mut workloads: Vec<&'m Workload> = self
            .workloads()
            .filter(|w| namespace.is_none_or(|ns| w.namespace.value == ns))
            .collect();
        workloads.sort_by(|a, b| {
            (&a.namespace.value, &a.name.value).cmp(&(&b.namespace.value, &b.name.value))
        });
        workloads
    }

    /// Looks up `namespace/workload`.
    pub fn workload(&self, namespace: &str, name: &str) -> Option<&'m Workload> {
        self.workloads()
            .find(|w| w.namespace.value == namespace && w.name.value == name)
    }

    /// Decides a connection.
    pub fn decide(
        &self,
        src: Endpoint<'m>,
        dst: Endpoint<'m>,
        port: u16,
        protocol: Protocol,
    ) -> Verdict {
        let egress = self.side(src, dst, Direction::Egress, port, protocol);
        let ingress = self.side(dst, src, Direction::Ingress, port, protocol);
        Verdict {
            allowed: egress.allowed && ingress.allowed,
            egress,
            ingress,
        }
    }

    /// A cell of the connectivity matrix: `src` to `dst` on `port`, or on every port
    /// `dst` declares when `port` is `None`.
    pub fn cell(
        &self,
        src: &'m Workload,
        dst: &'m Workload,
        port: Option<(u16, Protocol)>,
    ) -> Cell {
        let ports: Vec<(u16, Protocol)> = match port {
            Some(p) => vec![p],
            None => dst
                .ports
                .iter()
                .map(|p| (p.number.value, p.protocol.value))
                .collect(),
        };
        if ports.is_empty() {
            return Cell::NoPorts;
        }
        let allowed = ports
            .iter()
            .filter(|(p, proto)| {
                self.decide(Endpoint::Pod(src), Endpoint::Pod(dst), *p, *proto)
                    .allowed
            })
            .count();
        match allowed {
            0 => Cell::Deny,
            n if n == ports.len() => Cell::Allow,
            _ => Cell::Partial,
        }
    }

    /// One side: `me` with its policies for `direction`, the connection's other end
    /// being `peer`.
    fn side(
        &self,
        me: Endpoint<'m>,
        peer: Endpoint<'m>,
        direction: Direction,
        port: u16,
        protocol: Protocol,
    ) -> Side {
        let Endpoint::Pod(w) = me else {
            return Side {
                allowed: true,
                reason: Reason::External,
            };
        };
        let key = (w.namespace.value.as_str(), w.name.value.as_str(), direction);
        let Some((ordered, unordered)) = self.selecting.get(&key) else {
            return Side {
                allowed: true,
                reason: Reason::NotSelected,
            };
        };
        // The destination of the connection, for named ports.
        let destination = match direction {
            Direction::Ingress => me,
            Direction::Egress => peer,
        };
        'ordered: for policy in ordered {
            for rule in policy
                .rules
                .iter()
                .filter(|r| r.direction.value == direction)
            {
                if !self.rule_matches(policy, rule, peer, destination, port, protocol) {
                    continue;
                }
                let decided = |allowed| Side {
                    allowed,
                    reason: Reason::Rule {
                        policy: policy.name.value.clone(),
                        policy_span: policy.name.span,
                        rule_span: rule.action.span,
                        action: rule.action.value,
                    },
                };
                match rule.action.value {
                    Action::Allow => return decided(true),
                    Action::Deny => return decided(false),
                    Action::Log => {}
                    Action::Pass => break 'ordered,
                }
            }
        }
        if unordered.is_empty() {
            return Side {
                allowed: true,
                reason: Reason::NotSelected,
            };
        }
        for policy in unordered {
            for rule in effective_rules(policy, direction) {
                if rule.action.value == Action::Allow
                    && self.rule_matches(policy, rule, peer, destination, port, protocol)
                {
                    return Side {
                        allowed: true,
                        reason: Reason::Rule {
                            policy: policy.name.value.clone(),
                            policy_span: policy.name.span,
                            rule_span: rule.action.span,
                            action: Action::Allow,
                        },
                    };
                }
            }
        }
        Side {
            allowed: false,
            reason: Reason::Isolated {
                policies: unordered
                    .iter()
                    .map(|p| (p.name.value.clone(), p.name.span))
                    .collect(),
            },
        }
    }

    fn rule_matches(
        &self,
        policy: &Policy,
        rule: &PolicyRule,
        peer: Endpoint<'m>,
        destination: Endpoint<'m>,
        port: u16,
        protocol: Protocol,
    ) -> bool {
        let peer_ok = rule.peers.is_empty()
            || rule
                .peers
                .iter()
                .any(|p| self.peer_matches(policy, p, peer));
        peer_ok && self.ports_match(rule, destination, port, protocol)
    }

    fn ports_match(
        &self,
        rule: &PolicyRule,
        destination: Endpoint<'m>,
        port: u16,
        protocol: Protocol,
    ) -> bool {
        if rule.ports.is_empty() {
            return match rule.protocol.as_ref().map(|p| p.value) {
                None => rule.icmp.is_none(),
                Some(RuleProtocol::Tcp) => protocol == Protocol::Tcp,
                Some(RuleProtocol::Udp) => protocol == Protocol::Udp,
                Some(RuleProtocol::Sctp) => protocol == Protocol::Sctp,
                Some(RuleProtocol::Icmp) => false,
            };
        }
        rule.ports.iter().any(|p| {
            p.protocol.value == protocol
                && match (&p.port.value, &p.end) {
                    (PortRef::Number(n), Some(end)) => (*n..=end.value).contains(&port),
                    (PortRef::Number(n), None) => *n == port,
                    // A named port resolves against the destination pod's ports.
                    (PortRef::Name(name), _) => match destination {
                        Endpoint::Pod(w) => w.ports.iter().any(|wp| {
                            &wp.name.value == name
                                && wp.protocol.value == protocol
                                && wp.number.value == port
                        }),
                        Endpoint::External(_) => false,
                    },
                }
        })
    }

    fn peer_matches(&self, policy: &Policy, peer: &Peer, endpoint: Endpoint<'m>) -> bool {
        if peer.anywhere {
            return true;
        }
        let own_ns = policy.namespace.as_ref().map(|n| n.value.as_str());
        match endpoint {
            Endpoint::External(ip) => {
                if peer.nodes {
                    return self.node_addresses.contains(&ip);
                }
                match &peer.cidr {
                    Some(cidr) => {
                        cidr.value.contains(&ip)
                            && !peer.except.iter().any(|e| e.value.contains(&ip))
                    }
                    None => false,
                }
            }
            Endpoint::Pod(w) => {
                if peer.cidr.is_some() || peer.nodes {
                    return false;
                }
                if let Some(name) = &peer.workload {
                    let ns = peer.namespace.as_ref().map(|n| n.value.as_str()).or(own_ns);
                    return Some(w.namespace.value.as_str()) == ns && w.name.value == name.value;
                }
                let ns_ok = match (&peer.namespace, &peer.namespaces) {
                    (Some(n), _) => w.namespace.value == n.value,
                    (None, Some(selector)) => self.namespace_matches(&w.namespace.value, selector),
                    // No namespace given: the policy's own (any, for a global policy).
                    (None, None) => own_ns.is_none_or(|ns| w.namespace.value == ns),
                };
                let pods_ok = peer
                    .pods
                    .as_ref()
                    .is_none_or(|p| labels_include(&w.labels, p));
                ns_ok && pods_ok
            }
        }
    }

    fn namespace_matches(&self, namespace: &str, selector: &Labels) -> bool {
        let declared = self.namespaces.get(namespace).map(|n| &n.labels);
        if declared.is_none() && !BUILTIN_NAMESPACES.contains(&namespace) {
            return false;
        }
        // Every namespace carries its name as `kubernetes.io/metadata.name`.
        selector.selects(|key| {
            if key == "kubernetes.io/metadata.name" {
                return Some(namespace);
            }
            declared.and_then(|d| d.get(key))
        })
    }
}

/// True when `selector` (labels and set-based requirements) selects `labels`.
fn labels_include(labels: &Labels, selector: &Labels) -> bool {
    crate::model::index::selects(selector, labels)
}

/// Whether `policy` applies to the pods of `w` (its direction aside).
pub fn selects(policy: &Policy, w: &Workload) -> bool {
    if policy.cluster.value != w.cluster.value {
        return false;
    }
    if let Some(ns) = policy.namespace.as_ref().filter(|_| !policy.global.value) {
        if ns.value != w.namespace.value {
            return false;
        }
    }
    if !policy.workloads.is_empty() {
        return policy.workloads.iter().any(|n| n.value == w.name.value);
    }
    policy
        .pods
        .as_ref()
        .is_none_or(|p| labels_include(&w.labels, p))
}
