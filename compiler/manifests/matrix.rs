//! The connectivity matrix of a manifest folder: its workloads and, when some
//! NetworkPolicy has an `ipBlock`, the external address ranges (`ranges`), decided
//! by the reachability engine.
//!
//! Cells between workloads are `reach::Engine::cell`. A cell from a workload to an
//! external range checks the given port, or else every port: the port numbers are
//! cut at every port and `endPort` boundary of the egress rules, per protocol, and
//! one port of each piece is decided. A cell from a range to a workload checks the
//! ports the workload declares (or the given one). Between two ranges there is
//! nothing to decide (`Cell::NoPorts`).

use std::collections::BTreeSet;

use crate::model::{Direction, Model, PortRef, Protocol, Workload};
use crate::reach::{Cell, Endpoint, Engine};

use super::ranges::{self, Block, Range};

/// One row and column of the matrix.
#[derive(Debug, Clone)]
pub enum Party<'m> {
    Workload(&'m Workload),
    External(Range),
}

impl Party<'_> {
    /// `namespace/name`, or the range's label.
    pub fn label(&self) -> String {
        match self {
            Party::Workload(w) => format!("{}/{}", w.namespace.value, w.name.value),
            Party::External(r) => r.label.clone(),
        }
    }
}

/// Rows and columns (the same parties) and the cells, `cells[from][to]`.
#[derive(Debug)]
pub struct Matrix<'m> {
    pub parties: Vec<Party<'m>>,
    pub cells: Vec<Vec<Cell>>,
}

/// Every ipBlock of the model's policies.
pub fn blocks(model: &Model) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    for rule in model.policies.iter().flat_map(|p| &p.rules) {
        for peer in &rule.peers {
            if let Some(cidr) = &peer.cidr {
                let b = Block {
                    cidr: cidr.value,
                    except: peer.except.iter().map(|e| e.value).collect(),
                };
                if !out.contains(&b) {
                    out.push(b);
                }
            }
        }
    }
    out
}

/// One port of every piece of the port numbers that the egress rules' ports cut,
/// for each protocol.
fn egress_ports(model: &Model) -> Vec<(u16, Protocol)> {
    let mut cuts: BTreeSet<(Protocol, u16)> = BTreeSet::new();
    for protocol in [Protocol::Tcp, Protocol::Udp, Protocol::Sctp] {
        cuts.insert((protocol, 1));
    }
    for rule in model
        .policies
        .iter()
        .flat_map(|p| &p.rules)
        .filter(|r| r.direction.value == Direction::Egress)
    {
        for p in &rule.ports {
            if let PortRef::Number(n) = p.port.value {
                cuts.insert((p.protocol.value, n));
                let last = p.end.as_ref().map_or(n, |e| e.value);
                if let Some(after) = last.checked_add(1) {
                    cuts.insert((p.protocol.value, after));
                }
            }
        }
    }
    cuts.into_iter()
        .map(|(proto, port)| (port, proto))
        .collect()
}

/// The matrix of the workloads (of `namespace`, when given), sorted by namespace
/// and name, then the external ranges; on `port`, or on every port.
pub fn matrix<'m>(
    engine: &Engine<'m>,
    model: &'m Model,
    namespace: Option<&str>,
    port: Option<(u16, Protocol)>,
) -> Matrix<'m> {
    let workloads = engine.workloads_by_name(namespace);
    let mut parties: Vec<Party> = workloads.into_iter().map(Party::Workload).collect();
    parties.extend(
        ranges::split(&blocks(model))
            .into_iter()
            .map(Party::External),
    );
    let to_external: Vec<(u16, Protocol)> = match port {
        Some(p) => vec![p],
        None => egress_ports(model),
    };
    let count = |checks: &[(u16, Protocol)], src: Endpoint<'m>, dst: Endpoint<'m>| {
        if checks.is_empty() {
            return Cell::NoPorts;
        }
        let allowed = checks
            .iter()
            .filter(|(p, proto)| engine.decide(src, dst, *p, *proto).allowed)
            .count();
        match allowed {
            0 => Cell::Deny,
            n if n == checks.len() => Cell::Allow,
            _ => Cell::Partial,
        }
    };
    let cells = parties
        .iter()
        .map(|from| {
            parties
                .iter()
                .map(|to| match (from, to) {
                    (Party::Workload(s), Party::Workload(d)) => engine.cell(s, d, port),
                    (Party::Workload(s), Party::External(r)) => count(
                        &to_external,
                        Endpoint::Pod(s),
                        Endpoint::External(r.representative),
                    ),
                    (Party::External(r), Party::Workload(d)) => {
                        let checks: Vec<(u16, Protocol)> = match port {
                            Some(p) => vec![p],
                            None => d
                                .ports
                                .iter()
                                .map(|p| (p.number.value, p.protocol.value))
                                .collect(),
                        };
                        count(
                            &checks,
                            Endpoint::External(r.representative),
                            Endpoint::Pod(d),
                        )
                    }
                    (Party::External(_), Party::External(_)) => Cell::NoPorts,
                })
                .collect()
        })
        .collect();
    Matrix { parties, cells }
}
