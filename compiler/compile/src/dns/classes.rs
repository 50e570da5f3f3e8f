//! FQDN selector classes: each distinct `toFQDNs` selector gets one bit of the learned-map
//! bitmap; one bit is reserved for "a `rules.dns` rule allows this question".

use std::collections::BTreeMap;

use policyc_ir::fqdn::FqdnSelector;
use policyc_ir::rule::{Peer, PeerSet, PolicyRule};
use policyc_ir::NumericIdentity;

use super::DnsCompileError;

/// The bit that marks a question allowed by `rules.dns` (the DNS object's allow mask).
pub const DNS_RULE_CLASS: u8 = 63;
/// `toFQDNs` selectors that fit one bitmap next to [`DNS_RULE_CLASS`].
pub const MAX_FQDN_CLASSES: usize = 63;

/// Class numbers of `toFQDNs` selectors, in selector order (deterministic). To share the
/// node-wide learned map, assign classes once per node over every endpoint's selectors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FqdnClasses {
    classes: BTreeMap<FqdnSelector, u8>,
}

impl FqdnClasses {
    pub fn assign<'a>(
        selectors: impl IntoIterator<Item = &'a FqdnSelector>,
    ) -> Result<FqdnClasses, DnsCompileError> {
        let mut distinct: Vec<&FqdnSelector> = selectors.into_iter().collect();
        distinct.sort();
        distinct.dedup();
        if distinct.len() > MAX_FQDN_CLASSES {
            return Err(DnsCompileError::TooManyFqdnSelectors {
                count: distinct.len(),
            });
        }
        let classes = distinct
            .into_iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i as u8))
            .collect();
        Ok(FqdnClasses { classes })
    }

    /// The node-wide classes of a build: every `toFQDNs` selector of the whole policy set, in
    /// selector order, so every endpoint's DNS object and datapath (and the manifest) agree on
    /// what a bit of the learned map means.
    pub fn node_wide(rules: &[PolicyRule]) -> Result<FqdnClasses, DnsCompileError> {
        let selectors = rules.iter().flat_map(|rule| match &rule.peers {
            PeerSet::Some(peers) => peers
                .iter()
                .filter_map(|p| match p {
                    Peer::Fqdn(selector) => Some(selector),
                    _ => None,
                })
                .collect::<Vec<_>>(),
            PeerSet::All => Vec::new(),
        });
        FqdnClasses::assign(selectors)
    }

    /// The pseudo-identity policy tables give class `class` (see `NumericIdentity::fqdn_class`).
    pub fn pseudo_identity(class: u8) -> Option<NumericIdentity> {
        NumericIdentity::fqdn_class(class)
    }

    /// Bitmap of the classes of `selectors` (unknown selectors are ignored).
    pub fn mask<'a>(&self, selectors: impl IntoIterator<Item = &'a FqdnSelector>) -> u64 {
        selectors
            .into_iter()
            .filter_map(|s| self.class_of(s))
            .fold(0, |mask, class| mask | (1u64 << class))
    }

    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    pub fn len(&self) -> usize {
        self.classes.len()
    }

    pub fn class_of(&self, selector: &FqdnSelector) -> Option<u8> {
        self.classes.get(selector).copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&FqdnSelector, u8)> {
        self.classes.iter().map(|(s, c)| (s, *c))
    }
}
