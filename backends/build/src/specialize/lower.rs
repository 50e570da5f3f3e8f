//! Lowers an endpoint's hash-consed decision DAG (`policyc_compile::optimize::dag`) to a small program:
//! per direction a dispatch on the peer's class, per class a dispatch on the IP protocol (the
//! protocol-0 fallback folded in at generation time), per protocol a port decision tree whose
//! leaves are constant outcomes. DAG sharing is kept: one port function per distinct DAG
//! function node, one class function per distinct DAG class node. Nothing here depends on how
//! the template path encodes its maps.

use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use petgraph::Direction as EdgeDirection;
use policyc_backends::layout::{Reason as DpReason, Verdict as DpVerdict};
use policyc_compile::optimize::classes::ClassId;
use policyc_compile::optimize::dag::{DagEdge, DagNode, DecisionDag};
use policyc_compile::optimize::layout::datapath_rule_id;
use policyc_compile::resolve::{PolicyProtocol, Verdict};
use policyc_ir::Direction;
use std::collections::{BTreeMap, HashMap};

/// What `policy_lookup` hands back: verdict, reason and the counted rule (0 = none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Outcome {
    /// `None` is `POLICYC_VERDICT_NONE` (no verdict: dropped as table corruption).
    pub verdict: Option<DpVerdict>,
    pub reason: DpReason,
    pub rule_id: u32,
}

impl Outcome {
    /// No function for the protocol and no protocol-0 fallback: the template's default.
    pub const POLICY_DEFAULT: Outcome = Outcome {
        verdict: Some(DpVerdict::DefaultDeny),
        reason: DpReason::PolicyDefault,
        rule_id: 0,
    };
    /// A class id the generated code does not know (tables out of step): dropped.
    pub const TABLE_CORRUPT: Outcome = Outcome {
        verdict: None,
        reason: DpReason::TableCorrupt,
        rule_id: 0,
    };
}

/// A port (or ICMP type) decision tree.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PortTree {
    Leaf(Outcome),
    /// `port < split ? below : at_or_above`.
    Below {
        split: u16,
        below: Box<PortTree>,
        at_or_above: Box<PortTree>,
    },
}

/// A port function as a call site sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortRef {
    /// The same outcome for every port: folded into the caller.
    Constant(Outcome),
    /// Index into [`DecisionProgram::port_functions`].
    Function(usize),
}

/// Protocol dispatch of one class behaviour.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClassCode {
    /// Protocols whose function differs from the fallback, by protocol number.
    pub cases: Vec<(u8, PortRef)>,
    /// Every other protocol: the protocol-0 function, or the policy default.
    pub fallback: PortRef,
}

/// Class dispatch of one direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectionCode {
    pub direction: Direction,
    /// false: the datapath passes the direction before any lookup; no decision code.
    pub enforced: bool,
    /// Class ids (ascending) sharing one class function (index into `class_functions`).
    pub cases: Vec<(Vec<u32>, usize)>,
}

/// The generated decision of one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionProgram {
    pub port_functions: Vec<PortTree>,
    pub class_functions: Vec<ClassCode>,
    /// Ingress, then egress.
    pub directions: Vec<DirectionCode>,
}

/// Why a DAG could not be lowered (it is built by the optimizer, so this means a bug there).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LowerError {
    #[error("the decision DAG has no root for {0}")]
    MissingRoot(Direction),
    #[error("the decision DAG has a malformed {0} node")]
    Malformed(&'static str),
}

/// Datapath verdict of a resolved verdict.
fn dp_verdict(verdict: Verdict) -> DpVerdict {
    match verdict {
        Verdict::Allow => DpVerdict::Allow,
        Verdict::Deny => DpVerdict::Deny,
        Verdict::RedirectL7(_) => DpVerdict::RedirectL7,
        Verdict::AuthRequired => DpVerdict::AuthRequired,
        Verdict::DefaultDeny => DpVerdict::DefaultDeny,
    }
}

struct Lowering<'d> {
    dag: &'d DecisionDag,
    ports: HashMap<NodeIndex, PortRef>,
    classes: HashMap<NodeIndex, usize>,
    program: DecisionProgram,
}

impl Lowering<'_> {
    fn children(&self, node: NodeIndex) -> Vec<(DagEdge, NodeIndex)> {
        self.dag
            .graph()
            .edges_directed(node, EdgeDirection::Outgoing)
            .map(|e| (*e.weight(), e.target()))
            .collect()
    }

    fn tree(&self, node: NodeIndex) -> Result<PortTree, LowerError> {
        match self.dag.graph()[node] {
            DagNode::Leaf(verdict, rule) => Ok(PortTree::Leaf(Outcome {
                verdict: Some(dp_verdict(verdict)),
                reason: DpReason::Policy,
                rule_id: datapath_rule_id(rule),
            })),
            DagNode::PortBelow(split) => {
                let children = self.children(node);
                let pick = |want: DagEdge| {
                    children
                        .iter()
                        .find(|(e, _)| *e == want)
                        .map(|(_, n)| *n)
                        .ok_or(LowerError::Malformed("port test"))
                };
                Ok(PortTree::Below {
                    split,
                    below: Box::new(self.tree(pick(DagEdge::Below)?)?),
                    at_or_above: Box::new(self.tree(pick(DagEdge::AtOrAbove)?)?),
                })
            }
            DagNode::Root(_) | DagNode::Class => Err(LowerError::Malformed("port function")),
        }
    }

    fn port_ref(&mut self, node: NodeIndex) -> Result<PortRef, LowerError> {
        if let Some(known) = self.ports.get(&node) {
            return Ok(*known);
        }
        let reference = match self.tree(node)? {
            PortTree::Leaf(outcome) => PortRef::Constant(outcome),
            tree => {
                self.program.port_functions.push(tree);
                PortRef::Function(self.program.port_functions.len() - 1)
            }
        };
        self.ports.insert(node, reference);
        Ok(reference)
    }

    fn class(&mut self, node: NodeIndex) -> Result<usize, LowerError> {
        if let Some(known) = self.classes.get(&node) {
            return Ok(*known);
        }
        let mut by_protocol: BTreeMap<u8, NodeIndex> = BTreeMap::new();
        for (edge, child) in self.children(node) {
            match edge {
                DagEdge::Protocol(protocol) => {
                    by_protocol.insert(protocol.number(), child);
                }
                _ => return Err(LowerError::Malformed("class")),
            }
        }
        let fallback_node = by_protocol.get(&PolicyProtocol::Other.number()).copied();
        let fallback = match fallback_node {
            Some(n) => self.port_ref(n)?,
            None => PortRef::Constant(Outcome::POLICY_DEFAULT),
        };
        let mut cases = Vec::new();
        for (protocol, child) in by_protocol {
            // Protocol 0 is the fallback itself; equal functions are one DAG node (hash-consed),
            // so a protocol whose function is the fallback's needs no case.
            if protocol == PolicyProtocol::Other.number() || Some(child) == fallback_node {
                continue;
            }
            let reference = self.port_ref(child)?;
            if reference != fallback {
                cases.push((protocol, reference));
            }
        }
        let code = ClassCode { cases, fallback };
        let index = match self.program.class_functions.iter().position(|c| *c == code) {
            Some(i) => i,
            None => {
                self.program.class_functions.push(code);
                self.program.class_functions.len() - 1
            }
        };
        self.classes.insert(node, index);
        Ok(index)
    }

    fn direction(&mut self, direction: Direction, enforced: bool) -> Result<(), LowerError> {
        let graph = self.dag.graph();
        let root = graph
            .node_indices()
            .find(|n| graph[*n] == DagNode::Root(direction))
            .ok_or(LowerError::MissingRoot(direction))?;
        let mut cases: Vec<(Vec<u32>, usize)> = Vec::new();
        if enforced {
            let mut by_class: BTreeMap<ClassId, NodeIndex> = BTreeMap::new();
            for (edge, child) in self.children(root) {
                match edge {
                    DagEdge::Class(class) => {
                        by_class.insert(class, child);
                    }
                    _ => return Err(LowerError::Malformed("direction root")),
                }
            }
            for (class, node) in by_class {
                let function = self.class(node)?;
                match cases.iter_mut().find(|(_, f)| *f == function) {
                    Some((ids, _)) => ids.push(class.0),
                    None => cases.push((vec![class.0], function)),
                }
            }
        }
        self.program.directions.push(DirectionCode {
            direction,
            enforced,
            cases,
        });
        Ok(())
    }
}

/// Lowers the DAG of an endpoint; `enforced(direction)` says whether the datapath reaches the
/// decision in that direction at all (the `.rodata` `enforced` flag).
pub fn lower(
    dag: &DecisionDag,
    enforced: impl Fn(Direction) -> bool,
) -> Result<DecisionProgram, LowerError> {
    let mut lowering = Lowering {
        dag,
        ports: HashMap::new(),
        classes: HashMap::new(),
        program: DecisionProgram {
            port_functions: Vec::new(),
            class_functions: Vec::new(),
            directions: Vec::new(),
        },
    };
    for direction in [Direction::Ingress, Direction::Egress] {
        lowering.direction(direction, enforced(direction))?;
    }
    Ok(lowering.program)
}

/// BPF instructions (before the verifier) the generated decision costs, with every inlined
/// function counted at each call site: a compare-and-branch is 2, a constant return 3
/// (64-bit immediate + exit). The decision is a tree, so the verifier processes each of these
/// once: this is also the verifier's work for the generated part.
pub fn estimated_instructions(program: &DecisionProgram) -> u64 {
    fn tree(t: &PortTree) -> u64 {
        match t {
            PortTree::Leaf(_) => 3,
            PortTree::Below {
                below, at_or_above, ..
            } => 2 + tree(below) + tree(at_or_above),
        }
    }
    let port_sizes: Vec<u64> = program.port_functions.iter().map(tree).collect();
    let port = |r: &PortRef| match r {
        PortRef::Constant(_) => 3,
        PortRef::Function(i) => port_sizes.get(*i).copied().unwrap_or(0),
    };
    let class_sizes: Vec<u64> = program
        .class_functions
        .iter()
        .map(|c| c.cases.iter().map(|(_, r)| 2 + port(r)).sum::<u64>() + port(&c.fallback))
        .collect();
    program
        .directions
        .iter()
        .map(|d| {
            3 + d
                .cases
                .iter()
                .map(|(ids, f)| 2 * ids.len() as u64 + class_sizes.get(*f).copied().unwrap_or(0))
                .sum::<u64>()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use policyc_compile::optimize::classes::{ClassBehaviour, DatapathInterval, DirectionClasses};
    use policyc_ir::{NumericIdentity, RuleId};
    use std::collections::BTreeMap;
    use test_case::test_case;

    fn constant(verdict: Verdict) -> Vec<DatapathInterval> {
        vec![DatapathInterval {
            lo: 0,
            hi: u16::MAX,
            verdict,
            rule: None,
        }]
    }

    /// Allow `port` (credited to rule 7), default-deny elsewhere.
    fn one_port(port: u16) -> Vec<DatapathInterval> {
        let deny = |lo, hi| DatapathInterval {
            lo,
            hi,
            verdict: Verdict::DefaultDeny,
            rule: None,
        };
        vec![
            deny(0, port - 1),
            DatapathInterval {
                lo: port,
                hi: port,
                verdict: Verdict::Allow,
                rule: Some(RuleId(7)),
            },
            deny(port + 1, u16::MAX),
        ]
    }

    fn behaviour(entries: &[(PolicyProtocol, Vec<DatapathInterval>)]) -> ClassBehaviour {
        entries.iter().cloned().collect()
    }

    fn classes(direction: Direction, behaviours: Vec<ClassBehaviour>) -> DirectionClasses {
        let class_of: BTreeMap<NumericIdentity, ClassId> = (1..behaviours.len())
            .map(|i| (NumericIdentity(1000 + i as u32), ClassId(i as u32)))
            .collect();
        DirectionClasses {
            direction,
            enforced: true,
            classes: behaviours,
            class_of,
        }
    }

    fn program(ingress: Vec<ClassBehaviour>) -> DecisionProgram {
        let ingress = classes(Direction::Ingress, ingress);
        let egress = classes(
            Direction::Egress,
            vec![behaviour(&[(
                PolicyProtocol::Other,
                constant(Verdict::Allow),
            )])],
        );
        let dag = DecisionDag::build(&[&ingress, &egress]);
        lower(&dag, |_| true).expect("the optimizer's DAG lowers")
    }

    fn ingress(p: &DecisionProgram) -> &DirectionCode {
        &p.directions[0]
    }

    #[test]
    fn protocols_equal_to_the_fallback_get_no_case() {
        let deny = constant(Verdict::DefaultDeny);
        let p = program(vec![behaviour(&[
            (PolicyProtocol::Tcp, one_port(80)),
            (PolicyProtocol::Udp, deny.clone()),
            (PolicyProtocol::Other, deny),
        ])]);
        let class = &p.class_functions[0];
        assert_eq!(class.cases.len(), 1, "{class:?}");
        assert_eq!(class.cases[0].0, 6);
        assert!(
            matches!(class.fallback, PortRef::Constant(o) if o.verdict == Some(DpVerdict::DefaultDeny))
        );
    }

    #[test]
    fn a_class_without_protocol_zero_falls_back_to_the_policy_default() {
        let p = program(vec![behaviour(&[(PolicyProtocol::Tcp, one_port(443))])]);
        assert_eq!(
            p.class_functions[0].fallback,
            PortRef::Constant(Outcome::POLICY_DEFAULT)
        );
    }

    #[test]
    fn equal_port_functions_share_one_function_and_equal_classes_one_case() {
        let deny = constant(Verdict::DefaultDeny);
        let p = program(vec![
            behaviour(&[(PolicyProtocol::Other, deny.clone())]),
            behaviour(&[
                (PolicyProtocol::Tcp, one_port(80)),
                (PolicyProtocol::Other, deny.clone()),
            ]),
            behaviour(&[
                (PolicyProtocol::Tcp, one_port(80)),
                (PolicyProtocol::Udp, one_port(80)),
                (PolicyProtocol::Other, deny),
            ]),
        ]);
        assert_eq!(p.port_functions.len(), 1, "one shared port tree");
        // Three ingress behaviours plus the egress allow-all.
        assert_eq!(p.class_functions.len(), 4);
        let cases: Vec<Vec<u32>> = ingress(&p)
            .cases
            .iter()
            .map(|(ids, _)| ids.clone())
            .collect();
        assert_eq!(cases, vec![vec![0], vec![1], vec![2]]);
    }

    #[test_case(80 ; "port at the allowed one")]
    #[test_case(79 ; "port just below")]
    #[test_case(81 ; "port just above")]
    #[test_case(0 ; "port zero")]
    #[test_case(65535 ; "highest port")]
    fn the_port_tree_decides_like_the_intervals(port: u16) {
        let p = program(vec![behaviour(&[(PolicyProtocol::Tcp, one_port(80))])]);
        let mut tree = &p.port_functions[0];
        let outcome = loop {
            match tree {
                PortTree::Leaf(o) => break *o,
                PortTree::Below {
                    split,
                    below,
                    at_or_above,
                } => tree = if port < *split { below } else { at_or_above },
            }
        };
        let want = if port == 80 {
            (Some(DpVerdict::Allow), 8)
        } else {
            (Some(DpVerdict::DefaultDeny), 0)
        };
        assert_eq!((outcome.verdict, outcome.rule_id), want);
        assert_eq!(outcome.reason, DpReason::Policy);
    }

    #[test]
    fn a_direction_that_is_not_enforced_has_no_cases() {
        let ingress = classes(
            Direction::Ingress,
            vec![behaviour(&[(PolicyProtocol::Tcp, one_port(80))])],
        );
        let egress = classes(Direction::Egress, vec![ClassBehaviour::new()]);
        let dag = DecisionDag::build(&[&ingress, &egress]);
        let p = lower(&dag, |d| d == Direction::Ingress).expect("lowers");
        assert!(p.directions[1].cases.is_empty());
        assert!(!p.directions[1].enforced);
    }

    /// Allow every 10th port from 100 (50 ports), default-deny between.
    fn fifty_ports() -> Vec<DatapathInterval> {
        let mut intervals = Vec::new();
        let mut next = 0u16;
        for i in 0..50u16 {
            let port = 100 + 10 * i;
            intervals.push(DatapathInterval {
                lo: next,
                hi: port - 1,
                verdict: Verdict::DefaultDeny,
                rule: None,
            });
            intervals.push(DatapathInterval {
                lo: port,
                hi: port,
                verdict: Verdict::Allow,
                rule: Some(RuleId(1)),
            });
            next = port + 1;
        }
        intervals.push(DatapathInterval {
            lo: next,
            hi: u16::MAX,
            verdict: Verdict::DefaultDeny,
            rule: None,
        });
        intervals
    }

    #[test]
    fn the_estimate_grows_with_the_port_trees() {
        let small = program(vec![behaviour(&[(PolicyProtocol::Tcp, one_port(80))])]);
        let many = fifty_ports();
        let large = program(vec![behaviour(&[(PolicyProtocol::Tcp, many)])]);
        assert!(estimated_instructions(&large) > 10 * estimated_instructions(&small));
    }
}
