//! The DNS parts of `manifest.json`: at the top the DNS object and the node-wide FQDN selector
//! classes (`dns`), per endpoint with `rules.dns` its DNS map images and the rules and ports the
//! DNS object enforces (`endpoints[].dns`). Written by `policyc build` (`build::dns_images`),
//! read by the loader (`node::dns`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `manifest.json` → `dns`: the DNS object and what each selector class means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestNodeDns {
    /// The DNS object (content-addressed, relative path).
    pub object: String,
    /// Class → selector (`matchName: x` / `matchPattern: y`), node-wide.
    #[serde(default)]
    pub fqdn_classes: Vec<ManifestFqdnClass>,
}

/// One node-wide FQDN selector class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFqdnClass {
    /// Bit of the learned map's selector bitmap.
    pub class: u8,
    /// `matchName: x` or `matchPattern: y`.
    pub selector: String,
}

/// `manifest.json` → `endpoints[].dns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestDns {
    /// Map name → image path.
    pub maps: BTreeMap<String, String>,
    /// Datapath ids of the rules whose `rules.dns` the DNS object enforces.
    #[serde(default)]
    pub dns_rules: Vec<u32>,
    /// The ports those rules name (the loader installs port 53 only).
    #[serde(default)]
    pub dns_ports: Vec<String>,
}

impl ManifestNodeDns {
    /// Names of the selectors whose bits are set in `selectors` (the `rules.dns` bit 63 is
    /// not a selector and is left out).
    pub fn selector_names(&self, selectors: u64) -> Vec<String> {
        (0..63u8)
            .filter(|bit| selectors & (1u64 << bit) != 0)
            .map(|bit| {
                self.fqdn_classes
                    .iter()
                    .find(|c| c.class == bit)
                    .map_or_else(|| format!("class {bit}"), |c| c.selector.clone())
            })
            .collect()
    }
}
