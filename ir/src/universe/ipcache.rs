//! The ipcache: prefix → identity with longest-prefix-match lookup, like Cilium's
//! `cilium_ipcache_v2`. Unknown addresses resolve to the world identity of their family.

use super::{Endpoint, Node, UniverseError};
use crate::entity::ReservedIdentity;
use crate::identity::{Identity, NumericIdentity};
use crate::prefix::Prefix;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ipcache {
    dual_stack: bool,
    /// Exact entries; lookups try every prefix length from longest to shortest.
    entries: BTreeMap<Prefix, NumericIdentity>,
}

impl Ipcache {
    pub(super) fn build(
        identities: &BTreeMap<NumericIdentity, Identity>,
        endpoints: &[Endpoint],
        nodes: &[Node],
        dual_stack: bool,
    ) -> Result<Self, UniverseError> {
        let mut entries = BTreeMap::new();
        for identity in identities.values() {
            if let Some(prefix) = identity.cidr_prefix() {
                if !prefix.is_default_route() {
                    entries.insert(*prefix, identity.id);
                }
            }
        }
        let mut owners: BTreeMap<IpAddr, String> = BTreeMap::new();
        let mut claim = |ip: IpAddr, owner: String| match owners.get(&ip) {
            Some(first) => Err(UniverseError::DuplicateAddress {
                ip,
                first: first.clone(),
                second: owner,
            }),
            None => {
                owners.insert(ip, owner);
                Ok(())
            }
        };
        for node in nodes {
            for ip in &node.ips {
                claim(*ip, format!("node {}", node.name))?;
                entries.insert(Prefix::host(*ip), node.identity());
            }
        }
        for ep in endpoints {
            for ip in &ep.ips {
                claim(*ip, format!("endpoint {}", ep.key))?;
                entries.insert(Prefix::host(*ip), ep.identity);
            }
        }
        Ok(Self {
            dual_stack,
            entries,
        })
    }

    /// Adds the host entries of a new endpoint (its addresses must be claimed by no endpoint
    /// or node: [`super::Universe::add_endpoint`] checks).
    pub(super) fn insert_hosts(&mut self, ips: &[IpAddr], identity: NumericIdentity) {
        for ip in ips {
            self.entries.insert(Prefix::host(*ip), identity);
        }
    }

    /// `world` (2) in a single-stack universe, `world-ipv4` (9) / `world-ipv6` (10) in a
    /// dual-stack one (Cilium's `GetWorldIdentityFromIP`).
    pub fn world_for(dual_stack: bool, ipv6: bool) -> NumericIdentity {
        let r = match (dual_stack, ipv6) {
            (false, _) => ReservedIdentity::World,
            (true, false) => ReservedIdentity::WorldIpv4,
            (true, true) => ReservedIdentity::WorldIpv6,
        };
        NumericIdentity(r.number())
    }

    /// Longest-prefix match: the exact host entry if there is one, else the longest prefix
    /// containing the address, else world.
    pub fn lookup(&self, ip: &IpAddr) -> NumericIdentity {
        if let Some(id) = self.entries.get(&Prefix::host(*ip)) {
            return *id;
        }
        self.entries
            .iter()
            .filter(|(p, _)| p.contains_addr(ip))
            .max_by_key(|(p, _)| p.len())
            .map_or_else(
                || Self::world_for(self.dual_stack, ip.is_ipv6()),
                |(_, id)| *id,
            )
    }

    /// All entries (prefix → identity), ordered by prefix.
    pub fn entries(&self) -> impl Iterator<Item = (&Prefix, &NumericIdentity)> {
        self.entries.iter()
    }
}
