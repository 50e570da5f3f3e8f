//! The node-wide learned-address map shared by the DNS object and the L3/L4 datapath, and the
//! FQDN-class pseudo-identities: the Rust mirror of `bpf-templates/fqdn_learned.h` (types from
//! [`crate::c_layout`], checked against both objects' BTF through [`HEADER`]).
//!
//! Loader contract: one `pc_dns_learned` map per node, pinned as [`LEARNED_PIN`] in the
//! loader's bpffs directory, reused (by fd) by every endpoint's DNS object and datapath object
//! before they load. An endpoint's datapath consults it only for the classes in its
//! `PolicycConfig::fqdn_mask`; classes are numbered node-wide (manifest `dns.fqdn_classes`).

use std::net::IpAddr;

use policyc_ir::NumericIdentity;

use crate::c_layout::{c_constants, c_struct, CHeader, CStruct};
use crate::layout::{addr_bytes, addr_from_bytes};

/// Map name in both objects.
pub const LEARNED_MAP: &str = "pc_dns_learned";
/// Node-wide pin name (under the loader's bpffs directory).
pub const LEARNED_PIN: &str = "pc_dns_learned";

c_constants! {
    /// `enum policyc_fqdn_constant`.
    pub const FQDN_CONSTANTS = "policyc_fqdn_constant" {
        /// `max_entries` of the map in both objects (a plain hash: a full map learns nothing new).
        pub const LEARNED_MAX_ENTRIES: u32 = 65_536 => "POLICYC_FQDN_LEARNED_MAX_ENTRIES";
        /// Bits 0..=62 are FQDN classes.
        pub const FQDN_CLASSES: u8 = NumericIdentity::FQDN_CLASSES => "POLICYC_FQDN_CLASSES";
        /// Bit 63 of a learned bitmap: "a `rules.dns` rule allowed the question" (never a class).
        pub const DNS_RULE_BIT: u8 = 63 => "POLICYC_FQDN_DNS_RULE_BIT";
        /// Pseudo-identity of class `c` is `IDENTITY_FQDN_SCOPE | c`.
        pub const IDENTITY_FQDN_SCOPE: u32 = NumericIdentity::FQDN_CLASS_SCOPE => "POLICYC_IDENTITY_FQDN_SCOPE";
        /// Node-local CIDR identities are `IDENTITY_LOCAL_CIDR_SCOPE | n`.
        pub const IDENTITY_LOCAL_CIDR_SCOPE: u32 = NumericIdentity::LOCAL_CIDR_SCOPE => "POLICYC_IDENTITY_LOCAL_CIDR_SCOPE";
        /// The scope byte of an identity.
        pub const IDENTITY_SCOPE_MASK: u32 = 0xff00_0000 => "POLICYC_IDENTITY_SCOPE_MASK";
    }
}

c_struct! {
    /// `struct pc_dns_addr`: the learned map's key.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub struct LearnedKey = "pc_dns_addr" {
        /// 4 or 6.
        pub family: u8,
        pub pad: [u8; 3],
        /// Address bytes (IPv4 in the first 4).
        pub addr: [u8; 16],
    }
}

c_struct! {
    /// `struct pc_dns_learned`: the learned map's value.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct LearnedValue = "pc_dns_learned" {
        /// `bpf_ktime_get_ns()` deadline; expired entries allow no new flow.
        pub expiry_ns: u64,
        /// FQDN class bitmap (plus [`DNS_RULE_BIT`]).
        pub selectors: u64,
        /// The endpoint whose learning quota this entry's lifetime is charged to.
        pub owner: u32,
        /// Padding.
        pub pad: u32,
    }
}

/// Size of `struct pc_dns_addr`.
pub const KEY_SIZE: u32 = size_of::<LearnedKey>() as u32;
/// Size of `struct pc_dns_learned`.
pub const VALUE_SIZE: u32 = size_of::<LearnedValue>() as u32;

impl LearnedKey {
    pub fn from_ip(ip: IpAddr) -> LearnedKey {
        let (family, addr) = addr_bytes(ip);
        LearnedKey {
            family: family.code(),
            pad: [0; 3],
            addr,
        }
    }

    /// The address (`None` for an unknown family).
    pub fn ip(&self) -> Option<IpAddr> {
        addr_from_bytes(self.family, &self.addr)
    }
}

/// Everything `fqdn_learned.h` shares with Rust (checked against both objects' BTF).
pub const HEADER: CHeader = CHeader {
    file: "fqdn_learned.h",
    structs: &[LearnedKey::LAYOUT, LearnedValue::LAYOUT],
    enums: &[FQDN_CONSTANTS],
    strings: &[
        ("POLICYC_MAP_FQDN_LEARNED", LEARNED_MAP),
        ("POLICYC_FQDN_LEARNED_PIN", LEARNED_PIN),
    ],
    bpf_only: &[(
        "pc_fqdn_btf_anchor",
        "a .rodata variable that keeps the constants in both objects' BTF",
    )],
};

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
    fn keys_and_values_round_trip() {
        for ip in ["192.0.2.7", "2001:db8::7"] {
            let ip: IpAddr = ip.parse().unwrap();
            let key = LearnedKey::from_ip(ip);
            let bytes = key.encode();
            assert_eq!(bytes.len(), KEY_SIZE as usize);
            assert_eq!(LearnedKey::decode(&bytes).and_then(|k| k.ip()), Some(ip));
        }
        let value = LearnedValue {
            expiry_ns: 7,
            selectors: 1 << 63 | 5,
            owner: 3,
            pad: 0,
        };
        assert_eq!(value.encode().len(), VALUE_SIZE as usize);
        assert_eq!(LearnedValue::decode(&value.encode()), Some(value));
    }

    #[test]
    fn class_mask_ignores_the_dns_rule_bit() {
        assert_eq!(class_mask([0, 2, DNS_RULE_BIT]), 0b101);
    }

    #[test]
    fn the_dns_object_names_the_same_map() {
        assert_eq!(LEARNED_MAP, crate::dns::map_names::LEARNED);
    }
}
