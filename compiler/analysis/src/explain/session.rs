//! A loaded evaluation context (inventory + policies → universe + rules) for explaining flows.

use crate::inputs::{load_rules, resolve_peer, RunOptions};
use policyc_diagnostics::source::SourceMap;
use policyc_diagnostics::{codes, Finding, Severity};
use policyc_frontend::identity::build_universe;
use policyc_frontend::inventory::{load_inventory_with_workloads, Workloads};
use policyc_ir::oracle::{Flow, FlowPeer, FlowVerdict, Oracle};
use policyc_ir::universe::Universe;
use policyc_ir::PolicyRule;
use std::path::{Path, PathBuf};

/// Everything needed to evaluate flows: sources (for spans), the universe and the rules.
pub struct Session {
    pub sources: SourceMap,
    pub universe: Universe,
    pub rules: Vec<PolicyRule>,
    /// The workloads owning the inventory's pods, for peers named by workload.
    pub workloads: Workloads,
    /// Non-blocking findings of loading (warnings).
    pub warnings: Vec<Finding>,
}

/// Loading failed: the findings, with the sources they point into.
pub struct LoadFailure {
    pub sources: SourceMap,
    pub findings: Vec<Finding>,
}

impl Session {
    pub fn load(
        inventory: &Path,
        policies: &[PathBuf],
        options: &RunOptions,
    ) -> Result<Self, LoadFailure> {
        let mut sources = SourceMap::new();
        let (inv, workloads) =
            match load_inventory_with_workloads(inventory, &options.inventory, &mut sources) {
                Ok(loaded) => loaded,
                Err(findings) => return Err(LoadFailure { sources, findings }),
            };
        let (rules, findings) = load_rules(
            policies,
            &policyc_frontend::FrontendOptions::for_inventory(&inv),
            &mut sources,
        );
        if findings.iter().any(|f| f.severity == Severity::Error) {
            return Err(LoadFailure { sources, findings });
        }
        match build_universe(&inv, &rules, options.universe) {
            Ok(universe) => Ok(Self {
                sources,
                universe,
                rules,
                workloads,
                warnings: findings,
            }),
            Err(e) => Err(LoadFailure {
                sources,
                findings: vec![Finding::error(&codes::INVALID_INVENTORY, e.to_string())],
            }),
        }
    }

    pub fn oracle(&self) -> Oracle<'_> {
        Oracle::new(&self.universe, &self.rules)
    }

    /// Parses a peer given on the command line; errors point into a pseudo-file named after the
    /// option (e.g. `--from`).
    pub fn peer(&mut self, option: &str, text: &str) -> Result<FlowPeer, Box<Finding>> {
        resolve_peer(text, &self.universe, &self.workloads).map_err(|e| {
            let id = self.sources.add(option.to_string(), text.to_string());
            let span = policyc_diagnostics::source::Span::new(id, 0, text.len());
            let mut f = Finding::error(e.code, e.message).at(span, "given here");
            if let Some(h) = e.help {
                f = f.help(h);
            }
            Box::new(f)
        })
    }

    pub fn evaluate(&self, flow: &Flow) -> Result<FlowVerdict, Box<Finding>> {
        self.oracle().evaluate(flow).map_err(|e| {
            Box::new(Finding::error(
                &codes::UNKNOWN_INVENTORY_REFERENCE,
                e.to_string(),
            ))
        })
    }
}
