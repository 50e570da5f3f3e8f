//! The DNS part of an artifact: node-wide FQDN selector classes (one bit of the learned map's
//! selector bitmap per distinct `toFQDNs` selector of the whole policy set, so every
//! endpoint's DNS object and main datapath agree on what a bit means), and for each endpoint
//! that has `rules.dns` the DNS object's map images, the rules whose DNS part it enforces and
//! the ports they name.

use std::collections::BTreeMap;

use policyc_backends::dns::{DnsConfig, DnsLimits};
use policyc_backends::MapImage;
use policyc_ir::l7::L7Rules;
use policyc_ir::rule::PortMatch;
use policyc_ir::universe::EndpointKey;
use policyc_ir::{PolicyRule, RuleId};

use policyc_backends::artifact::{Manifest, ManifestDns, ManifestFqdnClass, ManifestNodeDns};
use policyc_backends::DNS_OBJECT;
use sha2::{Digest, Sha256};

use super::compile::Compilation;
use super::writer::{ArtifactError, Writer};
use policyc_compile::dns::{compile_endpoint, DnsCompileError, EndpointDns, FqdnClasses};
use policyc_compile::optimize::layout::datapath_rule_id;

/// Defaults written into each endpoint's DNS config image; the loader overrides `min_ttl_s`
/// (`--dns-min-ttl`), `redirect_peer`, `learn_quota` (from the learned map's capacity) and
/// `owner` (the endpoint's interface index) at install time: an image installed as is learns
/// nothing.
pub const DEFAULT_DNS_CONFIG: DnsConfig = DnsConfig {
    min_ttl_s: 0,
    redirect_peer: true,
    learn_quota: 0,
    owner: 0,
    name_ip_max: policyc_backends::dns::DEFAULT_NAME_IP_MAX,
};

/// The DNS object of one endpoint.
#[derive(Debug, Clone)]
pub struct EndpointDnsBuild {
    /// Config, byte classes, DFA rows, exact names.
    pub images: Vec<MapImage>,
    /// Rules whose `rules.dns` the DNS object enforces (their L7 verdict is handled in kernel).
    pub dns_rules: Vec<RuleId>,
    /// The ports of those rules as written (`53`, `53-54`, a port name): the DNS object judges
    /// port 53 only, so the loader refuses anything else (fail closed).
    pub dns_ports: Vec<String>,
}

/// DNS tables of a whole build.
#[derive(Debug, Clone, Default)]
pub struct NodeDns {
    /// Node-wide classes of every `toFQDNs` selector.
    pub classes: FqdnClasses,
    /// Endpoints with `rules.dns` only.
    pub endpoints: BTreeMap<EndpointKey, EndpointDnsBuild>,
}

/// Node-wide FQDN selector classes: every `toFQDNs` selector of the policy set, in selector
/// order (the same numbering the main datapath's pseudo-identities use).
pub fn node_fqdn_classes(rules: &[PolicyRule]) -> Result<FqdnClasses, DnsCompileError> {
    FqdnClasses::node_wide(rules)
}

/// Builds the DNS tables of every endpoint that has `rules.dns`.
pub fn build_node_dns(
    compilation: &Compilation,
    rules: &[PolicyRule],
) -> Result<NodeDns, DnsCompileError> {
    let classes = node_fqdn_classes(rules)?;
    let by_id: BTreeMap<RuleId, &PolicyRule> = rules.iter().map(|r| (r.id, r)).collect();
    let mut endpoints = BTreeMap::new();
    for endpoint in &compilation.endpoints {
        let selected: Vec<&PolicyRule> = endpoint
            .resolved
            .egress
            .selected_rules
            .iter()
            .filter_map(|id| by_id.get(id).copied())
            .collect();
        let dns = EndpointDns::from_rules(selected.iter().copied());
        if !dns.intercepts() {
            continue;
        }
        let tables = compile_endpoint(&dns, &classes, &DnsLimits::default()).map_err(|e| {
            DnsCompileError::Endpoint {
                endpoint: endpoint.key.to_string(),
                source: Box::new(e),
            }
        })?;
        let mut dns_rules = Vec::new();
        let mut dns_ports = Vec::new();
        for rule in &selected {
            let PortMatch::Ports(port_rules) = &rule.ports else {
                continue;
            };
            for port_rule in port_rules {
                if !matches!(port_rule.l7, L7Rules::Dns(_)) {
                    continue;
                }
                dns_rules.push(rule.id);
                if port_rule.ports.is_empty() {
                    dns_ports.push("*".to_string());
                }
                dns_ports.extend(port_rule.ports.iter().map(|p| p.port.to_string()));
            }
        }
        dns_rules.sort_unstable();
        dns_rules.dedup();
        dns_ports.sort();
        dns_ports.dedup();
        endpoints.insert(
            endpoint.key.clone(),
            EndpointDnsBuild {
                images: tables.images(&DEFAULT_DNS_CONFIG),
                dns_rules,
                dns_ports,
            },
        );
    }
    Ok(NodeDns { classes, endpoints })
}

/// What [`write_dns`] wrote, to be added to the manifest.
pub struct WrittenDns {
    node: Option<ManifestNodeDns>,
    endpoints: BTreeMap<String, ManifestDns>,
}

impl WrittenDns {
    /// Fills `manifest.dns` and each endpoint's `dns`.
    pub fn annotate(self, manifest: &mut Manifest) {
        manifest.dns = self.node;
        for endpoint in &mut manifest.endpoints {
            endpoint.dns = self.endpoints.get(&endpoint.name).cloned();
        }
    }
}

/// Content address of the DNS object.
pub fn dns_object_path() -> String {
    format!(
        "objects/{}.dns.bpf.o",
        hex::encode(Sha256::digest(DNS_OBJECT))
    )
}

/// Writes the DNS object and every endpoint's DNS images (nothing when the policy set has
/// neither `rules.dns` nor `toFQDNs`).
pub(super) fn write_dns(w: &mut Writer<'_>, dns: &NodeDns) -> Result<WrittenDns, ArtifactError> {
    let mut written = WrittenDns {
        node: None,
        endpoints: BTreeMap::new(),
    };
    if dns.endpoints.is_empty() && dns.classes.iter().next().is_none() {
        return Ok(written);
    }
    let object = dns_object_path();
    w.write(&object, DNS_OBJECT)?;
    written.node = Some(ManifestNodeDns {
        object,
        fqdn_classes: dns
            .classes
            .iter()
            .map(|(selector, class)| ManifestFqdnClass {
                class,
                selector: selector.to_string(),
            })
            .collect(),
    });
    for (key, endpoint) in &dns.endpoints {
        let maps = w.map_images(&endpoint.images)?;
        written.endpoints.insert(
            key.to_string(),
            ManifestDns {
                maps,
                dns_rules: endpoint
                    .dns_rules
                    .iter()
                    .map(|id| datapath_rule_id(Some(*id)))
                    .collect(),
                dns_ports: endpoint.dns_ports.clone(),
            },
        );
    }
    Ok(written)
}
