//! External address ranges: the address space (IPv4 and IPv6 separately) cut at
//! every boundary of every `ipBlock` `cidr` and `except`, and the pieces grouped by
//! which ipBlocks match them. Every policy treats all addresses of one group alike,
//! so one address per group (its representative) decides for all of them, and the
//! groups are the fewest ranges with that property.
//!
//! Example: the blocks `0.0.0.0/0` and `10.0.0.0/8 except 10.1.0.0/16` cut IPv4
//! into four pieces; `10.0.0.0/8` minus `10.1.0.0/16` matches both blocks, the rest
//! (below 10/8, 10.1/16, above 10/8) matches only `0.0.0.0/0`, so there are two
//! ranges: `10.0.0.0/8 except 10.1.0.0/16` and `0.0.0.0/0 except 10.0.0.0/8 +
//! 10.1.0.0/16`. Labels are unions (`+`) of mentioned nets, each possibly `except`
//! some of the nets inside it (CIDRs are nested or disjoint, so they form a tree).

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// An ipBlock: a CIDR and its exceptions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Block {
    pub cidr: IpNet,
    pub except: Vec<IpNet>,
}

/// A set of addresses every ipBlock treats alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// `10.0.0.0/8 except 10.1.0.0/16`, or `192.168.0.0/24, 192.168.2.0/24`.
    pub label: String,
    /// The first address of the range: stands for all of them.
    pub representative: IpAddr,
    /// The inclusive intervals of the range, in address order.
    pub intervals: Vec<(IpAddr, IpAddr)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

impl Family {
    fn bits(self) -> u32 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }
    fn max(self) -> u128 {
        match self {
            Family::V4 => u128::from(u32::MAX),
            Family::V6 => u128::MAX,
        }
    }
    fn of(net: &IpNet) -> Family {
        match net {
            IpNet::V4(_) => Family::V4,
            IpNet::V6(_) => Family::V6,
        }
    }
    fn addr(self, x: u128) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(Ipv4Addr::from(u32::try_from(x).unwrap_or(u32::MAX))),
            Family::V6 => IpAddr::V6(Ipv6Addr::from(x)),
        }
    }
    fn net(self, start: u128, prefix: u32) -> String {
        format!("{}/{prefix}", self.addr(start))
    }
}

fn to_u128(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    }
}

/// First and last address of a net, as numbers.
fn bounds(net: &IpNet) -> (u128, u128) {
    (to_u128(net.network()), to_u128(net.broadcast()))
}

/// Splits the address space of every family some block uses.
pub fn split(blocks: &[Block]) -> Vec<Range> {
    let mut out = Vec::new();
    for family in [Family::V4, Family::V6] {
        let mine: Vec<&Block> = blocks
            .iter()
            .filter(|b| Family::of(&b.cidr) == family)
            .collect();
        if mine.is_empty() {
            continue;
        }
        out.extend(split_family(&mine, family));
    }
    out
}

fn split_family(blocks: &[&Block], family: Family) -> Vec<Range> {
    let max = family.max();
    let mut points: BTreeSet<u128> = BTreeSet::from([0]);
    let mut nets: BTreeSet<(u128, u128)> = BTreeSet::new();
    for b in blocks {
        for net in std::iter::once(&b.cidr).chain(b.except.iter()) {
            if Family::of(net) != family {
                continue;
            }
            let (s, e) = bounds(net);
            nets.insert((s, e));
            points.insert(s);
            if e < max {
                points.insert(e + 1);
            }
        }
    }
    let starts: Vec<u128> = points.into_iter().collect();
    let matches = |b: &Block, x: u128| {
        let inside = |n: &IpNet| {
            let (s, e) = bounds(n);
            Family::of(n) == family && s <= x && x <= e
        };
        inside(&b.cidr) && !b.except.iter().any(inside)
    };
    // Groups by signature, in order of their first address.
    let mut order: Vec<Vec<bool>> = Vec::new();
    let mut groups: HashMap<Vec<bool>, Vec<(u128, u128)>> = HashMap::new();
    for (i, s) in starts.iter().enumerate() {
        let e = starts.get(i + 1).map_or(max, |n| n - 1);
        let signature: Vec<bool> = blocks.iter().map(|b| matches(b, *s)).collect();
        let entry = groups.entry(signature.clone()).or_default();
        if entry.is_empty() {
            order.push(signature);
        }
        // Adjacent pieces of one group merge.
        match entry.last_mut() {
            Some(last) if last.1.checked_add(1) == Some(*s) => last.1 = e,
            _ => entry.push((*s, e)),
        }
    }
    let tree = Tree::new(nets, max, &groups, &order);
    order
        .iter()
        .enumerate()
        .filter_map(|(g, sig)| groups.get(sig).map(|iv| (g, iv)))
        .map(|(g, intervals)| Range {
            label: tree.terms(0, g, family).join(" + "),
            representative: family.addr(intervals.first().map_or(0, |i| i.0)),
            intervals: intervals
                .iter()
                .map(|(s, e)| (family.addr(*s), family.addr(*e)))
                .collect(),
        })
        .collect()
}

/// The mentioned nets as a tree (CIDRs are nested or disjoint), the whole space at
/// the root, and for each net the group of its own part (what its children leave).
struct Tree {
    /// (start, end) per node; node 0 is the whole space.
    nets: Vec<(u128, u128)>,
    children: Vec<Vec<usize>>,
    /// The group of the node's own part; `None` when its children cover it.
    own: Vec<Option<usize>>,
    /// Every group that has addresses in the node's subtree.
    within: Vec<BTreeSet<usize>>,
}

impl Tree {
    fn new(
        nets: BTreeSet<(u128, u128)>,
        max: u128,
        groups: &HashMap<Vec<bool>, Vec<(u128, u128)>>,
        order: &[Vec<bool>],
    ) -> Tree {
        let mut list: Vec<(u128, u128)> = vec![(0, max)];
        let mut sorted: Vec<(u128, u128)> = nets.into_iter().filter(|n| *n != (0, max)).collect();
        // Parents before children: by start, then larger first.
        sorted.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        list.extend(sorted);
        let n = list.len();
        let mut children = vec![Vec::new(); n];
        let mut stack: Vec<usize> = vec![0];
        for i in 1..n {
            let Some(&(s, e)) = list.get(i) else { continue };
            while let Some(&top) = stack.last() {
                match list.get(top) {
                    Some(&(ts, te)) if ts <= s && e <= te => break,
                    _ => {
                        stack.pop();
                    }
                }
            }
            if let Some(c) = stack.last().and_then(|t| children.get_mut(*t)) {
                c.push(i);
            }
            stack.push(i);
        }
        // The deepest node holding each piece: its own part.
        let mut own = vec![None; n];
        for (g, sig) in order.iter().enumerate() {
            for (s, _) in groups.get(sig).into_iter().flatten() {
                let deepest = list
                    .iter()
                    .enumerate()
                    .filter(|(_, (ns, ne))| ns <= s && s <= ne)
                    .min_by_key(|(_, (ns, ne))| ne - ns)
                    .map(|(i, _)| i);
                if let Some(slot) = deepest.and_then(|d| own.get_mut(d)) {
                    *slot = Some(g);
                }
            }
        }
        let mut within = vec![BTreeSet::new(); n];
        // Children come after their parents, so going backwards fills subtrees first.
        for i in (0..n).rev() {
            let mut set: BTreeSet<usize> = own.get(i).copied().flatten().into_iter().collect();
            for c in children.get(i).into_iter().flatten() {
                if let Some(w) = within.get(*c) {
                    set.extend(w.iter().copied());
                }
            }
            if let Some(slot) = within.get_mut(i) {
                *slot = set;
            }
        }
        Tree {
            nets: list,
            children,
            own,
            within,
        }
    }

    fn only(&self, node: usize, g: usize) -> bool {
        self.within
            .get(node)
            .is_some_and(|w| w.len() == 1 && w.contains(&g))
    }

    fn show(&self, node: usize, family: Family) -> String {
        let (s, e) = self.nets.get(node).copied().unwrap_or((0, 0));
        let prefix = family.bits()
            - (e - s)
                .checked_add(1)
                .map_or(family.bits(), |size| size.trailing_zeros());
        family.net(s, prefix)
    }

    /// Terms whose union is group `g` inside `node`: a net, or a net `except` some
    /// of its children (whose own parts in `g` follow as terms of their own).
    fn terms(&self, node: usize, g: usize, family: Family) -> Vec<String> {
        if !self.within.get(node).is_some_and(|w| w.contains(&g)) {
            return Vec::new();
        }
        if self.only(node, g) {
            return vec![self.show(node, family)];
        }
        let kids = self.children.get(node).map(Vec::as_slice).unwrap_or(&[]);
        let mut out = Vec::new();
        if self.own.get(node).copied().flatten() == Some(g) {
            let except: Vec<String> = kids
                .iter()
                .filter(|c| !self.only(**c, g))
                .map(|c| self.show(*c, family))
                .collect();
            out.push(format!(
                "{} except {}",
                self.show(node, family),
                except.join(", ")
            ));
        }
        for c in kids {
            if !(self.own.get(node).copied().flatten() == Some(g) && self.only(*c, g)) {
                out.extend(self.terms(*c, g, family));
            }
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn block(cidr: &str, except: &[&str]) -> Block {
        Block {
            cidr: cidr.parse().unwrap(),
            except: except.iter().map(|e| e.parse().unwrap()).collect(),
        }
    }

    fn labels(blocks: &[Block]) -> Vec<String> {
        split(blocks).into_iter().map(|r| r.label).collect()
    }

    #[test]
    fn one_block_with_an_exception() {
        assert_eq!(
            labels(&[block("10.0.0.0/8", &["10.1.0.0/16"])]),
            vec![
                "0.0.0.0/0 except 10.0.0.0/8 + 10.1.0.0/16",
                "10.0.0.0/8 except 10.1.0.0/16",
            ]
        );
        let r = split(&[block("10.0.0.0/8", &["10.1.0.0/16"])]);
        assert_eq!(r[1].representative, "10.0.0.0".parse::<IpAddr>().unwrap());
        assert_eq!(r[0].intervals.len(), 3);
    }

    #[test]
    fn everything_block_groups_the_rest() {
        // 10.1/16 and the world outside 10/8 match only 0.0.0.0/0: one group.
        let got = labels(&[
            block("0.0.0.0/0", &[]),
            block("10.0.0.0/8", &["10.1.0.0/16"]),
        ]);
        assert_eq!(
            got,
            vec![
                "0.0.0.0/0 except 10.0.0.0/8 + 10.1.0.0/16",
                "10.0.0.0/8 except 10.1.0.0/16"
            ]
        );
    }

    #[test]
    fn adjacent_blocks_stay_apart_and_identical_ones_merge() {
        let got = labels(&[
            block("192.168.0.0/24", &[]),
            block("192.168.1.0/24", &[]),
            block("192.168.0.0/24", &[]),
        ]);
        assert_eq!(
            got,
            vec![
                "0.0.0.0/0 except 192.168.0.0/24, 192.168.1.0/24",
                "192.168.0.0/24",
                "192.168.1.0/24"
            ]
        );
    }

    #[test]
    fn overlapping_blocks() {
        let got = labels(&[block("10.0.0.0/8", &[]), block("10.0.0.0/9", &[])]);
        assert_eq!(
            got,
            vec![
                "0.0.0.0/0 except 10.0.0.0/8",
                "10.0.0.0/9",
                "10.0.0.0/8 except 10.0.0.0/9"
            ]
        );
    }

    #[test]
    fn edges_of_the_space() {
        let got = labels(&[block("0.0.0.0/8", &[]), block("255.0.0.0/8", &[])]);
        assert_eq!(
            got,
            vec![
                "0.0.0.0/8",
                "0.0.0.0/0 except 0.0.0.0/8, 255.0.0.0/8",
                "255.0.0.0/8"
            ]
        );
        let got = labels(&[block("255.255.255.255/32", &[])]);
        assert_eq!(
            got,
            vec!["0.0.0.0/0 except 255.255.255.255/32", "255.255.255.255/32"]
        );
    }

    #[test]
    fn ipv6_is_split_apart_from_ipv4() {
        let got = labels(&[
            block("10.0.0.0/8", &[]),
            block("fd00::/8", &["fd00:1::/32"]),
            block("::/0", &[]),
        ]);
        assert_eq!(
            got,
            vec![
                "0.0.0.0/0 except 10.0.0.0/8",
                "10.0.0.0/8",
                "::/0 except fd00::/8 + fd00:1::/32",
                "fd00::/8 except fd00:1::/32",
            ]
        );
        let top = split(&[block("ffff::/16", &[])]);
        assert_eq!(top.len(), 2);
        assert_eq!(
            top[1].intervals,
            vec![(
                "ffff::".parse().unwrap(),
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap()
            )]
        );
    }

    #[test]
    fn no_blocks_no_ranges() {
        assert!(split(&[]).is_empty());
    }
}
