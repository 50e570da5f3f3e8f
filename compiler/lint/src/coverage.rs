//! Conservative set relations between rule parts (peers, ports, subjects) that the semantic lints
//! share. "Covers" answers yes only when it is certain, so lints built on it never claim a rule is
//! redundant when it is not; "may overlap" answers no only when it is certain.

use policyc_ir::rule::{PortProtocol, PortRule};
use policyc_ir::selector::{Operator, Requirement};
use policyc_ir::{
    EndpointSelector, Entity, L7Rules, Peer, PeerSet, PortMatch, PortSpec, Protocol, Subject,
};

/// Does `outer` certainly match every identity `inner` matches?
#[must_use]
pub fn peer_covers(outer: &Peer, inner: &Peer) -> bool {
    if outer == inner {
        return true;
    }
    match (outer, inner) {
        (Peer::Entity(Entity::All), _) => true,
        (
            Peer::Entity(Entity::World),
            Peer::Cidr { .. } | Peer::Entity(Entity::WorldIpv4 | Entity::WorldIpv6),
        ) => true,
        (Peer::Entity(Entity::WorldIpv4), Peer::Cidr { prefix, .. }) => prefix.is_ipv4(),
        (Peer::Entity(Entity::WorldIpv6), Peer::Cidr { prefix, .. }) => !prefix.is_ipv4(),
        (
            Peer::Cidr {
                prefix: outer,
                except,
            },
            Peer::Cidr {
                prefix: inner,
                except: inner_except,
            },
        ) => {
            outer.contains(inner)
                && except.iter().all(|hole| {
                    // A hole of the outer prefix must lie outside `inner` or inside one of its own holes.
                    !inner.contains(hole) && !hole.contains(inner)
                        || inner_except.iter().any(|h| h.contains(hole))
                })
        }
        (Peer::Cidr { prefix, except }, Peer::Entity(Entity::WorldIpv4)) => {
            except.is_empty() && prefix.is_default_route() && prefix.is_ipv4()
        }
        (Peer::Cidr { prefix, except }, Peer::Entity(Entity::WorldIpv6)) => {
            except.is_empty() && prefix.is_default_route() && !prefix.is_ipv4()
        }
        (Peer::Endpoints(outer), Peer::Endpoints(inner))
        | (Peer::Nodes(outer), Peer::Nodes(inner)) => selector_covers(outer, inner),
        _ => false,
    }
}

/// Does `outer` certainly select every peer `inner` selects? (An empty `inner` selects nothing
/// and is reported as covered only when `outer` is identical, to keep findings meaningful.)
#[must_use]
pub fn peers_cover(outer: &PeerSet, inner: &PeerSet) -> bool {
    match (outer, inner) {
        (PeerSet::All, _) => true,
        (PeerSet::Some(outer), PeerSet::All) => {
            outer.iter().any(|p| matches!(p, Peer::Entity(Entity::All)))
        }
        (PeerSet::Some(outer), PeerSet::Some(inner)) => {
            !inner.is_empty()
                && inner
                    .iter()
                    .all(|i| outer.iter().any(|o| peer_covers(o, i)))
        }
    }
}

/// The inner peers that `outer` certainly covers.
pub fn covered_peers<'a>(outer: &'a PeerSet, inner: &'a PeerSet) -> Vec<&'a Peer> {
    match inner {
        PeerSet::All => Vec::new(),
        PeerSet::Some(peers) => peers
            .iter()
            .filter(|p| match outer {
                PeerSet::All => true,
                PeerSet::Some(outer) => outer.iter().any(|o| peer_covers(o, p)),
            })
            .collect(),
    }
}

/// Selector subset by requirements: every requirement of `outer` is also one of `inner`, so
/// whatever `inner` selects `outer` selects too.
#[must_use]
pub fn selector_covers(outer: &EndpointSelector, inner: &EndpointSelector) -> bool {
    outer
        .requirements()
        .all(|r| inner.requirements().any(|i| i == r))
}

/// Do the subjects certainly select the same or a wider set (`outer` ⊇ `inner`)?
#[must_use]
pub fn subject_covers(outer: &Subject, inner: &Subject) -> bool {
    match (outer, inner) {
        (Subject::Endpoints(o), Subject::Endpoints(i)) | (Subject::Nodes(o), Subject::Nodes(i)) => {
            selector_covers(o, i)
        }
        _ => false,
    }
}

/// Finds, among many subjects, those that may cover a given one ([`subject_covers`]) without
/// comparing it with all of them: a covering subject's requirements are all requirements of
/// the covered one, so each subject is filed under ONE of its requirements (the rarest among
/// all subjects), and a lookup visits only the files of the covered subject's own requirements
/// (plus the subjects without requirements). Linear in the input for the lints that pair every
/// rule with every other rule of the same endpoints.
pub struct SubjectIndex {
    by_anchor: std::collections::HashMap<(bool, policyc_ir::selector::Requirement), Vec<usize>>,
    unconstrained: Vec<usize>,
}

impl SubjectIndex {
    /// Indexes `subjects` by position.
    pub fn new<'a>(subjects: impl Iterator<Item = &'a Subject> + Clone) -> SubjectIndex {
        let mut frequency: std::collections::HashMap<
            (bool, &policyc_ir::selector::Requirement),
            usize,
        > = std::collections::HashMap::new();
        for subject in subjects.clone() {
            let (nodes, selector) = Self::parts(subject);
            for requirement in selector.requirements() {
                *frequency.entry((nodes, requirement)).or_default() += 1;
            }
        }
        let mut index = SubjectIndex {
            by_anchor: std::collections::HashMap::new(),
            unconstrained: Vec::new(),
        };
        for (position, subject) in subjects.enumerate() {
            let (nodes, selector) = Self::parts(subject);
            let anchor = selector
                .requirements()
                .min_by_key(|r| (frequency.get(&(nodes, *r)).copied().unwrap_or(0), *r));
            match anchor {
                Some(requirement) => index
                    .by_anchor
                    .entry((nodes, requirement.clone()))
                    .or_default()
                    .push(position),
                None => index.unconstrained.push(position),
            }
        }
        index
    }

    fn parts(subject: &Subject) -> (bool, &EndpointSelector) {
        match subject {
            Subject::Endpoints(selector) => (false, selector),
            Subject::Nodes(selector) => (true, selector),
        }
    }

    /// Positions of the subjects that may cover `inner`, in ascending order (a superset of
    /// those for which [`subject_covers`] holds: callers still check).
    pub fn candidates(&self, inner: &Subject) -> Vec<usize> {
        let (nodes, selector) = Self::parts(inner);
        let mut out = self.unconstrained.clone();
        for requirement in selector.requirements() {
            // Requirement is cloned for the lookup key: requirements are small (a key and a
            // few values) and lookups are one per rule.
            if let Some(positions) = self.by_anchor.get(&(nodes, requirement.clone())) {
                out.extend_from_slice(positions);
            }
        }
        out.sort_unstable();
        out
    }
}

/// Finds, among many subjects, those that may overlap a given one ([`subjects_may_overlap`])
/// without comparing it with all of them. Two selectors with `In` requirements on the same key
/// overlap only if the value sets meet, so each subject with an `In` requirement is filed
/// under that requirement's key (the key most subjects constrain, usually the namespace) and
/// each of its values; a lookup visits the subjects filed under the values the queried
/// subject allows for that key, the subjects filed under keys it does not constrain with `In`,
/// and those without any `In`. PC0302 asked every default-deny egress rule against every DNS
/// allow: quadratic in the number of policies.
pub struct OverlapIndex {
    /// Anchor key → value → positions.
    by_value: std::collections::HashMap<
        policyc_ir::LabelKey,
        std::collections::HashMap<String, Vec<usize>>,
    >,
    /// Anchor key → every position filed under it.
    by_key: std::collections::HashMap<policyc_ir::LabelKey, Vec<usize>>,
    unanchored: Vec<usize>,
}

impl OverlapIndex {
    /// Indexes `subjects` by position.
    pub fn new<'a>(subjects: impl Iterator<Item = &'a Subject> + Clone) -> OverlapIndex {
        let mut frequency: std::collections::HashMap<&policyc_ir::LabelKey, usize> =
            std::collections::HashMap::new();
        for subject in subjects.clone() {
            for requirement in Self::ins(subject) {
                *frequency.entry(&requirement.key).or_default() += 1;
            }
        }
        let mut index = OverlapIndex {
            by_value: std::collections::HashMap::new(),
            by_key: std::collections::HashMap::new(),
            unanchored: Vec::new(),
        };
        for (position, subject) in subjects.enumerate() {
            let anchor = Self::ins(subject).max_by(|a, b| {
                let count = |r: &Requirement| frequency.get(&r.key).copied().unwrap_or(0);
                count(a).cmp(&count(b)).then_with(|| b.key.cmp(&a.key))
            });
            match anchor {
                Some(requirement) => {
                    let values = index.by_value.entry(requirement.key.clone()).or_default();
                    for value in &requirement.values {
                        values.entry(value.clone()).or_default().push(position);
                    }
                    index
                        .by_key
                        .entry(requirement.key.clone())
                        .or_default()
                        .push(position);
                }
                None => index.unanchored.push(position),
            }
        }
        index
    }

    fn ins(subject: &Subject) -> impl Iterator<Item = &Requirement> {
        let (Subject::Endpoints(selector) | Subject::Nodes(selector)) = subject;
        selector
            .requirements()
            .filter(|r| r.operator == Operator::In)
    }

    /// Positions of the subjects that may overlap `other`, ascending and without repeats (a
    /// superset of those for which [`subjects_may_overlap`] holds: callers still check).
    pub fn candidates(&self, other: &Subject) -> Vec<usize> {
        let mut out = self.unanchored.clone();
        for (key, positions) in &self.by_key {
            // `other`'s values for this key, when it constrains it with `In` (several `In`
            // requirements on one key: any of them excludes the rest, the first is enough).
            match Self::ins(other).find(|r| &r.key == key) {
                Some(requirement) => {
                    if let Some(values) = self.by_value.get(key) {
                        for value in &requirement.values {
                            out.extend(values.get(value).into_iter().flatten());
                        }
                    }
                }
                None => out.extend_from_slice(positions),
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Could some endpoint be selected by both subjects? False only when two requirements on the
/// same key contradict each other.
#[must_use]
pub fn subjects_may_overlap(a: &Subject, b: &Subject) -> bool {
    match (a, b) {
        (Subject::Endpoints(a), Subject::Endpoints(b)) | (Subject::Nodes(a), Subject::Nodes(b)) => {
            selectors_may_overlap(a, b)
        }
        _ => false,
    }
}

#[must_use]
pub fn selectors_may_overlap(a: &EndpointSelector, b: &EndpointSelector) -> bool {
    a.requirements().all(|ra| {
        b.requirements().filter(|rb| rb.key == ra.key).all(|rb| {
            use Operator::{DoesNotExist, Exists, In, NotIn};
            match (ra.operator, rb.operator) {
                (In, In) => ra.values.intersection(&rb.values).next().is_some(),
                (In, NotIn) => !ra.values.is_subset(&rb.values),
                (NotIn, In) => !rb.values.is_subset(&ra.values),
                (In | Exists, DoesNotExist) | (DoesNotExist, In | Exists) => false,
                _ => true,
            }
        })
    })
}

/// Does `outer`'s protocol cover `inner`'s (ANY covers TCP, UDP, SCTP and ANY)?
fn protocol_covers(outer: Protocol, inner: Protocol) -> bool {
    outer == inner || (outer == Protocol::Any && inner.has_ports())
}

/// Does one `ports[]` entry certainly cover another?
#[must_use]
pub fn port_protocol_covers(outer: &PortProtocol, inner: &PortProtocol) -> bool {
    protocol_covers(outer.protocol, inner.protocol)
        && match (&outer.port, &inner.port) {
            (PortSpec::Range(o), PortSpec::Range(i)) => o.lo() <= i.lo() && i.hi() <= o.hi(),
            (PortSpec::Range(o), PortSpec::Named(_)) => o.is_all(),
            (PortSpec::Named(o), PortSpec::Named(i)) => o == i,
            (PortSpec::Named(_), PortSpec::Range(_)) => false,
        }
}

/// The ports of a port rule; an empty list means every port of every protocol.
fn port_rule_covers_entry(outer: &PortRule, inner: &PortProtocol) -> bool {
    outer.ports.is_empty() || outer.ports.iter().any(|o| port_protocol_covers(o, inner))
}

/// Is a port rule free of anything beyond L4 (no L7, no SNI, no TLS/listener)?
#[must_use]
pub fn is_plain_l4(rule: &PortRule) -> bool {
    rule.l7.is_none() && rule.server_names.is_empty() && rule.unsupported.is_empty()
}

/// Does `outer` certainly allow (or deny) every port `inner` does, with the same or no L7
/// restriction? With `ignore_inner_l7`, the inner rule's L7 part is disregarded (a deny wins over
/// any L7 allow).
#[must_use]
pub fn ports_cover(outer: &PortMatch, inner: &PortMatch, ignore_inner_l7: bool) -> bool {
    match (outer, inner) {
        (PortMatch::Any, _) => true,
        (PortMatch::Icmps(o), PortMatch::Icmps(i)) => {
            !i.is_empty() && i.iter().all(|m| o.contains(m))
        }
        (PortMatch::Ports(outer), PortMatch::Ports(inner)) => {
            !inner.is_empty()
                && inner.iter().all(|inner_rule| {
                    let l7_ok = |o: &PortRule| {
                        if ignore_inner_l7 || is_plain_l4(o) && is_plain_l4(inner_rule) {
                            is_plain_l4(o)
                        } else {
                            o.l7 == inner_rule.l7
                                && o.server_names == inner_rule.server_names
                                && o.unsupported == inner_rule.unsupported
                        }
                    };
                    if inner_rule.ports.is_empty() {
                        return outer.iter().any(|o| o.ports.is_empty() && l7_ok(o));
                    }
                    inner_rule.ports.iter().all(|entry| {
                        outer
                            .iter()
                            .any(|o| l7_ok(o) && port_rule_covers_entry(o, entry))
                    })
                })
        }
        _ => false,
    }
}

/// Does `outer` certainly cover every (protocol, port) of `entry` with no L7 restriction?
#[must_use]
pub fn allows_port_without_l7(outer: &PortMatch, entry: &PortProtocol) -> bool {
    match outer {
        PortMatch::Any => true,
        PortMatch::Icmps(_) => false,
        PortMatch::Ports(rules) => rules
            .iter()
            .any(|r| is_plain_l4(r) && port_rule_covers_entry(r, entry)),
    }
}

/// A peer set that includes the whole Internet (world), not just some CIDRs.
#[must_use]
pub fn includes_world(peers: &PeerSet) -> Option<String> {
    match peers {
        PeerSet::All => Some("every peer (no `from` field)".to_string()),
        PeerSet::Some(peers) => peers.iter().find_map(|p| match p {
            Peer::Entity(
                e @ (Entity::All | Entity::World | Entity::WorldIpv4 | Entity::WorldIpv6),
            ) => Some(format!("entity `{e}`")),
            Peer::Cidr { prefix, except } if prefix.is_default_route() && except.is_empty() => {
                Some(format!("`{prefix}`"))
            }
            _ => None,
        }),
    }
}

/// Does the rule's L4 part include every port (of some protocol, or all)?
#[must_use]
pub fn includes_all_ports(ports: &PortMatch) -> bool {
    match ports {
        PortMatch::Any => true,
        PortMatch::Icmps(_) => false,
        PortMatch::Ports(rules) => rules.iter().any(|r| {
            is_plain_l4(r)
                && (r.ports.is_empty()
                    || r.ports
                        .iter()
                        .any(|p| matches!(p.port, PortSpec::Range(range) if range.is_all())))
        }),
    }
}

/// Is L7 policy (other than DNS, whose proxying has its own rules) attached to the port rule?
#[must_use]
pub fn has_enforcing_l7(rule: &PortRule) -> bool {
    matches!(
        rule.l7,
        L7Rules::Http(_) | L7Rules::Kafka(_) | L7Rules::Generic { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use policyc_ir::{LabelKey, LabelSource, PortRange, Prefix, Requirement};
    use test_case::test_case;

    fn cidr(text: &str, except: &[&str]) -> Peer {
        let parse =
            |t: &str| Prefix::parse(t).unwrap_or_else(|_| Prefix::host([0, 0, 0, 0].into()));
        Peer::Cidr {
            prefix: parse(text),
            except: except.iter().map(|e| parse(e)).collect(),
        }
    }

    /// Every subject built from subsets of a few requirements (pods and nodes, with repeats):
    /// the index offers, in ascending order, every subject that covers another one.
    #[test]
    fn subject_index_offers_every_covering_subject() {
        let pool = [
            Requirement::equals(LabelKey::new(LabelSource::K8s, "app"), "a"),
            Requirement::equals(LabelKey::new(LabelSource::K8s, "app"), "b"),
            Requirement::equals(LabelKey::new(LabelSource::K8s, "tier"), "x"),
            Requirement::equals(
                LabelKey::new(LabelSource::K8s, "io.kubernetes.pod.namespace"),
                "shop",
            ),
        ];
        let mut subjects = Vec::new();
        for mask in 0u32..(1 << pool.len()) {
            let selector = EndpointSelector::from_requirements(
                pool.iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, r)| r.clone()),
            );
            subjects.push(Subject::Endpoints(selector.clone()));
            subjects.push(Subject::Nodes(selector.clone()));
            if mask % 3 == 0 {
                subjects.push(Subject::Endpoints(selector));
            }
        }
        let index = SubjectIndex::new(subjects.iter());
        for inner in &subjects {
            let candidates = index.candidates(inner);
            assert!(candidates.windows(2).all(|w| w[0] < w[1]), "{candidates:?}");
            for (position, outer) in subjects.iter().enumerate() {
                if subject_covers(outer, inner) {
                    assert!(
                        candidates.contains(&position),
                        "{outer:?} covers {inner:?} but is not offered"
                    );
                }
            }
        }
    }

    /// Every subject built from subsets of requirements with In, NotIn, Exists and
    /// DoesNotExist on shared keys (pods and nodes): the overlap index offers, ascending and
    /// once each, every subject that may overlap another, and leaves out some that cannot.
    #[test]
    fn overlap_index_offers_every_subject_that_may_overlap() {
        use policyc_ir::selector::Operator;
        let key = |k: &str| LabelKey::new(LabelSource::K8s, k);
        let values = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let pool = [
            Requirement::new(key("ns"), Operator::In, values(&["a"])),
            Requirement::new(key("ns"), Operator::In, values(&["b", "c"])),
            Requirement::new(key("ns"), Operator::NotIn, values(&["a"])),
            Requirement::new(key("app"), Operator::In, values(&["x"])),
            Requirement::new(key("app"), Operator::DoesNotExist, values(&[])),
            Requirement::new(key("tier"), Operator::Exists, values(&[])),
        ];
        let mut subjects = Vec::new();
        for mask in 0u32..(1 << pool.len()) {
            let selector = EndpointSelector::from_requirements(
                pool.iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, r)| r.clone()),
            );
            subjects.push(Subject::Endpoints(selector.clone()));
            subjects.push(Subject::Nodes(selector));
        }
        let index = OverlapIndex::new(subjects.iter());
        let mut left_out = 0;
        for other in &subjects {
            let candidates = index.candidates(other);
            assert!(candidates.windows(2).all(|w| w[0] < w[1]), "{candidates:?}");
            for (position, subject) in subjects.iter().enumerate() {
                if subjects_may_overlap(subject, other) {
                    assert!(
                        candidates.contains(&position),
                        "{subject:?} may overlap {other:?} but is not offered"
                    );
                }
            }
            left_out += subjects.len() - candidates.len();
        }
        assert!(
            left_out > 0,
            "the index offers everything: it saves nothing"
        );
    }

    fn app(value: &str) -> EndpointSelector {
        EndpointSelector::wildcard().with(Requirement::equals(
            LabelKey::new(LabelSource::K8s, "app"),
            value,
        ))
    }

    fn tcp(lo: u16, hi: u16) -> PortProtocol {
        PortProtocol {
            protocol: Protocol::Tcp,
            port: PortSpec::Range(PortRange::new(lo, hi).unwrap_or(PortRange::ALL)),
        }
    }

    #[test_case(Peer::Entity(Entity::All), cidr("10.0.0.0/8", &[]), true; "entity all covers cidr")]
    #[test_case(Peer::Entity(Entity::World), cidr("10.0.0.0/8", &[]), true; "world covers cidr")]
    #[test_case(Peer::Entity(Entity::WorldIpv6), cidr("10.0.0.0/8", &[]), false; "world ipv6 does not cover ipv4")]
    #[test_case(cidr("10.0.0.0/8", &[]), cidr("10.1.0.0/16", &[]), true; "wider cidr covers narrower")]
    #[test_case(cidr("10.1.0.0/16", &[]), cidr("10.0.0.0/8", &[]), false; "narrower does not cover wider")]
    #[test_case(cidr("10.0.0.0/8", &["10.1.0.0/16"]), cidr("10.1.2.0/24", &[]), false; "except hole is not covered")]
    #[test_case(cidr("10.0.0.0/8", &["10.1.0.0/16"]), cidr("10.2.0.0/16", &[]), true; "except elsewhere is fine")]
    #[test_case(Peer::Endpoints(EndpointSelector::wildcard()), Peer::Endpoints(app("web")), true; "wildcard selector covers")]
    #[test_case(Peer::Endpoints(app("db")), Peer::Endpoints(app("web")), false; "different selectors")]
    #[test_case(Peer::Entity(Entity::World), Peer::Endpoints(app("web")), false; "world never covers pods")]
    fn peer_coverage(outer: Peer, inner: Peer, expected: bool) {
        assert_eq!(peer_covers(&outer, &inner), expected);
    }

    #[test]
    fn port_ranges_and_any_protocol() {
        let any_80_90 = PortProtocol {
            protocol: Protocol::Any,
            ..tcp(80, 90)
        };
        assert!(port_protocol_covers(&any_80_90, &tcp(80, 80)));
        assert!(!port_protocol_covers(&tcp(80, 80), &any_80_90));
        assert!(!port_protocol_covers(&tcp(80, 85), &tcp(84, 86)));
    }

    #[test]
    fn contradicting_selectors_do_not_overlap() {
        assert!(!selectors_may_overlap(&app("web"), &app("db")));
        assert!(selectors_may_overlap(
            &app("web"),
            &EndpointSelector::wildcard()
        ));
    }
}
