//! `expect` nodes: each expected verdict is checked with the reachability engine
//! (`reach.rs`); one the policies do not meet is TR0607, pointing at the expectation,
//! with the deciding rules (or the isolating policies) as related places.

use crate::alloc::Allocation;
use crate::diag::{codes, Diagnostic, Diagnostics};
use crate::model::{DeclKind, EndpointRef, Model};
use crate::reach::{Endpoint, Engine, Reason, Side};

pub fn check_expectations(model: &Model, alloc: Option<&Allocation>, diags: &mut Diagnostics) {
    for e in &model.expectations {
        let Some(cluster) = model
            .clusters
            .iter()
            .find(|c| c.name.value == e.cluster.value)
        else {
            continue;
        };
        let engine = Engine::new(model, alloc, cluster);
        let resolve = |r: &crate::source::Spanned<EndpointRef>,
                       diags: &mut Diagnostics|
         -> Option<Endpoint<'_>> {
            match &r.value {
                EndpointRef::Address(ip) => Some(Endpoint::External(*ip)),
                EndpointRef::Workload { namespace, name } => match engine.workload(namespace, name)
                {
                    Some(w) => Some(Endpoint::Pod(w)),
                    None => {
                        // A workload declared with errors is reported where it is.
                        let declared = model.declarations.iter().any(|d| {
                            d.kind == DeclKind::Workload
                                && d.scope().namespace == Some(namespace.as_str())
                                && d.scope().cluster == Some(e.cluster.value.as_str())
                                && d.name.value == *name
                        });
                        if !declared {
                            diags.push(
                                Diagnostic::new(
                                    &codes::UNRESOLVED_REFERENCE,
                                    r.span,
                                    format!(
                                        "no workload `{namespace}/{name}` in cluster `{}`",
                                        e.cluster.value
                                    ),
                                )
                                .label("unknown workload")
                                .help("name a workload as `namespace/workload`"),
                            );
                        }
                        None
                    }
                },
            }
        };
        let (Some(from), Some(to)) = (resolve(&e.from, diags), resolve(&e.to, diags)) else {
            continue;
        };
        let verdict = engine.decide(from, to, e.port.value, e.protocol.value);
        if verdict.allowed == e.allow.value {
            continue;
        }
        let what = |allowed: bool| if allowed { "allowed" } else { "denied" };
        let mut diag = Diagnostic::new(
            &codes::EXPECTATION_FAILED,
            e.span,
            format!(
                "expected {} → {} on {}/{} to be {}, but it is {}",
                from.describe(),
                to.describe(),
                e.port.value,
                e.protocol.value.as_str(),
                what(e.allow.value),
                what(verdict.allowed)
            ),
        )
        .label("expectation not met");
        let mut notes = Vec::new();
        for (side, name) in [
            (&verdict.egress, "egress of the source"),
            (&verdict.ingress, "ingress of the destination"),
        ] {
            let (text, related) = explain_side(side, name);
            notes.push(text);
            if let Some((span, label)) = related {
                diag = diag.related(span, label);
            }
        }
        diags.push(diag.help(notes.join("; ")));
    }
}

/// A sentence about one side, and the place that decided it.
pub fn explain_side(side: &Side, name: &str) -> (String, Option<(crate::source::Span, String)>) {
    let verdict = if side.allowed { "allows" } else { "denies" };
    match &side.reason {
        Reason::Rule {
            policy,
            rule_span,
            action,
            ..
        } => (
            format!(
                "{name}: policy `{policy}` {verdict} it (`{}` rule)",
                crate::check::policy::action_name(*action)
            ),
            Some((*rule_span, format!("{name}: decided here"))),
        ),
        Reason::Isolated { policies } => {
            let names: Vec<String> = policies.iter().map(|(n, _)| format!("`{n}`")).collect();
            (
                format!(
                    "{name}: isolated by {} and no rule allows it",
                    names.join(", ")
                ),
                policies
                    .first()
                    .map(|(_, span)| (*span, format!("{name}: isolated by this policy"))),
            )
        }
        Reason::NotSelected => (
            format!("{name}: no policy selects it, so it is allowed"),
            None,
        ),
        Reason::External => (
            format!("{name}: an address outside the pods has no policies"),
            None,
        ),
    }
}
