//! The decision DAG of one endpoint: `direction → class → protocol → port tests → verdict`,
//! hash-consed in a petgraph graph so equal sub-functions (the same port function under two
//! classes or two protocols, the same verdict leaf) are one node. `diff` and `explain` read it
//! through [`DecisionDag::decide`]; the layout step reads its node counts.

use super::classes::{ClassId, DatapathInterval, DirectionClasses};
use crate::resolve::{PolicyProtocol, Verdict};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction as EdgeDirection;
use policyc_ir::{Direction, RuleId};
use std::collections::HashMap;

/// A node of the decision DAG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DagNode {
    /// Entry for one direction of the endpoint.
    Root(Direction),
    /// The behaviour shared by every identity of a class.
    Class,
    /// A port test: edge `Below` if the port is `< split`, else `AtOrAbove`.
    PortBelow(u16),
    /// The outcome.
    Leaf(Verdict, Option<RuleId>),
}

/// An edge label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DagEdge {
    Class(ClassId),
    Protocol(PolicyProtocol),
    Below,
    AtOrAbove,
}

/// The hash-consed DAG of one endpoint (both directions).
#[derive(Debug, Clone, Default)]
pub struct DecisionDag {
    graph: DiGraph<DagNode, DagEdge>,
    interned: HashMap<(DagNode, Vec<(DagEdge, NodeIndex)>), NodeIndex>,
    roots: Vec<(Direction, NodeIndex)>,
}

impl DecisionDag {
    /// Builds the DAG for the given direction classes.
    pub fn build(directions: &[&DirectionClasses]) -> Self {
        let mut dag = Self::default();
        for classes in directions {
            let mut class_edges = Vec::with_capacity(classes.classes.len());
            for (index, behaviour) in classes.classes.iter().enumerate() {
                let protocol_edges: Vec<(DagEdge, NodeIndex)> = behaviour
                    .iter()
                    .map(|(protocol, function)| {
                        (DagEdge::Protocol(*protocol), dag.function_node(function))
                    })
                    .collect();
                let class_node = dag.intern(DagNode::Class, protocol_edges);
                class_edges.push((
                    DagEdge::Class(ClassId(u32::try_from(index).unwrap_or(u32::MAX))),
                    class_node,
                ));
            }
            let root = dag.intern(DagNode::Root(classes.direction), class_edges);
            dag.roots.push((classes.direction, root));
        }
        dag
    }

    fn intern(&mut self, node: DagNode, children: Vec<(DagEdge, NodeIndex)>) -> NodeIndex {
        let key = (node, children);
        if let Some(index) = self.interned.get(&key) {
            return *index;
        }
        let index = self.graph.add_node(node);
        for (edge, child) in &key.1 {
            self.graph.add_edge(index, *child, *edge);
        }
        self.interned.insert(key, index);
        index
    }

    /// A balanced tree of port tests over sorted intervals.
    fn function_node(&mut self, intervals: &[DatapathInterval]) -> NodeIndex {
        match intervals {
            [] => self.intern(DagNode::Leaf(Verdict::DefaultDeny, None), Vec::new()),
            [only] => self.intern(DagNode::Leaf(only.verdict, only.rule), Vec::new()),
            _ => {
                let mid = intervals.len() / 2;
                let split = intervals[mid].lo;
                let below = self.function_node(&intervals[..mid]);
                let above = self.function_node(&intervals[mid..]);
                self.intern(
                    DagNode::PortBelow(split),
                    vec![(DagEdge::Below, below), (DagEdge::AtOrAbove, above)],
                )
            }
        }
    }

    pub fn graph(&self) -> &DiGraph<DagNode, DagEdge> {
        &self.graph
    }

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// Walks the DAG: the verdict and counted rule for a peer class, protocol and port.
    pub fn decide(
        &self,
        direction: Direction,
        class: ClassId,
        protocol: PolicyProtocol,
        port: u16,
    ) -> Option<(Verdict, Option<RuleId>)> {
        let root = self
            .roots
            .iter()
            .find(|(d, _)| *d == direction)
            .map(|(_, r)| *r)?;
        let class_node = self.child(root, |e| *e == DagEdge::Class(class))?;
        let mut node = self.child(class_node, |e| *e == DagEdge::Protocol(protocol))?;
        loop {
            match self.graph[node] {
                DagNode::Leaf(verdict, rule) => return Some((verdict, rule)),
                DagNode::PortBelow(split) => {
                    let want = if port < split {
                        DagEdge::Below
                    } else {
                        DagEdge::AtOrAbove
                    };
                    node = self.child(node, |e| *e == want)?;
                }
                DagNode::Root(_) | DagNode::Class => return None,
            }
        }
    }

    fn child(&self, node: NodeIndex, pick: impl Fn(&DagEdge) -> bool) -> Option<NodeIndex> {
        self.graph
            .edges_directed(node, EdgeDirection::Outgoing)
            .find(|e| pick(e.weight()))
            .map(|e| e.target())
    }
}
