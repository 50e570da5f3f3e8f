//! FQDN selector classes: each distinct `toFQDNs` selector gets one bit of the learned-map
//! bitmap; one bit is reserved for "a `rules.dns` rule allows this question".

use std::collections::BTreeMap;

use policyc_ir::fqdn::FqdnSelector;

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

    pub fn class_of(&self, selector: &FqdnSelector) -> Option<u8> {
        self.classes.get(selector).copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&FqdnSelector, u8)> {
        self.classes.iter().map(|(s, c)| (s, *c))
    }
}
