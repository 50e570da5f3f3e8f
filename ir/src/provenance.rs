//! Where a rule came from: the policy object and the exact source location, kept through every
//! stage so a drop event, a diff row or a lint finding can name the rule.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PolicyKind {
    CiliumNetworkPolicy,
    CiliumClusterwideNetworkPolicy,
    NetworkPolicy,
}

impl PolicyKind {
    pub fn short(self) -> &'static str {
        match self {
            Self::CiliumNetworkPolicy => "CNP",
            Self::CiliumClusterwideNetworkPolicy => "CCNP",
            Self::NetworkPolicy => "KNP",
        }
    }
}

/// The policy object a rule belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PolicyOrigin {
    pub kind: PolicyKind,
    /// `None` for cluster-scoped CCNPs.
    pub namespace: Option<String>,
    pub name: String,
}

impl fmt::Display for PolicyOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{ns}/{}", self.name),
            None => write!(f, "{}", self.name),
        }
    }
}

/// A source location: file, document index in a multi-document file, YAML path, 1-based
/// line/column, and byte span.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Provenance {
    pub file: Arc<str>,
    pub document: u32,
    /// e.g. `spec.ingress[0]` or `specs[1].egressDeny[2]`.
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub start: u32,
    pub end: u32,
}

impl Provenance {
    /// A placeholder for rules built in code (tests, generated policies).
    pub fn synthetic(path: impl Into<String>) -> Self {
        Self {
            file: Arc::from("<generated>"),
            document: 0,
            path: path.into(),
            line: 0,
            column: 0,
            start: 0,
            end: 0,
        }
    }
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{} ({})",
            self.file, self.line, self.column, self.path
        )
    }
}
