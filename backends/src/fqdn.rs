//! The node-wide learned-address map shared by the DNS object and the L3/L4 datapath, and the
//! FQDN-class pseudo-identities: byte-exact mirrors of `bpf-templates/fqdn_learned.h`.
//!
//! Loader contract: one `pc_dns_learned` map per node, pinned as [`LEARNED_PIN`] in the
//! loader's bpffs directory, reused (by fd) by every endpoint's DNS object and datapath object
//! before they load. An endpoint's datapath consults it only for the classes in its
//! `PolicycConfig::fqdn_mask`; classes are numbered node-wide (manifest `dns.fqdn_classes`).

use std::net::IpAddr;

use policyc_ir::NumericIdentity;

/// Map name in both objects.
pub const LEARNED_MAP: &str = "pc_dns_learned";
/// Node-wide pin name (under the loader's bpffs directory).
pub const LEARNED_PIN: &str = "pc_dns_learned";
/// `max_entries` of the map in both objects (LRU: undersizing evicts live entries).
pub const LEARNED_MAX_ENTRIES: u32 = 65_536;
/// Bits 0..=62 are FQDN classes.
pub const FQDN_CLASSES: u8 = NumericIdentity::FQDN_CLASSES;
/// Bit 63 of a learned bitmap: "a `rules.dns` rule allowed the question" (never a class).
pub const DNS_RULE_BIT: u8 = 63;
/// Pseudo-identity of class `c` is `IDENTITY_FQDN_SCOPE | c`.
pub const IDENTITY_FQDN_SCOPE: u32 = NumericIdentity::FQDN_CLASS_SCOPE;
/// Node-local CIDR identities are `IDENTITY_LOCAL_CIDR_SCOPE | n`.
pub const IDENTITY_LOCAL_CIDR_SCOPE: u32 = NumericIdentity::LOCAL_CIDR_SCOPE;
/// Size of `struct pc_dns_addr`.
pub const KEY_SIZE: u32 = 20;
/// Size of `struct pc_dns_learned`.
pub const VALUE_SIZE: u32 = 16;

/// `struct pc_dns_addr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(C)]
pub struct LearnedKey {
    /// 4 or 6.
    pub family: u8,
    pub pad: [u8; 3],
    /// Address bytes (IPv4 in the first 4).
    pub addr: [u8; 16],
}

impl LearnedKey {
    pub fn from_ip(ip: IpAddr) -> LearnedKey {
        let mut addr = [0u8; 16];
        let family = match ip {
            IpAddr::V4(v4) => {
                addr[..4].copy_from_slice(&v4.octets());
                4
            }
            IpAddr::V6(v6) => {
                addr = v6.octets();
                6
            }
        };
        LearnedKey {
            family,
            pad: [0; 3],
            addr,
        }
    }

    /// The address (`None` for an unknown family).
    pub fn ip(&self) -> Option<IpAddr> {
        match self.family {
            4 => Some(IpAddr::from([
                self.addr[0],
                self.addr[1],
                self.addr[2],
                self.addr[3],
            ])),
            6 => Some(IpAddr::from(self.addr)),
            _ => None,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(KEY_SIZE as usize);
        out.push(self.family);
        out.extend_from_slice(&self.pad);
        out.extend_from_slice(&self.addr);
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<LearnedKey> {
        Some(LearnedKey {
            family: *bytes.first()?,
            pad: bytes.get(1..4)?.try_into().ok()?,
            addr: bytes.get(4..20)?.try_into().ok()?,
        })
    }
}

/// `struct pc_dns_learned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct LearnedValue {
    /// `bpf_ktime_get_ns()` deadline; expired entries allow no new flow.
    pub expiry_ns: u64,
    /// FQDN class bitmap (plus [`DNS_RULE_BIT`]).
    pub selectors: u64,
}

impl LearnedValue {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(VALUE_SIZE as usize);
        out.extend_from_slice(&self.expiry_ns.to_ne_bytes());
        out.extend_from_slice(&self.selectors.to_ne_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<LearnedValue> {
        Some(LearnedValue {
            expiry_ns: u64::from_ne_bytes(bytes.get(0..8)?.try_into().ok()?),
            selectors: u64::from_ne_bytes(bytes.get(8..16)?.try_into().ok()?),
        })
    }
}

/// Bitmap of FQDN classes (bits 0..=62).
pub fn class_mask(classes: impl IntoIterator<Item = u8>) -> u64 {
    classes
        .into_iter()
        .filter(|c| *c < FQDN_CLASSES)
        .fold(0, |mask, c| mask | (1u64 << c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_round_trip_with_the_c_sizes() {
        for ip in ["192.0.2.7", "2001:db8::7"] {
            let ip: IpAddr = ip.parse().unwrap();
            let key = LearnedKey::from_ip(ip);
            let bytes = key.encode();
            assert_eq!(bytes.len(), KEY_SIZE as usize);
            assert_eq!(size_of::<LearnedKey>(), KEY_SIZE as usize);
            assert_eq!(LearnedKey::decode(&bytes).and_then(|k| k.ip()), Some(ip));
        }
        let value = LearnedValue {
            expiry_ns: 7,
            selectors: 1 << 63 | 5,
        };
        assert_eq!(value.encode().len(), VALUE_SIZE as usize);
        assert_eq!(size_of::<LearnedValue>(), VALUE_SIZE as usize);
        assert_eq!(LearnedValue::decode(&value.encode()), Some(value));
    }

    #[test]
    fn class_mask_ignores_the_dns_rule_bit() {
        assert_eq!(class_mask([0, 2, DNS_RULE_BIT]), 0b101);
    }

    #[test]
    fn the_dns_object_sizes_agree() {
        assert_eq!(KEY_SIZE, crate::dns::ADDR_KEY_SIZE);
        assert_eq!(VALUE_SIZE, crate::dns::LEARNED_VALUE_SIZE);
        assert_eq!(LEARNED_MAP, crate::dns::map_names::LEARNED);
    }
}
