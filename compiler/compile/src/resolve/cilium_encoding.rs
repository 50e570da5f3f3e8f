//! What Cilium's per-endpoint policy map would need for the same policy: one LPM key per
//! (peer identity or wildcard 0, direction, protocol, masked-port prefix), ranges split into
//! masked ports exactly as `PortRangeToMaskedPorts` does (cilium-semantics.md §3.1–3.2). This is
//! the yardstick the build report compares our layout against.
//!
//! toFQDNs: Cilium's keys for a toFQDNs selector exist only once an address has been learned
//! for it (the address's CIDR identity, selected by the selector). The count assumes ONE
//! learned address per selector — the minimum for the policy to allow anything through it —
//! and keys that address's identity under the FQDN class's pseudo-identity number
//! (`NumericIdentity::fqdn_class`), one distinct identity per selector
//! (`crate::resolve::fqdn`). [`CiliumEncoding::learned_address_entries`] counts those keys.

use crate::fast_hash::FxHashSet;
use policyc_ir::{Direction, NumericIdentity};

/// One masked port of Cilium's LPM key: `port` with its low `16 - prefix_bits` bits wildcarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MaskedPort {
    pub port: u16,
    /// Number of significant leading bits (0 = any port, 16 = exactly `port`).
    pub prefix_bits: u8,
}

impl MaskedPort {
    fn with_wildcard_bits(port: u16, wildcard_bits: u32) -> Self {
        let mask = if wildcard_bits >= 16 {
            0
        } else {
            u16::MAX << wildcard_bits
        };
        Self {
            port: port & mask,
            prefix_bits: (16 - wildcard_bits.min(16)) as u8,
        }
    }

    /// First and last port this masked port covers.
    pub fn bounds(self) -> (u16, u16) {
        let wildcard = 16 - u32::from(self.prefix_bits);
        let span = if wildcard >= 16 {
            u16::MAX
        } else {
            (1u16 << wildcard) - 1
        };
        (self.port, self.port | span)
    }
}

/// Splits `[lo, hi]` into masked ports the way Cilium's `PortRangeToMaskedPorts` does:
/// `0-0`/`0-65535` is the wildcard, `hi <= lo` is the single port `lo`, otherwise the minimal
/// prefix cover approached from both ends towards the highest differing bit. Sorted by port.
pub fn masked_ports(lo: u16, hi: u16) -> Vec<MaskedPort> {
    if lo == 0 && (hi == 0 || hi == u16::MAX) {
        return vec![MaskedPort {
            port: 0,
            prefix_bits: 0,
        }];
    }
    if hi <= lo {
        return vec![MaskedPort {
            port: lo,
            prefix_bits: 16,
        }];
    }
    let common_bits = (lo ^ hi).leading_zeros();
    let tail_mask = u16::MAX >> common_bits;
    if lo & tail_mask == 0 && !hi & tail_mask == 0 {
        return vec![MaskedPort::with_wildcard_bits(lo, 16 - common_bits)];
    }
    let middle_bit = 15 - common_bits;
    let middle = 1u16 << middle_bit;
    let mut ports = Vec::new();

    let mut bit = (lo | middle).trailing_zeros();
    ports.push(MaskedPort::with_wildcard_bits(lo, bit));
    bit += 1;
    while bit < middle_bit {
        if lo & (1 << bit) == 0 {
            ports.push(MaskedPort::with_wildcard_bits(
                lo.wrapping_add(1 << bit),
                bit,
            ));
        }
        bit += 1;
    }

    let mut bit = (!hi | middle).trailing_zeros();
    ports.push(MaskedPort::with_wildcard_bits(hi, bit));
    bit += 1;
    while bit < middle_bit {
        if hi & (1 << bit) != 0 {
            ports.push(MaskedPort::with_wildcard_bits(
                hi.wrapping_sub(1 << bit),
                bit,
            ));
        }
        bit += 1;
    }
    ports.sort();
    ports
}

/// The L4 part of one Cilium policy-map key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CiliumL4 {
    /// Protocol 0: L3-only rule (all protocols, all ports).
    AnyProtocol,
    /// A protocol with all ports (port 0, mask 0).
    Protocol(u8),
    /// A protocol and a masked destination port (or ICMP type, full mask).
    Port(u8, MaskedPort),
}

/// One key of Cilium's per-endpoint policy map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CiliumKey {
    /// Remote identity; 0 is Cilium's "any identity" (L4-only rules). An FQDN-class
    /// pseudo-identity stands for the CIDR identity of one address learned for that selector.
    pub identity: u32,
    pub direction: Direction,
    pub l4: CiliumL4,
}

/// What a rule puts into the map for one protocol: every port, a port range, or ICMP types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiliumPortScope {
    AllProtocols,
    Range { protocol: u8, lo: u16, hi: u16 },
    IcmpType { protocol: u8, icmp_type: u8 },
}

impl CiliumPortScope {
    /// The L4 key parts this scope expands to (ranges split into masked ports).
    pub fn l4_keys(self) -> Vec<CiliumL4> {
        match self {
            Self::AllProtocols => vec![CiliumL4::AnyProtocol],
            Self::IcmpType {
                protocol,
                icmp_type,
            } => {
                vec![CiliumL4::Port(
                    protocol,
                    MaskedPort {
                        port: u16::from(icmp_type),
                        prefix_bits: 16,
                    },
                )]
            }
            Self::Range { protocol, lo, hi } => masked_ports(lo, hi)
                .into_iter()
                .map(|m| {
                    if m.prefix_bits == 0 {
                        CiliumL4::Protocol(protocol)
                    } else {
                        CiliumL4::Port(protocol, m)
                    }
                })
                .collect(),
        }
    }
}

/// Collects the distinct keys Cilium would insert for one endpoint (both directions).
/// A hash set: a resolution adds a key per matched identity and rule item (profiled: a sorted
/// set's inserts were 8 % of a T3 build); [`CiliumEncoding::keys`] and `Debug` sort them.
#[derive(Default, Clone)]
pub struct CiliumEncoding {
    keys: FxHashSet<CiliumKey>,
}

impl std::fmt::Debug for CiliumEncoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CiliumEncoding")
            .field("keys", &self.sorted())
            .finish()
    }
}

/// Bytes per entry of `cilium_policy_v2`: 12-byte key (LPM prefixlen + 8 data) + 12-byte value.
pub const CILIUM_POLICY_ENTRY_BYTES: usize = 24;

impl CiliumEncoding {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the keys of one rule item for one peer: `peer = None` is the L4-only wildcard (id 0).
    pub fn add(
        &mut self,
        peer: Option<NumericIdentity>,
        direction: Direction,
        scope: CiliumPortScope,
    ) {
        let identity = peer.map_or(0, |p| p.0);
        for l4 in scope.l4_keys() {
            self.keys.insert(CiliumKey {
                identity,
                direction,
                l4,
            });
        }
    }

    pub fn entries(&self) -> usize {
        self.keys.len()
    }

    pub fn entries_in(&self, direction: Direction) -> usize {
        self.keys
            .iter()
            .filter(|k| k.direction == direction)
            .count()
    }

    /// Keys that exist only after one address per toFQDNs selector has been learned (keyed by
    /// FQDN-class pseudo-identities).
    pub fn learned_address_entries(&self) -> usize {
        self.keys
            .iter()
            .filter(|k| NumericIdentity(k.identity).fqdn_class_bit().is_some())
            .count()
    }

    pub fn bytes(&self) -> usize {
        self.entries() * CILIUM_POLICY_ENTRY_BYTES
    }

    fn sorted(&self) -> Vec<&CiliumKey> {
        let mut keys: Vec<&CiliumKey> = self.keys.iter().collect();
        keys.sort_unstable();
        keys
    }

    /// The keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &CiliumKey> {
        self.sorted().into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    #[test_case(1, 65535, 16; "one to max is sixteen prefixes")]
    #[test_case(1, 65534, 30; "one to max minus one is thirty prefixes")]
    #[test_case(1024, 65535, 6; "unprivileged ports are six prefixes")]
    #[test_case(10000, 20000, 11; "ten to twenty thousand")]
    #[test_case(1, 1023, 10; "privileged ports without zero are ten prefixes")]
    #[test_case(0, 1023, 1; "aligned power of two is one prefix")]
    #[test_case(0, 65535, 1; "all ports is the wildcard")]
    #[test_case(0, 0, 1; "port zero is the wildcard")]
    #[test_case(80, 80, 1; "single port")]
    #[test_case(90, 80, 1; "end below start is the start port")]
    #[test_case(16, 31, 1; "aligned block")]
    fn masked_port_counts_match_cilium(lo: u16, hi: u16, expected: usize) {
        assert_eq!(masked_ports(lo, hi).len(), expected);
    }

    #[test_case(1, 65535)]
    #[test_case(1, 65534)]
    #[test_case(10000, 20000)]
    #[test_case(3, 4)]
    #[test_case(8079, 8081)]
    #[test_case(32767, 32768)]
    fn masked_ports_tile_the_range_exactly(lo: u16, hi: u16) {
        let mut next = u32::from(lo);
        for m in masked_ports(lo, hi) {
            let (first, last) = m.bounds();
            assert_eq!(u32::from(first), next, "{m:?} leaves a gap or overlaps");
            next = u32::from(last) + 1;
        }
        assert_eq!(next, u32::from(hi) + 1);
    }

    #[test]
    fn l3_only_rule_is_one_protocol_zero_key_per_identity() {
        let mut enc = CiliumEncoding::new();
        enc.add(
            Some(NumericIdentity(300)),
            Direction::Ingress,
            CiliumPortScope::AllProtocols,
        );
        enc.add(
            Some(NumericIdentity(301)),
            Direction::Ingress,
            CiliumPortScope::AllProtocols,
        );
        enc.add(
            Some(NumericIdentity(300)),
            Direction::Ingress,
            CiliumPortScope::AllProtocols,
        );
        assert_eq!(enc.entries(), 2);
        assert!(enc.keys().all(|k| k.l4 == CiliumL4::AnyProtocol));
    }

    #[test]
    fn range_keys_multiply_with_identities_and_directions() {
        let mut enc = CiliumEncoding::new();
        for id in [300, 301, 302] {
            for direction in Direction::BOTH {
                enc.add(
                    Some(NumericIdentity(id)),
                    direction,
                    CiliumPortScope::Range {
                        protocol: 6,
                        lo: 1024,
                        hi: 65535,
                    },
                );
            }
        }
        assert_eq!(enc.entries(), 3 * 2 * 6);
        assert_eq!(enc.entries_in(Direction::Egress), 18);
        assert_eq!(enc.bytes(), 36 * CILIUM_POLICY_ENTRY_BYTES);
    }

    #[test]
    fn learned_address_keys_are_those_of_fqdn_class_identities() {
        let mut enc = CiliumEncoding::new();
        let learned = NumericIdentity::fqdn_class(0).map(|id| id.0);
        for id in [Some(300), learned] {
            enc.add(
                id.map(NumericIdentity),
                Direction::Egress,
                CiliumPortScope::Range {
                    protocol: 6,
                    lo: 443,
                    hi: 443,
                },
            );
        }
        assert_eq!(enc.entries(), 2);
        assert_eq!(enc.learned_address_entries(), 1);
    }

    #[test]
    fn all_ports_of_a_protocol_is_a_protocol_only_key() {
        let mut enc = CiliumEncoding::new();
        enc.add(
            None,
            Direction::Egress,
            CiliumPortScope::Range {
                protocol: 17,
                lo: 0,
                hi: 65535,
            },
        );
        assert_eq!(
            enc.keys().next().map(|k| (k.identity, k.l4)),
            Some((0, CiliumL4::Protocol(17)))
        );
    }
}
