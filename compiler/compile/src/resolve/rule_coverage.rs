//! The L4 part of one rule as intervals: for each protocol the oracle has a transport for, the
//! ports (or ICMP types) the rule covers, each with whether an L7-free port rule covers it —
//! exactly the oracle's `port_matches`, precomputed once per rule instead of asked per port.

use super::port_function::PolicyProtocol;
use policyc_ir::universe::{Endpoint, Universe};
use policyc_ir::{Direction, PolicyRule, PortMatch, PortRule, PortSpec, Protocol};

/// One covered span `[lo, hi]` (inclusive) of one protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoveredSpan {
    pub lo: u32,
    pub hi: u32,
    /// The covering port rule carries no L7 rules (L7 wildcarding).
    pub l7_free: bool,
}

/// The protocols the oracle judges, in [`PolicyProtocol::ALL`] order.
pub const ORACLE_PROTOCOLS: [PolicyProtocol; 5] = [
    PolicyProtocol::Tcp,
    PolicyProtocol::Udp,
    PolicyProtocol::Sctp,
    PolicyProtocol::Icmp,
    PolicyProtocol::Icmpv6,
];

/// Per oracle protocol (index into [`ORACLE_PROTOCOLS`]), the spans one rule covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleCoverage {
    spans: [Vec<CoveredSpan>; 5],
}

const FULL: u32 = 65535;

impl RuleCoverage {
    /// The coverage of `rule` for `subject` in `direction`: named ports resolve as the oracle
    /// resolves them (the subject's own container ports on ingress, every endpoint's on egress).
    pub fn of(
        rule: &PolicyRule,
        direction: Direction,
        subject: &Endpoint,
        universe: &Universe,
    ) -> Self {
        let mut coverage = Self::default();
        for (slot, protocol) in ORACLE_PROTOCOLS.iter().enumerate() {
            let Some(protocol) = protocol.ir() else {
                continue;
            };
            coverage.spans[slot] = spans(rule, protocol, direction, subject, universe);
        }
        coverage
    }

    /// The spans of the protocol at `slot` of [`ORACLE_PROTOCOLS`].
    pub fn spans(&self, slot: usize) -> &[CoveredSpan] {
        self.spans.get(slot).map_or(&[], Vec::as_slice)
    }
}

fn whole(l7_free: bool) -> CoveredSpan {
    CoveredSpan {
        lo: 0,
        hi: FULL,
        l7_free,
    }
}

fn spans(
    rule: &PolicyRule,
    protocol: Protocol,
    direction: Direction,
    subject: &Endpoint,
    universe: &Universe,
) -> Vec<CoveredSpan> {
    let is_icmp = matches!(protocol, Protocol::Icmp | Protocol::Icmpv6);
    match &rule.ports {
        PortMatch::Any => vec![whole(true)],
        PortMatch::Icmps(icmps) if is_icmp => icmps
            .iter()
            .filter(|m| m.protocol() == protocol)
            .map(|m| {
                let lo = u32::from(m.icmp_type);
                // The resolver's ICMP domain ends at type 255: its last piece runs to 65535.
                let hi = if m.icmp_type == u8::MAX { FULL } else { lo };
                CoveredSpan {
                    lo,
                    hi,
                    l7_free: true,
                }
            })
            .collect(),
        PortMatch::Icmps(_) => Vec::new(),
        PortMatch::Ports(port_rules) => {
            let mut out = Vec::new();
            for pr in port_rules {
                out.extend(port_rule_spans(pr, protocol, direction, subject, universe));
            }
            // Egress named ports repeat across endpoints.
            out.sort_unstable_by_key(|s| (s.lo, s.hi, s.l7_free));
            out.dedup();
            out
        }
    }
}

/// The spans one port rule (`toPorts` item) covers for `protocol` (unsorted, may repeat):
/// named ports resolve as in [`RuleCoverage::of`]. The L7 tables read which port rule covers
/// which port from here (`crate::l7`).
pub fn port_rule_spans(
    pr: &PortRule,
    protocol: Protocol,
    direction: Direction,
    subject: &Endpoint,
    universe: &Universe,
) -> Vec<CoveredSpan> {
    let l7_free = pr.l7.is_none();
    if pr.ports.is_empty() {
        return vec![whole(l7_free)];
    }
    // Port entries only cover transports with ports.
    if matches!(protocol, Protocol::Icmp | Protocol::Icmpv6) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for pp in pr
        .ports
        .iter()
        .filter(|pp| pp.protocol.expand().contains(&protocol))
    {
        match &pp.port {
            PortSpec::Range(r) => out.push(CoveredSpan {
                lo: u32::from(r.lo()),
                hi: u32::from(r.hi()),
                l7_free,
            }),
            PortSpec::Named(name) => {
                let mut push = |endpoint: &Endpoint| {
                    if let Some(np) = endpoint.named_ports.get(name) {
                        if np.protocol == protocol {
                            out.push(CoveredSpan {
                                lo: u32::from(np.port),
                                hi: u32::from(np.port),
                                l7_free,
                            });
                        }
                    }
                };
                match direction {
                    Direction::Ingress => push(subject),
                    Direction::Egress => universe.endpoints().iter().for_each(push),
                }
            }
        }
    }
    out
}
