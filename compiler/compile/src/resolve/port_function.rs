//! Port functions: for one peer identity, direction and protocol, the verdict for every
//! destination port (or ICMP type) as sorted, disjoint intervals covering `0..=65535`, each with
//! the rules that decided it. Ranges stay ranges: nothing here is ever expanded per port.

use policyc_ir::{Protocol, RuleId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Index of an L7 policy (the set of L7 rules a redirect hands the connection to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct L7PolicyId(pub u32);

/// The verdict of one side (ingress or egress of one endpoint) for a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "l7_policy", rename_all = "snake_case")]
pub enum Verdict {
    Allow,
    /// An explicit deny rule matched.
    Deny,
    /// Allowed at L4, the L7 policy decides (not enforced by the datapath yet).
    RedirectL7(L7PolicyId),
    /// Allowed only after mutual authentication (not supported: dropped).
    AuthRequired,
    /// Nothing allows it in an enforced direction.
    DefaultDeny,
}

impl Verdict {
    /// Does the packet pass at L4?
    pub fn passes_l4(self) -> bool {
        matches!(self, Self::Allow | Self::RedirectL7(_))
    }

    pub fn kind_name(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
            Self::RedirectL7(_) => "redirect-l7",
            Self::AuthRequired => "auth-required",
            Self::DefaultDeny => "default-deny",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RedirectL7(id) => write!(f, "redirect-l7({})", id.0),
            other => f.write_str(other.kind_name()),
        }
    }
}

/// The protocols a port function is kept for. `Other` covers every protocol without its own
/// entry (only L3-only rules reach it); the datapath looks it up as protocol 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyProtocol {
    Tcp,
    Udp,
    Sctp,
    Icmp,
    Icmpv6,
    Other,
}

impl PolicyProtocol {
    pub const ALL: [PolicyProtocol; 6] = [
        Self::Tcp,
        Self::Udp,
        Self::Sctp,
        Self::Icmp,
        Self::Icmpv6,
        Self::Other,
    ];

    /// The protocol number the datapath keys on (0 for `Other`).
    pub fn number(self) -> u8 {
        match self {
            Self::Tcp => 6,
            Self::Udp => 17,
            Self::Sctp => 132,
            Self::Icmp => 1,
            Self::Icmpv6 => 58,
            Self::Other => 0,
        }
    }

    /// The IR protocol (`None` for `Other`).
    pub fn ir(self) -> Option<Protocol> {
        match self {
            Self::Tcp => Some(Protocol::Tcp),
            Self::Udp => Some(Protocol::Udp),
            Self::Sctp => Some(Protocol::Sctp),
            Self::Icmp => Some(Protocol::Icmp),
            Self::Icmpv6 => Some(Protocol::Icmpv6),
            Self::Other => None,
        }
    }

    /// The policy protocol a concrete IR protocol is judged under.
    pub fn of(protocol: Protocol) -> Self {
        match protocol {
            Protocol::Tcp => Self::Tcp,
            Protocol::Udp => Self::Udp,
            Protocol::Sctp => Self::Sctp,
            Protocol::Icmp => Self::Icmp,
            Protocol::Icmpv6 => Self::Icmpv6,
            Protocol::Any | Protocol::Vrrp | Protocol::Igmp => Self::Other,
        }
    }

    pub fn is_icmp(self) -> bool {
        matches!(self, Self::Icmp | Self::Icmpv6)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "TCP",
            Self::Udp => "UDP",
            Self::Sctp => "SCTP",
            Self::Icmp => "ICMP",
            Self::Icmpv6 => "ICMPv6",
            Self::Other => "other",
        }
    }
}

/// One interval `[lo, hi]` of a port function with its verdict and deciding rules.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PortInterval {
    pub lo: u16,
    pub hi: u16,
    pub verdict: Verdict,
    /// The rules that decided the verdict, sorted (empty for the default verdict).
    pub rules: Vec<RuleId>,
}

/// Sorted, disjoint intervals covering `0..=65535` exactly; adjacent intervals differ in verdict
/// or deciding rules (equal neighbours are merged on construction).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PortFunction {
    intervals: Vec<PortInterval>,
}

/// Why a list of intervals is not a port function.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortFunctionError {
    #[error("port function has no intervals")]
    Empty,
    #[error("interval {index} starts at {lo}, expected {expected}")]
    GapOrOverlap {
        index: usize,
        lo: u16,
        expected: u32,
    },
    #[error("interval {index} has hi {hi} below lo {lo}")]
    Inverted { index: usize, lo: u16, hi: u16 },
    #[error("port function ends at {hi}, expected 65535")]
    Short { hi: u16 },
}

impl PortFunction {
    /// One verdict for every port.
    pub fn constant(verdict: Verdict, rules: Vec<RuleId>) -> Self {
        Self {
            intervals: vec![PortInterval {
                lo: 0,
                hi: u16::MAX,
                verdict,
                rules,
            }],
        }
    }

    /// Validates coverage and merges equal neighbours.
    pub fn from_intervals(intervals: Vec<PortInterval>) -> Result<Self, PortFunctionError> {
        if intervals.is_empty() {
            return Err(PortFunctionError::Empty);
        }
        let mut expected: u32 = 0;
        let mut merged: Vec<PortInterval> = Vec::with_capacity(intervals.len());
        for (index, interval) in intervals.into_iter().enumerate() {
            if interval.hi < interval.lo {
                return Err(PortFunctionError::Inverted {
                    index,
                    lo: interval.lo,
                    hi: interval.hi,
                });
            }
            if u32::from(interval.lo) != expected {
                return Err(PortFunctionError::GapOrOverlap {
                    index,
                    lo: interval.lo,
                    expected,
                });
            }
            expected = u32::from(interval.hi) + 1;
            match merged.last_mut() {
                Some(last) if last.verdict == interval.verdict && last.rules == interval.rules => {
                    last.hi = interval.hi
                }
                _ => merged.push(interval),
            }
        }
        match merged.last() {
            Some(last) if last.hi == u16::MAX => Ok(Self { intervals: merged }),
            Some(last) => Err(PortFunctionError::Short { hi: last.hi }),
            None => Err(PortFunctionError::Empty),
        }
    }

    pub fn intervals(&self) -> &[PortInterval] {
        &self.intervals
    }

    /// The interval containing `port`.
    pub fn lookup(&self, port: u16) -> &PortInterval {
        let index = self.intervals.partition_point(|i| i.hi < port);
        // Coverage of 0..=65535 is an invariant of construction, so `index` is in bounds.
        &self.intervals[index.min(self.intervals.len() - 1)]
    }

    /// The same function with provenance dropped where it does not change behaviour:
    /// only the verdict and the first deciding rule (the one the datapath counts) are kept.
    pub fn datapath_view(&self) -> Vec<(u16, u16, Verdict, Option<RuleId>)> {
        let mut out: Vec<(u16, u16, Verdict, Option<RuleId>)> =
            Vec::with_capacity(self.intervals.len());
        for i in &self.intervals {
            let rule = i.rules.first().copied();
            match out.last_mut() {
                Some(last) if last.2 == i.verdict && last.3 == rule => last.1 = i.hi,
                _ => out.push((i.lo, i.hi, i.verdict, rule)),
            }
        }
        out
    }

    pub fn is_constant(&self) -> bool {
        self.intervals.len() == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    fn iv(lo: u16, hi: u16, verdict: Verdict, rules: &[u32]) -> PortInterval {
        PortInterval {
            lo,
            hi,
            verdict,
            rules: rules.iter().map(|r| RuleId(*r)).collect(),
        }
    }

    #[test]
    fn equal_neighbours_are_merged() {
        let f = PortFunction::from_intervals(vec![
            iv(0, 79, Verdict::DefaultDeny, &[]),
            iv(80, 80, Verdict::Allow, &[1]),
            iv(81, 90, Verdict::Allow, &[1]),
            iv(91, 65535, Verdict::DefaultDeny, &[]),
        ])
        .expect("valid");
        assert_eq!(f.intervals().len(), 3);
        assert_eq!(f.lookup(85).verdict, Verdict::Allow);
        assert_eq!(f.lookup(91).verdict, Verdict::DefaultDeny);
        assert_eq!(f.lookup(0).verdict, Verdict::DefaultDeny);
        assert_eq!(f.lookup(65535).verdict, Verdict::DefaultDeny);
    }

    #[test_case(vec![], PortFunctionError::Empty; "empty")]
    #[test_case(vec![iv(1, 65535, Verdict::Allow, &[])], PortFunctionError::GapOrOverlap { index: 0, lo: 1, expected: 0 }; "does not start at zero")]
    #[test_case(vec![iv(0, 10, Verdict::Allow, &[]), iv(10, 65535, Verdict::Deny, &[])], PortFunctionError::GapOrOverlap { index: 1, lo: 10, expected: 11 }; "overlap")]
    #[test_case(vec![iv(0, 10, Verdict::Allow, &[])], PortFunctionError::Short { hi: 10 }; "does not reach the end")]
    fn invalid_interval_lists_are_rejected(
        intervals: Vec<PortInterval>,
        expected: PortFunctionError,
    ) {
        assert_eq!(PortFunction::from_intervals(intervals), Err(expected));
    }
}
