//! Lowering of `policy`: the pods it applies to and its ordered rules, with the
//! constraints inside one policy (a peer is exactly one kind of thing; an ingress
//! rule has `from` peers and an egress rule `to` peers; ICMP has no ports).
//! What a policy means and how it compiles is `docs/outputs.md`'s business.

use super::service::port_ref;
use super::shape::Item;
use super::{labels_of, Lowerer};
use crate::diag::{codes, Diagnostic};
use crate::model::{
    Action, Direction, Icmp, Peer, Policy, PolicyRule, PolicyTarget, RulePort, RuleProtocol,
};
use crate::source::{Span, Spanned};

pub(crate) fn lower_policy(lx: &mut Lowerer<'_>, item: &Item) {
    let Some(name) = super::name_arg(item) else {
        return;
    };
    let mut ok = item.complete;
    let global = item
        .prop("global")
        .and_then(|g| Some(Spanned::new(g.value.as_bool()?, g.span)))
        .unwrap_or_else(|| Spanned::new(false, name.span));
    let namespace = item.prop_str("namespace");
    match (&namespace, global.value) {
        (Some(ns), true) => {
            lx.conflict(
                ns.span,
                "a global policy applies to every namespace and takes no `namespace`".into(),
                global.span,
                "declared global here",
                "remove `namespace=`, or remove `global=#true`",
            );
            ok = false;
        }
        (None, false) if item.prop("namespace").is_none() => {
            lx.error(
                Diagnostic::new(
                    &codes::MISSING_PROPERTY,
                    item.name_span,
                    format!("policy `{}` has neither `namespace=` nor `global=#true`", name.value),
                )
                .label("needs namespace=…")
                .help("add namespace=\"…\" for the namespace it applies in, or global=#true for the whole cluster"),
            );
            ok = false;
        }
        _ => {}
    }
    if let (Some(pods), Some(workloads)) = (item.child("pods"), item.child("workloads")) {
        lx.conflict(
            workloads.name_span,
            "a policy selects its pods by `pods` labels or by `workloads`, not both".into(),
            pods.name_span,
            "pods selected here",
            "keep one of `pods` and `workloads`",
        );
        ok = false;
    }
    if global.value {
        if let Some(workloads) = item.child("workloads") {
            lx.conflict(
                workloads.name_span,
                "a global policy spans every namespace, so it cannot select pods by workload name"
                    .into(),
                global.span,
                "declared global here",
                "select the pods with `pods key=\"value\"` labels instead",
            );
            ok = false;
        }
    }
    let mut rules = Vec::new();
    // A preset's unconditional denies are defaults: they go after the policy's own
    // rules; its other rules go before them.
    let mut preset_defaults = Vec::new();
    if let Some(preset) = item.prop_str("preset") {
        if global.value && NAMESPACED_PRESETS.contains(&preset.value.as_str()) {
            lx.conflict(
                preset.span,
                format!(
                    "preset `{}` is about the policy's own namespace, and a global policy has none",
                    preset.value
                ),
                global.span,
                "declared global here",
                "use the preset in a namespaced policy, one per namespace",
            );
            ok = false;
        }
        match preset_rules(lx, &preset.value, global.value) {
            Some(preset_rules) => {
                for mut r in preset_rules {
                    respan_rule(&mut r, preset.span);
                    if r.action.value == Action::Deny && crate::check::policy::is_unconditional(&r)
                    {
                        preset_defaults.push(r);
                    } else {
                        rules.push(r);
                    }
                }
            }
            None => ok = false,
        }
    }
    for rule_item in item
        .children
        .iter()
        .filter(|c| matches!(c.spec.name, "allow" | "deny" | "log" | "pass"))
    {
        match lower_rule(lx, rule_item, global.value) {
            Some(rule) => rules.push(rule),
            None => ok = false,
        }
    }
    rules.extend(preset_defaults);
    if !ok {
        return;
    }
    let Some(cluster) = item.prop_str("cluster") else {
        return;
    };
    lx.model.policies.push(Box::new(Policy {
        namespace,
        global,
        order: item
            .prop("order")
            .and_then(|o| Some(Spanned::new(u32::try_from(o.value.as_int()?).ok()?, o.span))),
        target: match item.prop_str("target") {
            Some(t) => Spanned::new(
                match t.value.as_str() {
                    "kubernetes" => PolicyTarget::Kubernetes,
                    "calico" => PolicyTarget::Calico,
                    _ => PolicyTarget::Auto,
                },
                t.span,
            ),
            None => Spanned::new(PolicyTarget::Auto, name.span),
        },
        pods: item.child("pods").map(labels_of),
        workloads: item
            .child("workloads")
            .map(|w| {
                w.args
                    .iter()
                    .filter_map(|a| Some(Spanned::new(a.value.as_str()?.to_string(), a.span)))
                    .collect()
            })
            .unwrap_or_default(),
        rules: super::exact(rules),
        cluster,
        name,
    }));
}

fn lower_rule(lx: &mut Lowerer<'_>, item: &Item, global: bool) -> Option<PolicyRule> {
    let action = Spanned::new(
        match item.spec.name {
            "deny" => Action::Deny,
            "log" => Action::Log,
            "pass" => Action::Pass,
            _ => Action::Allow,
        },
        item.name_span,
    );
    let dir = item.arg_str(0);
    let direction = dir.as_ref().map(|d| {
        Spanned::new(
            if d.value == "egress" {
                Direction::Egress
            } else {
                Direction::Ingress
            },
            d.span,
        )
    });
    let mut ok = item.complete;
    if let Some(direction) = &direction {
        let (wrong, right) = match direction.value {
            Direction::Ingress => ("to", "from"),
            Direction::Egress => ("from", "to"),
        };
        for peer in item.children_named(wrong) {
            let dir_name = if direction.value == Direction::Ingress {
                "ingress"
            } else {
                "egress"
            };
            lx.conflict(
                peer.name_span,
                format!("an {dir_name} rule names its peers with `{right}`, not `{wrong}`"),
                direction.span,
                "direction declared here",
                &format!("write `{right}` instead of `{wrong}`"),
            );
            ok = false;
        }
    }
    // Sized exactly: a rule has one or two of each, and the model keeps them.
    let is_peer = |c: &&Item| matches!(c.spec.name, "from" | "to");
    let mut peers = Vec::with_capacity(item.children.iter().filter(is_peer).count());
    for peer_item in item.children.iter().filter(is_peer) {
        match lower_peer(lx, peer_item, global) {
            Some(p) => peers.push(p),
            None => ok = false,
        }
    }
    let mut ports = Vec::with_capacity(item.children_named("port").count());
    for port_item in item.children_named("port") {
        let Some(port) = port_item.arg(0).and_then(|p| port_ref(&p.value, p.span)) else {
            ok = false;
            continue;
        };
        let end = port_item
            .prop("end")
            .and_then(|e| Some(Spanned::new(e.value.as_port()?, e.span)));
        if let Some(end) = &end {
            match &port.value {
                crate::model::PortRef::Name(n) => {
                    lx.conflict(
                        end.span,
                        format!("a port range needs a numeric start, but `{n}` is a port name"),
                        port.span,
                        "named port here",
                        "use a port number as the start of the range, or remove `end=`",
                    );
                    ok = false;
                }
                crate::model::PortRef::Number(start) if end.value < *start => {
                    lx.error(
                        Diagnostic::new(
                            &codes::NUMBER_OUT_OF_RANGE,
                            end.span,
                            format!(
                                "port range ends at {} before it starts at {start}",
                                end.value
                            ),
                        )
                        .label(format!("must be at least {start}"))
                        .related(port.span, "range starts here")
                        .help("make `end=` at least the start port"),
                    );
                    ok = false;
                }
                _ => {}
            }
        }
        ports.push(RulePort {
            port,
            end,
            protocol: super::app::protocol_of(port_item),
        });
    }
    let protocol = item.setting_str("protocol").map(|p| {
        Spanned::new(
            match p.value.as_str() {
                "UDP" => RuleProtocol::Udp,
                "SCTP" => RuleProtocol::Sctp,
                "ICMP" => RuleProtocol::Icmp,
                _ => RuleProtocol::Tcp,
            },
            p.span,
        )
    });
    let icmp = item.child("icmp").map(|i| Icmp {
        span: i.name_span,
        icmp_type: i
            .prop("type")
            .and_then(|v| Some(Spanned::new(u8::try_from(v.value.as_int()?).ok()?, v.span))),
        code: i
            .prop("code")
            .and_then(|v| Some(Spanned::new(u8::try_from(v.value.as_int()?).ok()?, v.span))),
    });
    if let Some(first_port) = item.children_named("port").next() {
        if let Some(p) = protocol.as_ref().filter(|p| p.value != RuleProtocol::Icmp) {
            lx.conflict(
                p.span,
                "a rule with ports takes each port's protocol from the port, not from `protocol`".into(),
                first_port.name_span,
                "port declared here",
                "write the protocol on each port, e.g. `port 514 protocol=\"UDP\"`, and remove `protocol`",
            );
            ok = false;
        }
        if let Some(p) = protocol.as_ref().filter(|p| p.value == RuleProtocol::Icmp) {
            lx.conflict(
                first_port.name_span,
                "ICMP has no ports".into(),
                p.span,
                "protocol ICMP here",
                "remove the ports, or use protocol TCP, UDP or SCTP",
            );
            ok = false;
        }
        if let Some(i) = &icmp {
            lx.conflict(
                first_port.name_span,
                "a rule matching ICMP has no ports".into(),
                i.span,
                "ICMP matched here",
                "remove the ports or the `icmp` setting",
            );
            ok = false;
        }
    }
    if let Some(i) = &icmp {
        if let Some(p) = protocol.as_ref().filter(|p| p.value != RuleProtocol::Icmp) {
            lx.conflict(
                i.span,
                "`icmp` needs `protocol \"ICMP\"`".into(),
                p.span,
                "another protocol here",
                "write `protocol \"ICMP\"`, or remove `icmp`",
            );
            ok = false;
        }
        if let (Some(code), None) = (&i.code, &i.icmp_type) {
            lx.error(
                Diagnostic::new(
                    &codes::MISSING_PROPERTY,
                    code.span,
                    "an ICMP code is only meaningful with an ICMP type".to_string(),
                )
                .label("code without type")
                .help("add type=… (for example type=8 for echo request)"),
            );
            ok = false;
        }
    }
    let direction = direction?;
    ok.then_some(PolicyRule {
        span: item.name_span,
        action,
        direction,
        peers,
        ports,
        protocol: protocol.or_else(|| {
            icmp.as_ref()
                .map(|i| Spanned::new(RuleProtocol::Icmp, i.span))
        }),
        icmp,
    })
}

fn lower_peer(lx: &mut Lowerer<'_>, item: &Item, global: bool) -> Option<Peer> {
    let flag = |name: &str| item.prop(name).and_then(|v| v.value.as_bool()) == Some(true);
    let peer = Peer {
        span: item.name_span,
        workload: item.prop_str("workload"),
        namespace: item.prop_str("namespace"),
        pods: item.child("pods").map(labels_of),
        namespaces: item.child("namespaces").map(labels_of),
        cidr: item
            .prop("cidr")
            .and_then(|c| Some(Spanned::new(c.value.as_net()?, c.span))),
        except: item
            .child("except")
            .map(|e| {
                e.args
                    .iter()
                    .filter_map(|a| Some(Spanned::new(a.value.as_net()?, a.span)))
                    .collect()
            })
            .unwrap_or_default(),
        anywhere: flag("anywhere"),
        nodes: flag("nodes"),
    };
    if !item.complete {
        return None;
    }
    // Each present part, with the span to point at.
    let mut parts: Vec<(&str, crate::source::Span)> = Vec::new();
    if let Some(w) = &peer.workload {
        parts.push(("workload", w.span));
    }
    if let Some(c) = &peer.cidr {
        parts.push(("cidr", c.span));
    }
    for name in ["anywhere", "nodes"] {
        if flag(name) {
            parts.push((name, item.prop(name).map_or(item.name_span, |v| v.span)));
        }
    }
    let selectors = peer.pods.is_some() || peer.namespaces.is_some();
    if let (Some(first), Some(second)) = (parts.first(), parts.get(1)) {
        lx.conflict(
            second.1,
            format!(
                "a peer is one thing: `{}` cannot be combined with `{}`",
                second.0, first.0
            ),
            first.1,
            "already given here",
            "split them into two `from`/`to` peers",
        );
        return None;
    }
    if let Some(first) = parts.first() {
        let extra = if first.0 == "workload" {
            // A workload may name its namespace; nothing else.
            item.child("pods")
                .or(item.child("namespaces"))
                .map(|c| c.name_span)
        } else {
            item.child("pods")
                .or(item.child("namespaces"))
                .map(|c| c.name_span)
                .or(peer.namespace.as_ref().map(|n| n.span))
        };
        if let Some(extra) = extra {
            lx.conflict(
                extra,
                format!("a `{}` peer takes no pod or namespace selectors", first.0),
                first.1,
                "peer declared here",
                "split them into two `from`/`to` peers",
            );
            return None;
        }
    }
    if let (Some(w), None, true) = (&peer.workload, &peer.namespace, global) {
        lx.error(
            Diagnostic::new(
                &codes::MISSING_PROPERTY,
                w.span,
                format!(
                    "workload `{}` in a global policy needs its namespace",
                    w.value
                ),
            )
            .label("which namespace?")
            .help("add namespace=\"…\" to the peer: a global policy has no namespace of its own"),
        );
        return None;
    }
    if let (Some(ns), Some(sel)) = (&peer.namespace, item.child("namespaces")) {
        lx.conflict(
            sel.name_span,
            "a peer names its namespace by `namespace=` or selects namespaces by labels, not both"
                .into(),
            ns.span,
            "namespace named here",
            "keep one of them",
        );
        return None;
    }
    if let Some(except) = item.child("except") {
        if peer.cidr.is_none() {
            lx.error(
                Diagnostic::new(
                    &codes::MISSING_PROPERTY,
                    except.name_span,
                    "`except` carves prefixes out of a `cidr`, but the peer has none".to_string(),
                )
                .label("except without cidr")
                .help("add cidr=\"…\" to the peer"),
            );
            return None;
        }
    }
    if parts.is_empty() && !selectors && peer.namespace.is_none() {
        lx.error(
            Diagnostic::new(
                &codes::MISSING_PROPERTY,
                item.name_span,
                format!("`{}` names no peer", item.spec.name),
            )
            .label("empty peer")
            .help("add workload=, namespace=, cidr=, anywhere=#true or nodes=#true, or a `pods`/`namespaces` selector"),
        );
        return None;
    }
    Some(peer)
}

/// Presets whose meaning needs the policy's own namespace.
const NAMESPACED_PRESETS: &[&str] = &["allow-same-namespace"];

/// The embedded presets (`stdlib/presets.kdl`) as a one-file `Sources`, parsed once.
fn presets() -> Option<&'static (crate::source::Sources, kdl::KdlDocument)> {
    static PRESETS: std::sync::OnceLock<Option<(crate::source::Sources, kdl::KdlDocument)>> =
        std::sync::OnceLock::new();
    PRESETS
        .get_or_init(|| {
            let text = crate::stdlib::PRESETS_KDL;
            let doc = kdl::KdlDocument::parse_v2(text).ok()?;
            let mut sources = crate::source::Sources::new();
            sources.add("<stdlib>/presets.kdl", text);
            Some((sources, doc))
        })
        .as_ref()
}

/// The rules of preset `name`, lowered as if written in the policy. Presets are
/// tested to lower without diagnostics; should one ever not, its problems are
/// reported by `stdlib`'s tests, not to the user.
pub(crate) fn preset_rules(
    lx: &mut Lowerer<'_>,
    name: &str,
    global: bool,
) -> Option<Vec<PolicyRule>> {
    let (sources, doc) = presets()?;
    let node = doc.nodes().iter().find(|n| {
        n.name().value() == "preset" && n.get(0).and_then(|v| v.as_string()) == Some(name)
    })?;
    let mut scratch = crate::diag::Diagnostics::new();
    let mut cx = super::shape::ShapeCx {
        file: crate::source::FileId(0),
        sources,
        diags: &mut scratch,
    };
    let item = cx.shape(
        &crate::parse::tree::Node::from_kdl(node),
        &super::schema::PRESET,
    );
    let mut inner = Lowerer {
        model: lx.model,
        diags: &mut scratch,
    };
    let rules: Option<Vec<PolicyRule>> = item
        .children
        .iter()
        .map(|r| lower_rule(&mut inner, r, global))
        .collect();
    if scratch.is_empty() {
        rules
    } else {
        None
    }
}

/// Gives every span of a rule taken from a preset the span of the `preset=` that
/// brought it, so diagnostics about it point at the policy.
fn respan_rule(rule: &mut PolicyRule, span: Span) {
    let labels = |l: &mut Option<crate::model::Labels>| {
        if let Some(l) = l {
            l.span = Some(span);
            for label in &mut l.items {
                label.key.span = span;
                label.value.span = span;
            }
        }
    };
    rule.span = span;
    rule.action.span = span;
    rule.direction.span = span;
    for peer in &mut rule.peers {
        peer.span = span;
        if let Some(w) = &mut peer.workload {
            w.span = span;
        }
        if let Some(n) = &mut peer.namespace {
            n.span = span;
        }
        labels(&mut peer.pods);
        labels(&mut peer.namespaces);
        if let Some(c) = &mut peer.cidr {
            c.span = span;
        }
        for e in &mut peer.except {
            e.span = span;
        }
    }
    for port in &mut rule.ports {
        port.port.span = span;
        port.protocol.span = span;
        if let Some(e) = &mut port.end {
            e.span = span;
        }
    }
    if let Some(p) = &mut rule.protocol {
        p.span = span;
    }
    if let Some(i) = &mut rule.icmp {
        i.span = span;
        if let Some(t) = &mut i.icmp_type {
            t.span = span;
        }
        if let Some(c) = &mut i.code {
            c.span = span;
        }
    }
}
