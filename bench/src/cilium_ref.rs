//! The Cilium-layout reference datapath (bench/bpf/cilium_ref.bpf.c) loaded with the entries
//! Cilium would write for the same policy: the ipcache (prefix → identity) and one policy-map
//! key per (identity or 0, direction, protocol, masked-port prefix) from `CiliumEncoding`
//! (cilium-semantics.md §3.1–3.3). A reference for comparison, not a product.

use crate::objects::{self, Loaded};
use crate::workload::Workload;
use policyc_backends::IpcacheEntry;
use policyc_compile::resolve::cilium_encoding::{CiliumKey, CiliumL4};
use policyc_ir::Direction;

pub const INGRESS_PROGRAM: &str = "cr_ingress";
pub const EGRESS_PROGRAM: &str = "cr_egress";
pub const CT_MAP: &str = "cr_ct";
const POLICY_MAP: &str = "cr_policy";
const IPCACHE_MAP: &str = "cr_ipcache";
/// Precedence of a plain allow at priority 0 (cilium:pkg/policy/types/entry.go): inverted
/// priority in the upper 24 bits, 1 in the low byte.
const ALLOW_PRECEDENCE: u32 = 0xffff_ff01;
/// sec_label + direction byte.
const STATIC_PREFIX: u32 = 40;

fn policy_record(key: &CiliumKey) -> (Vec<u8>, Vec<u8>) {
    let (protocol, port, port_bits): (u8, u16, u32) = match key.l4 {
        CiliumL4::AnyProtocol => (0, 0, 0),
        CiliumL4::Protocol(p) => (p, 0, 0),
        CiliumL4::Port(p, masked) => (p, masked.port, u32::from(masked.prefix_bits)),
    };
    let l4_bits = if matches!(key.l4, CiliumL4::AnyProtocol) {
        0
    } else {
        8 + port_bits
    };
    let mut k = Vec::with_capacity(12);
    k.extend_from_slice(&(STATIC_PREFIX + l4_bits).to_ne_bytes());
    k.extend_from_slice(&key.identity.to_ne_bytes());
    k.push(u8::from(key.direction == Direction::Egress));
    k.push(protocol);
    k.extend_from_slice(&port.to_be_bytes());
    let mut v = Vec::with_capacity(12);
    v.extend_from_slice(&0u16.to_be_bytes()); // proxy_port
    v.push((l4_bits as u8) << 3); // deny = 0, lpm_prefix_length
    v.push(0); // auth_type
    v.extend_from_slice(&ALLOW_PRECEDENCE.to_ne_bytes());
    v.extend_from_slice(&0u32.to_ne_bytes()); // cookie
    (k, v)
}

fn ipcache_record(entry: &IpcacheEntry) -> (Vec<u8>, Vec<u8>) {
    let (family, addr, len): (u8, Vec<u8>, u8) = match entry.prefix {
        ipnet::IpNet::V4(n) => (1, n.network().octets().to_vec(), n.prefix_len()),
        ipnet::IpNet::V6(n) => (2, n.network().octets().to_vec(), n.prefix_len()),
    };
    let mut k = Vec::with_capacity(24);
    k.extend_from_slice(&(32 + u32::from(len)).to_ne_bytes());
    k.extend_from_slice(&0u16.to_ne_bytes()); // cluster_id
    k.push(0);
    k.push(family);
    let mut a = [0u8; 16];
    a[..addr.len()].copy_from_slice(&addr);
    k.extend_from_slice(&a);
    let mut v = vec![0u8; 12];
    v[..4].copy_from_slice(&entry.identity.to_ne_bytes());
    (k, v)
}

/// Loads the reference and fills it for `workload`'s measured endpoint.
pub fn load(workload: &Workload) -> Result<(Loaded, usize), String> {
    let policy: Vec<_> = workload.resolved.cilium.keys().map(policy_record).collect();
    let ipcache: Vec<_> = workload.ipcache.iter().map(ipcache_record).collect();
    let loaded = objects::load(
        objects::CILIUM_REF_OBJECT,
        "cilium_ref",
        &[
            (POLICY_MAP, u32::try_from(policy.len()).unwrap_or(u32::MAX)),
            (
                IPCACHE_MAP,
                u32::try_from(ipcache.len()).unwrap_or(u32::MAX),
            ),
        ],
        &[INGRESS_PROGRAM, EGRESS_PROGRAM],
    )?;
    objects::fill(&loaded.object, POLICY_MAP, &policy)?;
    objects::fill(&loaded.object, IPCACHE_MAP, &ipcache)?;
    Ok((loaded, policy.len()))
}
