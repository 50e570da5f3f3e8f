//! Port functions by interval algebra: one sweep over the covered spans of a peer group's rules
//! gives, for every piece of the port space, the rules that cover it and so the verdict, with
//! the oracle's precedence (`evaluate_side`): explicit deny, then the localhost bypass, then
//! "no allow" (default deny or not enforced), then mutual authentication, then L7 wildcarding
//! (an L7-free allow) or an L7 redirect. Deciding rules are sorted and deduplicated as the
//! oracle reports them.

use super::port_function::{L7PolicyId, PortFunction, PortFunctionError, PortInterval, Verdict};
use super::rule_coverage::RuleCoverage;
use policyc_ir::rule::AuthMode;
use policyc_ir::{PolicyRule, RuleAction, RuleId};
use std::collections::BTreeMap;

/// One rule of a peer group with its precomputed coverage.
#[derive(Clone, Copy)]
pub struct GroupRule<'a> {
    pub rule: &'a PolicyRule,
    pub coverage: &'a RuleCoverage,
}

/// What decides a piece besides the rules covering it.
#[derive(Debug, Clone, Copy)]
pub struct Precedence {
    /// `enable-policy=never`: everything is allowed.
    pub enforcement_disabled: bool,
    /// Ingress from the host with `allow-localhost=always` (after explicit denies).
    pub localhost_bypass: bool,
    /// The direction is default-deny: no allow means `DefaultDeny`, else `Allow`.
    pub enforced: bool,
}

/// Rule ids with multiplicity (two rule positions could share an id).
#[derive(Default)]
struct ActiveIds(BTreeMap<RuleId, u32>);

impl ActiveIds {
    fn add(&mut self, id: RuleId) {
        *self.0.entry(id).or_insert(0) += 1;
    }

    fn remove(&mut self, id: RuleId) {
        if let Some(n) = self.0.get_mut(&id) {
            *n -= 1;
            if *n == 0 {
                self.0.remove(&id);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn sorted(&self) -> Vec<RuleId> {
        self.0.keys().copied().collect()
    }

    fn first(&self) -> Option<RuleId> {
        self.0.keys().next().copied()
    }
}

/// The rules covering the current piece.
#[derive(Default)]
struct Covering {
    denies: ActiveIds,
    allows: ActiveIds,
    auth: ActiveIds,
    /// Covering allow rules with an L7-free port rule covering the piece.
    l7_free_allows: u32,
}

impl Covering {
    fn verdict(&self, precedence: Precedence) -> (Verdict, Vec<RuleId>) {
        if !self.denies.is_empty() {
            return (Verdict::Deny, self.denies.sorted());
        }
        if precedence.localhost_bypass {
            return (Verdict::Allow, Vec::new());
        }
        if self.allows.is_empty() {
            let verdict = if precedence.enforced {
                Verdict::DefaultDeny
            } else {
                Verdict::Allow
            };
            return (verdict, Vec::new());
        }
        if !self.auth.is_empty() {
            return (Verdict::AuthRequired, self.auth.sorted());
        }
        if self.l7_free_allows > 0 {
            return (Verdict::Allow, self.allows.sorted());
        }
        let first = self.allows.first().map_or(0, |r| r.0);
        (Verdict::RedirectL7(L7PolicyId(first)), self.allows.sorted())
    }
}

fn requires_auth(rule: &PolicyRule) -> bool {
    matches!(
        rule.auth,
        Some(AuthMode::Required | AuthMode::TestAlwaysFail)
    )
}

/// One end of a covered span: `delta` +1 where it starts, -1 just after it ends.
#[derive(Clone, Copy)]
struct Edge {
    at: u32,
    rule: usize,
    delta: i32,
    l7_free: bool,
}

/// The port function of a group's rules for the protocol at `slot` of
/// [`super::rule_coverage::ORACLE_PROTOCOLS`].
pub fn port_function(
    rules: &[GroupRule<'_>],
    slot: usize,
    precedence: Precedence,
) -> Result<PortFunction, PortFunctionError> {
    if precedence.enforcement_disabled {
        return Ok(PortFunction::constant(Verdict::Allow, Vec::new()));
    }
    let mut edges: Vec<Edge> = Vec::new();
    for (rule, group_rule) in rules.iter().enumerate() {
        for span in group_rule.coverage.spans(slot) {
            edges.push(Edge {
                at: span.lo,
                rule,
                delta: 1,
                l7_free: span.l7_free,
            });
            edges.push(Edge {
                at: span.hi + 1,
                rule,
                delta: -1,
                l7_free: span.l7_free,
            });
        }
    }
    edges.sort_unstable_by_key(|e| e.at);
    let mut cover = vec![0u32; rules.len()];
    let mut free = vec![0u32; rules.len()];
    let mut covering = Covering::default();
    let mut intervals: Vec<PortInterval> = Vec::new();
    let mut start: u32 = 0;
    let mut next = 0;
    loop {
        // Apply every edge at `start`, then the piece [start, next edge - 1] is uniform.
        while let Some(edge) = edges.get(next).filter(|e| e.at == start) {
            apply(rules, edge, &mut cover, &mut free, &mut covering);
            next += 1;
        }
        let end = edges.get(next).map_or(65536, |e| e.at.min(65536));
        let (verdict, deciding) = covering.verdict(precedence);
        intervals.push(PortInterval {
            lo: clamp16(start),
            hi: clamp16(end - 1),
            verdict,
            rules: deciding,
        });
        if end > 65535 {
            break;
        }
        start = end;
    }
    PortFunction::from_intervals(intervals)
}

fn apply(
    rules: &[GroupRule<'_>],
    edge: &Edge,
    cover: &mut [u32],
    free: &mut [u32],
    covering: &mut Covering,
) {
    let rule = rules[edge.rule].rule;
    let is_allow = rule.action == RuleAction::Allow;
    let was_covering = cover[edge.rule] > 0;
    let was_free = free[edge.rule] > 0;
    cover[edge.rule] = cover[edge.rule].saturating_add_signed(edge.delta);
    if edge.l7_free {
        free[edge.rule] = free[edge.rule].saturating_add_signed(edge.delta);
    }
    let (is_covering, is_free) = (cover[edge.rule] > 0, free[edge.rule] > 0);
    if was_covering != is_covering {
        let sets: [(&mut ActiveIds, bool); 3] = [
            (&mut covering.denies, !is_allow),
            (&mut covering.allows, is_allow),
            (&mut covering.auth, is_allow && requires_auth(rule)),
        ];
        for (set, applies) in sets {
            match (applies, is_covering) {
                (true, true) => set.add(rule.id),
                (true, false) => set.remove(rule.id),
                (false, _) => {}
            }
        }
    }
    if is_allow && was_free != is_free {
        if is_free {
            covering.l7_free_allows += 1;
        } else {
            covering.l7_free_allows = covering.l7_free_allows.saturating_sub(1);
        }
    }
}

fn clamp16(v: u32) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}
