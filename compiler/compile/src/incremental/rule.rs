//! Rule edits: incremental resolution, then the optimizer and images again (see [`super`]).

use super::{positions, IncrementalEndpoint, IncrementalError, UpdatePath};
use policyc_ir::{PolicyRule, RuleId};

impl IncrementalEndpoint {
    /// Appends a rule to the rule table.
    pub fn add_rule(&mut self, rule: PolicyRule) -> Result<UpdatePath, IncrementalError> {
        self.rule_positions.insert(rule.id, self.rules.len());
        self.rules.push(rule.clone());
        self.resolver.add_rule(rule);
        self.rules_changed()
    }

    /// Replaces the rule with `rule.id` in place.
    pub fn replace_rule(&mut self, rule: PolicyRule) -> Result<UpdatePath, IncrementalError> {
        self.resolver.replace_rule(rule.clone())?;
        if let Some(slot) = self
            .rule_positions
            .get(&rule.id)
            .and_then(|p| self.rules.get_mut(*p))
        {
            *slot = rule;
        }
        self.rules_changed()
    }

    /// Removes the rule with `id`.
    pub fn remove_rule(&mut self, id: RuleId) -> Result<UpdatePath, IncrementalError> {
        self.resolver.remove_rule(id)?;
        self.rules.retain(|r| r.id != id);
        self.rule_positions = positions(&self.rules);
        self.rules_changed()
    }

    /// The universe's CIDR identities come from the prefixes the rules mention: when those
    /// change, the universe is built again (the caller's inventory is not needed: the
    /// endpoints and nodes are the universe's own).
    fn rules_changed(&mut self) -> Result<UpdatePath, IncrementalError> {
        self.stages = super::EditStages::default();
        let mentioned = policyc_frontend::identity::mentioned_prefixes(&self.rules);
        let wanted = policyc_frontend::identity::cidr_identities(&mentioned);
        let same = self
            .universe
            .cidr_identities()
            .map(|(_, identity)| identity)
            .eq(wanted.iter());
        if !same {
            self.universe = self.universe.with_cidr_identities(wanted)?;
            self.resolver_behind = true;
            self.recompile()?;
            return Ok(UpdatePath::Recompiled);
        }
        self.reoptimize()?;
        Ok(UpdatePath::Reoptimized)
    }
}
