//! The DNS fields of `manifest.json` as the loader reads them (written by the compiler's
//! `build::dns_images`): the DNS object, node-wide FQDN classes, and per endpoint its DNS map
//! images and the rules and ports the DNS object enforces.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `manifest.json` → `dns`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestNodeDns {
    /// The DNS object (relative path).
    pub object: String,
    /// Node-wide FQDN selector classes.
    #[serde(default)]
    pub fqdn_classes: Vec<ManifestFqdnClass>,
}

/// One node-wide FQDN selector class.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestFqdnClass {
    /// Bit of the learned map's selector bitmap.
    pub class: u8,
    /// `matchName: x` or `matchPattern: y`.
    pub selector: String,
}

/// `manifest.json` → `endpoints[].dns`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestDns {
    /// Map name → image path.
    pub maps: BTreeMap<String, String>,
    /// Datapath ids of the rules whose `rules.dns` the DNS object enforces.
    #[serde(default)]
    pub dns_rules: Vec<u32>,
    /// The ports those rules name.
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
