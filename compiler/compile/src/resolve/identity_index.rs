//! The identities of a universe numbered densely (in identity order, so an identity bitset
//! iterates in the same order as `Universe::identities()`), with an index from label to
//! identities so that a selector only looks at the identities that can match it.

use fixedbitset::FixedBitSet;
use policyc_ir::identity::IdentityKind;
use policyc_ir::labels::LabelSource;
use policyc_ir::oracle::{FlowError, Party};
use policyc_ir::selector::Operator;
use policyc_ir::universe::Universe;
use policyc_ir::{EndpointSelector, NumericIdentity};
use std::collections::HashMap;

/// Identities whose labels carry one `(key, value)`, with the label's source.
type LabelPostings = Vec<(LabelSource, usize)>;

/// Dense numbering and label index of a universe's identities.
pub struct IdentityIndex<'u> {
    /// Position → identity, sorted.
    ids: Vec<NumericIdentity>,
    /// Position → the identity as a peer (`Party::from_identity`, as the oracle sees it).
    parties: Vec<Party<'u>>,
    /// key → value → identities with that label.
    by_label: HashMap<&'u str, HashMap<&'u str, LabelPostings>>,
    /// Identities that stand for a node (only they can match `fromNodes`/`toNodes`).
    with_node: Vec<usize>,
    /// CIDR and world identities (only they can match a CIDR peer).
    cidr_like: Vec<usize>,
}

impl<'u> IdentityIndex<'u> {
    pub fn new(universe: &'u Universe) -> Result<Self, FlowError> {
        let mut index = Self {
            ids: Vec::with_capacity(universe.identities().len()),
            parties: Vec::with_capacity(universe.identities().len()),
            by_label: HashMap::new(),
            with_node: Vec::new(),
            cidr_like: Vec::new(),
        };
        for (position, id) in universe.identities().keys().enumerate() {
            let party = Party::from_identity(universe, *id)?;
            for (source, key, value) in party.identity.labels.entries() {
                index
                    .by_label
                    .entry(key)
                    .or_default()
                    .entry(value)
                    .or_default()
                    .push((source, position));
            }
            if party.node.is_some() {
                index.with_node.push(position);
            }
            if matches!(
                party.identity.kind,
                IdentityKind::Cidr(_) | IdentityKind::Reserved(_)
            ) {
                index.cidr_like.push(position);
            }
            index.ids.push(*id);
            index.parties.push(party);
        }
        Ok(index)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn id(&self, position: usize) -> NumericIdentity {
        self.ids[position]
    }

    pub fn ids(&self) -> &[NumericIdentity] {
        &self.ids
    }

    pub fn party(&self, position: usize) -> &Party<'u> {
        &self.parties[position]
    }

    /// The position of an identity.
    pub fn position(&self, id: NumericIdentity) -> Option<usize> {
        self.ids.binary_search(&id).ok()
    }

    pub fn with_node(&self) -> &[usize] {
        &self.with_node
    }

    pub fn cidr_like(&self) -> &[usize] {
        &self.cidr_like
    }

    /// Every identity.
    pub fn all(&self) -> FixedBitSet {
        let mut set = FixedBitSet::with_capacity(self.len());
        set.insert_range(..);
        set
    }

    /// The identities whose labels `selector` matches, looking only at the candidates the label
    /// index gives for one of its `In`/`Exists` requirements (all identities otherwise).
    pub fn select(&self, selector: &EndpointSelector) -> FixedBitSet {
        let mut set = FixedBitSet::with_capacity(self.len());
        let mut check = |position: usize| {
            if selector.matches(&self.parties[position].identity.labels) {
                set.insert(position);
            }
        };
        let narrowing = selector
            .requirements()
            .find(|r| r.operator == Operator::In)
            .or_else(|| {
                selector
                    .requirements()
                    .find(|r| r.operator == Operator::Exists)
            });
        match narrowing {
            Some(requirement) => {
                let Some(values) = self.by_label.get(requirement.key.key.as_str()) else {
                    return set;
                };
                let postings: Vec<&LabelPostings> = match requirement.operator {
                    Operator::In => requirement
                        .values
                        .iter()
                        .filter_map(|v| values.get(v.as_str()))
                        .collect(),
                    _ => values.values().collect(),
                };
                for (source, position) in postings.into_iter().flatten() {
                    if requirement
                        .key
                        .matches(*source, requirement.key.key.as_str())
                    {
                        check(*position);
                    }
                }
            }
            None => (0..self.len()).for_each(check),
        }
        set
    }
}
