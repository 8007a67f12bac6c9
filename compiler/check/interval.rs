//! Address intervals and the overlap sweep every range check uses.
//!
//! Checks collect `Interval`s (inclusive IPv4 ranges with a span and a description)
//! and call `overlaps`, which sorts them and sweeps once: O(n log n), never pairwise,
//! because a network can carry thousands of services.
//!
//! Example: [10.0.0.0–10.0.0.255 "node pool", 10.0.0.128 "gateway", 10.0.1.0–10.0.1.9
//! "VIP pool"] sorts by start; the sweep keeps the interval reaching furthest
//! (the node pool) and reports (gateway, node pool) because 10.0.0.128 ≤ 10.0.0.255.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

use crate::source::Span;

#[derive(Debug, Clone)]
pub struct Interval {
    pub lo: u32,
    pub hi: u32,
    pub span: Span,
    /// "node IP pool of network `corp`".
    pub what: String,
    /// Which group the interval belongs to (a network index), for sweeps that only
    /// report overlaps between groups.
    pub group: usize,
    /// An address no pool may contain (a prefix's network or broadcast address).
    pub reserved: bool,
}

impl Interval {
    pub fn new(lo: Ipv4Addr, hi: Ipv4Addr, span: Span, what: String, group: usize) -> Interval {
        Interval {
            lo: u32::from(lo),
            hi: u32::from(hi),
            span,
            what,
            group,
            reserved: false,
        }
    }

    /// The interval of an IPv4 address; `None` for IPv6.
    pub fn addr(ip: IpAddr, span: Span, what: String, group: usize) -> Option<Interval> {
        match ip {
            IpAddr::V4(v4) => Some(Interval::new(v4, v4, span, what, group)),
            IpAddr::V6(_) => None,
        }
    }

    /// The interval of an IPv4 prefix; `None` for IPv6.
    pub fn net(net: IpNet, span: Span, what: String, group: usize) -> Option<Interval> {
        match net {
            IpNet::V4(v4) => Some(Interval::new(
                v4.network(),
                v4.broadcast(),
                span,
                what,
                group,
            )),
            IpNet::V6(_) => None,
        }
    }

    /// The interval of an inclusive IPv4 range; `None` for IPv6 or a reversed range.
    pub fn range(
        start: IpAddr,
        end: IpAddr,
        span: Span,
        what: String,
        group: usize,
    ) -> Option<Interval> {
        match (start, end) {
            (IpAddr::V4(s), IpAddr::V4(e)) if s <= e => {
                Some(Interval::new(s, e, span, what, group))
            }
            _ => None,
        }
    }

    /// Number of addresses in the interval.
    pub fn size(&self) -> u64 {
        u64::from(self.hi) - u64::from(self.lo) + 1
    }

    pub fn lo_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.lo)
    }

    pub fn hi_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.hi)
    }

    /// "10.0.0.1" or "10.0.0.1–10.0.0.9".
    pub fn describe_addresses(&self) -> String {
        if self.lo == self.hi {
            self.lo_addr().to_string()
        } else {
            format!("{}–{}", self.lo_addr(), self.hi_addr())
        }
    }
}

/// Every overlap found by one sorted sweep, as `(later, earlier)` index pairs into
/// `intervals`: `later` overlaps `earlier`, the interval seen so far that reaches
/// furthest. Each interval is reported at most once. With `between_groups_only`,
/// intervals of the same group are never reported against each other.
pub fn overlaps(intervals: &[Interval], between_groups_only: bool) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..intervals.len()).collect();
    order.sort_by_key(|&i| {
        intervals
            .get(i)
            .map(|iv| (iv.lo, std::cmp::Reverse(iv.hi), iv.span))
    });
    let mut found = Vec::new();
    // Per group when sweeping between groups: the furthest-reaching interval seen of
    // any *other* group is what matters, so keep the two best of different groups.
    let mut best: Option<usize> = None;
    let mut second: Option<usize> = None;
    for &i in &order {
        let Some(cur) = intervals.get(i) else {
            continue;
        };
        let candidate = [best, second].into_iter().flatten().find(|&j| {
            intervals.get(j).is_some_and(|prev| {
                prev.hi >= cur.lo && (!between_groups_only || prev.group != cur.group)
            })
        });
        if let Some(j) = candidate {
            found.push((i, j));
        }
        // Update the two furthest-reaching intervals, of different groups.
        let reach = |k: Option<usize>| {
            k.and_then(|k| intervals.get(k))
                .map_or(0i64, |iv| i64::from(iv.hi) + 1)
        };
        let cur_reach = i64::from(cur.hi) + 1;
        let group_of = |k: Option<usize>| k.and_then(|k| intervals.get(k)).map(|iv| iv.group);
        if cur_reach > reach(best) {
            if group_of(best) != Some(cur.group) {
                second = best;
            }
            best = Some(i);
        } else if group_of(best) != Some(cur.group) && cur_reach > reach(second) {
            second = Some(i);
        }
    }
    found
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::source::FileId;

    fn iv(lo: u32, hi: u32, group: usize) -> Interval {
        Interval {
            lo,
            hi,
            span: Span::new(FileId(0), lo as usize, hi as usize),
            what: format!("{lo}-{hi}"),
            group,
            reserved: false,
        }
    }

    #[test]
    fn finds_overlaps_in_one_sweep() {
        let ivs = vec![
            iv(0, 255, 0),
            iv(128, 128, 0),
            iv(256, 300, 0),
            iv(300, 310, 0),
        ];
        let found = overlaps(&ivs, false);
        assert_eq!(found, vec![(1, 0), (3, 2)]);
    }

    #[test]
    fn between_groups_ignores_same_group() {
        let ivs = vec![iv(0, 100, 0), iv(50, 60, 0), iv(90, 95, 1)];
        assert_eq!(overlaps(&ivs, true), vec![(2, 0)]);
        // A long interval of group 0 hides nothing from group 1 behind a group-0 one.
        let ivs = vec![iv(0, 1000, 1), iv(10, 20, 0), iv(30, 40, 0)];
        assert_eq!(overlaps(&ivs, true), vec![(1, 0), (2, 0)]);
    }

    #[test]
    fn matches_a_pairwise_check() {
        // Compare against the obvious quadratic check on pseudo-random intervals:
        // every interval that overlaps some earlier-sorted one is reported.
        let mut seed = 0x1234_5678_u64;
        for _ in 0..200 {
            let mut ivs = Vec::new();
            for _ in 0..12 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let lo = (seed % 200) as u32;
                let len = ((seed >> 20) % 30) as u32;
                ivs.push(iv(lo, lo + len, (seed >> 40) as usize % 3));
            }
            for between in [false, true] {
                let found = overlaps(&ivs, between);
                let mut order: Vec<usize> = (0..ivs.len()).collect();
                order.sort_by_key(|&i| (ivs[i].lo, std::cmp::Reverse(ivs[i].hi), ivs[i].span));
                for (pos, &i) in order.iter().enumerate() {
                    let expected = order[..pos].iter().any(|&j| {
                        ivs[j].hi >= ivs[i].lo && (!between || ivs[j].group != ivs[i].group)
                    });
                    let reported = found.iter().any(|&(a, _)| a == i);
                    assert_eq!(expected, reported, "{ivs:?} between={between} i={i}");
                }
                for &(a, b) in &found {
                    assert!(ivs[b].lo <= ivs[a].lo && ivs[b].hi >= ivs[a].lo);
                }
            }
        }
    }
}
