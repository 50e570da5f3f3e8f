//! An endpoint's `.rodata` config in the artifact (format 3): the image file holds the config
//! of the endpoint's *shape* — everything the policy decides, the same for every endpoint with
//! the same tables — with the two per-endpoint fields zeroed, so that endpoints of one shape
//! share one content-addressed file. The endpoint's id and its own addresses (the sources its
//! egress may use) are in the manifest entry (`endpoint_id`, `addresses`); the loader puts
//! them back with [`endpoint_config`] before loading. The writer splits with
//! [`shape_config`]: `endpoint_config(&shape_config(c), e) == c` for the endpoint `e` of `c`.

use std::net::IpAddr;

use crate::error::BackendError;
use crate::layout::PolicycConfig;

use super::manifest::ManifestEndpoint;

/// `config` without what belongs to one endpoint (its id, its source addresses).
pub fn shape_config(config: &PolicycConfig) -> PolicycConfig {
    let mut shape = *config;
    shape.endpoint_id = 0;
    shape.source_addrs = Default::default();
    shape.source_families = Default::default();
    shape
}

/// The config endpoint `endpoint` loads: its shape's config with its id and addresses.
pub fn endpoint_config(
    shape: &PolicycConfig,
    endpoint_id: u32,
    addresses: &[IpAddr],
) -> Result<PolicycConfig, BackendError> {
    let mut config = *shape;
    config.endpoint_id = endpoint_id;
    config.set_source_addrs(addresses)?;
    Ok(config)
}

impl ManifestEndpoint {
    /// This endpoint's config from its shape's config ([`endpoint_config`]).
    pub fn config_from_shape(&self, shape: &PolicycConfig) -> Result<PolicycConfig, BackendError> {
        endpoint_config(shape, self.endpoint_id, &self.addresses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::MAX_SOURCE_ADDRS;

    fn config(endpoint_id: u32, addresses: &[IpAddr]) -> PolicycConfig {
        let mut c = PolicycConfig {
            endpoint_id,
            world_identity_ipv4: 2,
            world_identity_ipv6: 2,
            unknown_class: [3, 4],
            enforced: [1, 0],
            default_verdict: [1, 2],
            l7_fallback_allow_l4: 0,
            allow_localhost: 1,
            emit_allow_events: 0,
            allow_neighbor_discovery: 1,
            generation: 0,
            ct_lifetime_tcp_ns: 5,
            ct_lifetime_other_ns: 6,
            frag_lifetime_ns: 7,
            fqdn_mask: 0b101,
            source_addrs: Default::default(),
            source_families: Default::default(),
            event_budget_per_peer: 9,
            l7_proxy_port: 0,
            pad_l7: [0; 6],
        };
        c.set_source_addrs(addresses)
            .unwrap_or_else(|e| panic!("{e}"));
        c
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn splitting_then_joining_gives_the_endpoints_config_back() {
        let addresses = [ip("198.18.1.10"), ip("fd00::1:10")];
        let original = config(7, &addresses);
        let shape = shape_config(&original);
        assert_ne!(shape, original);
        assert_eq!(
            endpoint_config(&shape, 7, &addresses).unwrap_or_else(|e| panic!("{e}")),
            original
        );
    }

    #[test]
    fn endpoints_of_one_shape_share_the_shape_config() {
        let a = config(1, &[ip("198.18.1.10")]);
        let b = config(2, &[ip("198.18.1.11"), ip("fd00::1:11")]);
        assert_eq!(shape_config(&a), shape_config(&b));
        assert_eq!(shape_config(&a).encode(), shape_config(&b).encode());
    }

    #[test]
    fn too_many_addresses_are_refused() {
        let many: Vec<IpAddr> = (0..=MAX_SOURCE_ADDRS)
            .map(|i| ip(&format!("198.18.1.{}", i + 1)))
            .collect();
        assert!(endpoint_config(&config(1, &[]), 1, &many).is_err());
    }
}
