//! Lowering of `expect`: an expected verdict for one connection.

use super::app::protocol_of;
use super::shape::Item;
use super::Lowerer;
use crate::diag::{codes, Diagnostic};
use crate::model::{EndpointRef, Expectation};
use crate::source::Spanned;

pub(crate) fn lower_expect(lx: &mut Lowerer<'_>, item: &Item) {
    let endpoint = |lx: &mut Lowerer<'_>, key: &str| -> Option<Spanned<EndpointRef>> {
        let value = item.prop_str(key)?;
        let parsed = match value.value.split_once('/') {
            Some((ns, name))
                if crate::lower::value::validate_dns_label(ns).is_ok()
                    && crate::lower::value::validate_dns_label(name).is_ok() =>
            {
                Some(EndpointRef::Workload {
                    namespace: ns.to_string(),
                    name: name.to_string(),
                })
            }
            _ => value.value.parse().ok().map(EndpointRef::Address),
        };
        match parsed {
            Some(e) => Some(Spanned::new(e, value.span)),
            None => {
                lx.error(
                    Diagnostic::new(
                        &codes::WRONG_VALUE_TYPE,
                        value.span,
                        format!("`{}` is neither `namespace/workload` nor an address", value.value),
                    )
                    .label("expected namespace/workload or an address")
                    .help("write a workload as \"store/web\", or an address outside the pods as \"10.0.0.5\""),
                );
                None
            }
        }
    };
    let from = endpoint(lx, "from");
    let to = endpoint(lx, "to");
    if !item.complete {
        return;
    }
    let (Some(verdict), Some(cluster), Some(from), Some(to), Some(port)) = (
        item.arg_str(0),
        item.prop_str("cluster"),
        from,
        to,
        item.prop("port")
            .and_then(|p| Some(Spanned::new(p.value.as_port()?, p.span))),
    ) else {
        return;
    };
    lx.model.expectations.push(Expectation {
        span: item.name_span,
        allow: Spanned::new(verdict.value == "allow", verdict.span),
        cluster,
        from,
        to,
        port,
        protocol: protocol_of(item),
    });
}
