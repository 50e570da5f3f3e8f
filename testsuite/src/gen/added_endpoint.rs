//! One endpoint added to a generated inventory, for the incremental-update properties
//! (`incremental_endpoint`, `resolver_incremental`): a generated endpoint renamed `added-N`,
//! given an IPv4 address of its own and no interface, optionally a named port `http` (8081/TCP)
//! and, with some chance, an `app` label value of its own (a new identity, not a shared one).

use policyc_frontend::inventory::InventoryEndpoint;
use policyc_ir::universe::NamedPort;
use policyc_ir::Protocol;

use super::{inventory, Rng};

/// Where the N-th added endpoint's address comes from, and how often it gets an identity of
/// its own.
#[derive(Debug, Clone, Copy)]
pub struct AddedEndpoints {
    /// Third octet of `198.18.<subnet>.x`.
    pub subnet: u8,
    /// The N-th endpoint gets `.first + N % count`.
    pub first: u16,
    pub count: usize,
    /// Percent chance of an `app` label value of its own.
    pub own_identity_percent: u64,
}

impl AddedEndpoints {
    /// The `n`-th added endpoint.
    pub fn endpoint(&self, rng: &mut Rng, named_ports: bool, n: usize) -> InventoryEndpoint {
        let mut extra = inventory(rng, 1).endpoints.remove(0);
        extra.name = format!("added-{n}");
        let octet = u8::try_from(usize::from(self.first) + n % self.count).unwrap_or(u8::MAX);
        extra.ips = vec![std::net::IpAddr::V4(std::net::Ipv4Addr::new(
            198,
            18,
            self.subnet,
            octet,
        ))];
        extra.interface = None;
        extra.named_ports.clear();
        if named_ports {
            extra.named_ports.insert(
                "http".to_string(),
                NamedPort {
                    port: 8081,
                    protocol: Protocol::Tcp,
                },
            );
        }
        if rng.chance(self.own_identity_percent) {
            extra.labels.insert("app".to_string(), format!("added-{n}"));
        }
        extra
    }
}
