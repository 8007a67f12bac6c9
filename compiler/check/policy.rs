//! Network policies (TR06xx): which output can express a policy exactly, rules that
//! can never match, selectors that match nothing, named ports nobody exposes.
//!
//! The meaning of policies (`docs/outputs.md`), per pod and direction:
//!
//! 1. Policies with an `order` ("ordered", guardrails) run first, lowest order
//!    first; in each, rules run in order and the first `allow` or `deny` that matches
//!    decides; `log` notes and goes on; `pass` skips the remaining ordered policies.
//!    Traffic no ordered rule decides goes on to step 2, as if they did not exist.
//! 2. Policies without an order work as Kubernetes NetworkPolicies: they only
//!    allow, their allows add up, and a pod one of them selects for a direction is
//!    isolated in that direction (what none allows is denied). An unconditional
//!    `deny` at the end of such a policy states exactly that isolation ("default
//!    deny"); any other `deny`, `log` or `pass` needs an order (TR0605).
//! 3. A pod no policy of step 2 selects for a direction is not isolated.
//!
//! In Calico terms, ordered policies live in the tier `trellis` (before the default
//! tier, default action Pass) and unordered ones in the default tier.
//!
//! `kubernetes_obstacle` decides whether a Kubernetes NetworkPolicy can express a
//! policy exactly; the emitter uses it to choose the output for `target="auto"`.

use crate::diag::{codes, Diagnostic, Diagnostics};
use crate::model::index::WorkloadIndex;
use crate::model::{Action, Direction, Model, Policy, PolicyRule, PolicyTarget, RuleProtocol};
use crate::source::Span;

/// True for a rule that matches every packet of its direction: no peers (or only
/// `anywhere`), no ports, no protocol, no ICMP.
pub fn is_unconditional(rule: &PolicyRule) -> bool {
    rule.peers.iter().all(|p| p.anywhere)
        && rule.ports.is_empty()
        && rule.protocol.is_none()
        && rule.icmp.is_none()
}

/// The rules of one direction that matter. In an unordered policy a trailing run
/// of unconditional denies only restates the isolation and is dropped; in an
/// ordered policy every rule decides and stays.
pub fn effective_rules(policy: &Policy, direction: Direction) -> Vec<&PolicyRule> {
    let mut rules: Vec<&PolicyRule> = policy
        .rules
        .iter()
        .filter(|r| r.direction.value == direction)
        .collect();
    if policy.order.is_some() {
        return rules;
    }
    while rules
        .last()
        .is_some_and(|r| r.action.value == Action::Deny && is_unconditional(r))
    {
        rules.pop();
    }
    rules
}

/// The directions a policy applies to (has at least one rule for).
pub fn directions(policy: &Policy) -> Vec<Direction> {
    [Direction::Ingress, Direction::Egress]
        .into_iter()
        .filter(|d| policy.rules.iter().any(|r| r.direction.value == *d))
        .collect()
}

/// Why a Kubernetes NetworkPolicy cannot express `policy` exactly: the first
/// construct in the way, with its span, or `None` when it can.
pub fn kubernetes_obstacle(policy: &Policy) -> Option<(Span, String)> {
    if policy.global.value {
        return Some((
            policy.global.span,
            "a global policy (Kubernetes NetworkPolicies are namespaced)".into(),
        ));
    }
    if let Some(order) = &policy.order {
        return Some((
            order.span,
            "an explicit `order` (Kubernetes NetworkPolicies are unordered)".into(),
        ));
    }
    for direction in [Direction::Ingress, Direction::Egress] {
        for rule in effective_rules(policy, direction) {
            match rule.action.value {
                Action::Allow => {}
                Action::Deny => {
                    return Some((rule.action.span, "a `deny` rule that is not the final unconditional deny (Kubernetes NetworkPolicies only allow)".into()))
                }
                Action::Log => return Some((rule.action.span, "a `log` rule (Kubernetes NetworkPolicies cannot log)".into())),
                Action::Pass => return Some((rule.action.span, "a `pass` rule (Kubernetes NetworkPolicies have no tiers)".into())),
            }
            if let Some(icmp) = &rule.icmp {
                return Some((
                    icmp.span,
                    "an ICMP match (Kubernetes NetworkPolicies know TCP, UDP and SCTP only)".into(),
                ));
            }
            if let Some(p) = rule
                .protocol
                .as_ref()
                .filter(|p| p.value == RuleProtocol::Icmp)
            {
                return Some((
                    p.span,
                    "protocol ICMP (Kubernetes NetworkPolicies know TCP, UDP and SCTP only)".into(),
                ));
            }
            if let Some(peer) = rule.peers.iter().find(|p| p.nodes) {
                return Some((
                    peer.span,
                    "a `nodes=#true` peer (Kubernetes NetworkPolicies cannot select nodes)".into(),
                ));
            }
        }
    }
    None
}

/// Forced `target="kubernetes"` that cannot be honoured; decisions other than
/// allow in unordered policies; and rules shadowed by an earlier unconditional rule
/// of the same policy and direction.
pub fn check_policies(model: &Model, diags: &mut Diagnostics) {
    for policy in &model.policies {
        if policy.order.is_none() {
            for direction in [Direction::Ingress, Direction::Egress] {
                for rule in effective_rules(policy, direction) {
                    if rule.action.value != Action::Allow {
                        diags.push(
                            Diagnostic::new(
                                &codes::UNORDERED_DECISION,
                                rule.action.span,
                                format!(
                                    "policy `{}` has no `order`, so its `{}` rule has no defined place among the other policies",
                                    policy.name.value,
                                    action_name(rule.action.value)
                                ),
                            )
                            .label("needs an ordered policy")
                            .related(policy.name.span, "policy without `order`"),
                        );
                    }
                }
            }
        }
        if policy.target.value == PolicyTarget::Kubernetes {
            let unordered_action = |span: Span| {
                policy.order.is_none()
                    && policy
                        .rules
                        .iter()
                        .any(|r| r.action.span == span && r.action.value != Action::Allow)
            };
            if let Some((span, obstacle)) =
                kubernetes_obstacle(policy).filter(|(span, _)| !unordered_action(*span))
            {
                diags.push(
                    Diagnostic::new(
                        &codes::POLICY_NOT_EXPRESSIBLE,
                        span,
                        format!("policy `{}` is forced to a Kubernetes NetworkPolicy, which cannot express {obstacle}", policy.name.value),
                    )
                    .label("cannot be expressed")
                    .related(policy.target.span, "Kubernetes forced here")
                    .help("remove `target=\"kubernetes\"` to get a Calico policy, or remove this construct"),
                );
            }
        }
        for direction in [Direction::Ingress, Direction::Egress] {
            let rules: Vec<&PolicyRule> = policy
                .rules
                .iter()
                .filter(|r| r.direction.value == direction)
                .collect();
            let decider = rules.iter().position(|r| {
                matches!(r.action.value, Action::Allow | Action::Deny) && is_unconditional(r)
            });
            let Some(first) = decider else {
                continue;
            };
            let Some(decisive) = rules.get(first) else {
                continue;
            };
            if policy.order.is_none() && decisive.action.value != Action::Allow {
                continue;
            }
            if policy.order.is_none() {
                // Unordered policies only allow, and their allows add up: next to an
                // unconditional allow every other allow of the direction is redundant,
                // before or after it.
                for (i, other) in rules.iter().enumerate() {
                    if i == first || other.action.value != Action::Allow {
                        continue;
                    }
                    diags.push(
                        Diagnostic::new(
                            &codes::SHADOWED_RULE,
                            other.action.span,
                            format!(
                                "this rule of policy `{}` adds nothing: the unconditional `allow` already allows all {} traffic",
                                policy.name.value,
                                direction_name(direction)
                            ),
                        )
                        .label("redundant")
                        .related(decisive.action.span, "allows everything")
                        .help("remove this rule, or narrow the unconditional allow with peers or ports"),
                    );
                }
                continue;
            }
            for later in rules.iter().skip(first + 1) {
                // A trailing unconditional deny after an unconditional allow is
                // still dead, but a trailing deny after conditional rules is the
                // normal "default deny" and never reaches here.
                diags.push(
                    Diagnostic::new(
                        &codes::SHADOWED_RULE,
                        later.action.span,
                        format!(
                            "this rule of policy `{}` can never match: the `{}` rule before it decides all {} traffic",
                            policy.name.value,
                            action_name(decisive.action.value),
                            direction_name(direction)
                        ),
                    )
                    .label("never reached")
                    .related(decisive.action.span, "decides everything first")
                    .help("move this rule above the unconditional one, or narrow the earlier rule with peers or ports"),
                );
            }
        }
    }
}

pub fn action_name(action: Action) -> &'static str {
    match action {
        Action::Allow => "allow",
        Action::Deny => "deny",
        Action::Log => "log",
        Action::Pass => "pass",
    }
}

pub fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    }
}

/// A `nodes=#true` peer needs the node VMs' addresses: allocated on static
/// networks, declared on DHCP networks, or at least the network's prefix.
pub fn check_node_peers(model: &Model, diags: &mut Diagnostics) {
    for policy in &model.policies {
        let Some(cluster) = model
            .clusters
            .iter()
            .find(|c| c.name.value == policy.cluster.value)
        else {
            continue;
        };
        let Some(network) = model
            .networks
            .iter()
            .find(|n| n.name.value == cluster.network.value)
        else {
            continue;
        };
        let known = network.mode.value == crate::model::NetworkMode::Static
            || network.prefix.is_some()
            || cluster.control_plane.addresses.is_some()
            || cluster.node_pools.iter().any(|p| p.addresses.is_some());
        if known {
            continue;
        }
        for peer in policy
            .rules
            .iter()
            .flat_map(|r| &r.peers)
            .filter(|p| p.nodes)
        {
            diags.push(
                Diagnostic::new(
                    &codes::NODE_PEER_UNKNOWN,
                    peer.span,
                    format!(
                        "policy `{}` names the nodes of cluster `{}`, whose addresses trellis does not know (DHCP network `{}` without `prefix` or declared `addresses`)",
                        policy.name.value, cluster.name.value, network.name.value
                    ),
                )
                .label("nodes unknown")
                .related(network.name.span, "DHCP network"),
            );
        }
    }
}

/// Pod selectors (`pods`, peer `pods`) that match no workload, and peer
/// `namespaces` selectors that match no namespace (warnings); named ports in rules
/// that no workload of the cluster declares.
pub fn check_policy_selectors(model: &Model, index: &WorkloadIndex, diags: &mut Diagnostics) {
    for policy in &model.policies {
        let c = policy.cluster.value.as_str();
        let own_ns = policy.namespace.as_ref().map(|n| n.value.as_str());
        let matches_pods =
            |labels: &crate::model::Labels, ns: Option<&str>| index.any(c, ns, labels);
        let mut warn = |span: Span, what: String| {
            diags.push(
                Diagnostic::new(&codes::POLICY_SELECTS_NOTHING, span, what)
                    .label("matches nothing")
                    .help("check the labels against the workloads and namespaces this policy is about"),
            );
        };
        if let Some(pods) = policy.pods.as_ref().filter(|p| !p.items.is_empty()) {
            if !matches_pods(pods, own_ns) {
                warn(
                    pods.span.unwrap_or(policy.name.span),
                    format!(
                        "the pods selector of policy `{}` matches no workload",
                        policy.name.value
                    ),
                );
            }
        }
        for peer in policy.rules.iter().flat_map(|r| &r.peers) {
            if let Some(namespaces) = peer.namespaces.as_ref().filter(|n| !n.items.is_empty()) {
                let any_ns = model.namespaces.iter().any(|n| {
                    n.cluster.value == c
                        && namespaces
                            .items
                            .iter()
                            .all(|l| n.labels.get(&l.key.value) == Some(l.value.value.as_str()))
                });
                if !any_ns {
                    warn(
                        namespaces.span.unwrap_or(peer.span),
                        format!(
                            "the namespaces selector of a peer in policy `{}` matches no namespace",
                            policy.name.value
                        ),
                    );
                    continue;
                }
            }
            if let Some(pods) = peer.pods.as_ref().filter(|p| !p.items.is_empty()) {
                // Pods in the named namespace, or (with a namespaces selector, or in a
                // global policy) anywhere in the cluster.
                let ns = match (&peer.namespace, &peer.namespaces) {
                    (Some(n), _) => Some(n.value.as_str()),
                    (None, Some(_)) => None,
                    (None, None) => own_ns,
                };
                // Kubernetes' own namespaces hold pods trellis does not declare.
                if ns.is_some_and(|ns| crate::check::refs::BUILTIN_NAMESPACES.contains(&ns)) {
                    continue;
                }
                if !matches_pods(pods, ns) {
                    warn(
                        pods.span.unwrap_or(peer.span),
                        format!(
                            "the pods selector of a peer in policy `{}` matches no workload",
                            policy.name.value
                        ),
                    );
                }
            }
        }
        for rule in &policy.rules {
            // Pods of Kubernetes' own namespaces declare ports trellis does not know.
            let builtin_peer = rule.peers.iter().any(|p| {
                p.namespace.as_ref().is_some_and(|n| {
                    crate::check::refs::BUILTIN_NAMESPACES.contains(&n.value.as_str())
                })
            });
            if builtin_peer {
                continue;
            }
            for port in &rule.ports {
                let crate::model::PortRef::Name(name) = &port.port.value else {
                    continue;
                };
                let declared = model.workloads.iter().any(|w| {
                    w.cluster.value == c
                        && w.ports.iter().any(|p| {
                            &p.name.value == name && p.protocol.value == port.protocol.value
                        })
                });
                if !declared {
                    diags.push(
                        Diagnostic::new(
                            &codes::POLICY_PORT_NOT_EXPOSED,
                            port.port.span,
                            format!("no workload of cluster `{c}` declares a port named `{name}`/{}", port.protocol.value.as_str()),
                        )
                        .label("unknown port name")
                        .help("a named port matches only pods whose container declares it; name a declared port, or use its number"),
                    );
                }
            }
        }
    }
}
