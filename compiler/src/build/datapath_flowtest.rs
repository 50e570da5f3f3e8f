//! `policyc test --datapath`: every L3/L4 FlowTests case (no L7 request, no DNS name) also runs
//! through the compiled programs in the kernel — the source endpoint's egress program and the
//! destination endpoint's ingress program; for a non-endpoint peer only the endpoint side — and
//! each side must get the oracle's verdict. The flowtest runner calls [`check_reports`].

use super::compile::compile;
use super::kernel_check::{
    agrees, expected_side, ExpectedSide, KernelCheckError, KernelChecker, KernelSide, SideProbe,
};
use crate::flowtest::{parse_flow_tests, RunOptions, SuiteReport, TestOutcome};
use crate::frontend::source::SourceMap;
use crate::identity::build_universe;
use crate::inventory::load_inventory;
use policyc_ir::oracle::FlowPeer;
use policyc_ir::universe::{EndpointKey, Universe};
use policyc_ir::{Direction, Entity, ReservedIdentity};
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum DatapathTestError {
    #[error("{file}: cannot rebuild the universe for the datapath check: {message}")]
    Universe { file: String, message: String },
    #[error("{file}: compiling the policies failed: {message}")]
    Compile { file: String, message: String },
    #[error("{file}: {source}")]
    Kernel {
        file: String,
        source: KernelCheckError,
    },
}

/// One side of one test where the kernel disagreed with the oracle.
#[derive(Debug, Clone)]
pub struct DatapathFailure {
    pub file: String,
    pub test: String,
    pub endpoint: EndpointKey,
    pub direction: Direction,
    pub oracle: ExpectedSide,
    pub kernel: KernelSide,
}

impl fmt::Display for DatapathFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FAIL (datapath) {}: {}: {} {}: oracle says {}, kernel says {}",
            self.file, self.test, self.endpoint, self.direction, self.oracle, self.kernel
        )
    }
}

/// What the datapath check did.
#[derive(Debug, Clone, Default)]
pub struct DatapathSummary {
    /// Endpoint sides run through the kernel.
    pub sides_checked: usize,
    /// Cases not run: L7 or DNS-name cases, or peers without an address of the right family.
    pub cases_skipped: usize,
    pub failures: Vec<DatapathFailure>,
}

/// The universe a FlowTests document was evaluated in (same inventory, same rules, same
/// options as the oracle run, so the same identities).
fn universe_of(
    report: &SuiteReport,
    options: &RunOptions,
    sources: &mut SourceMap,
) -> Result<Universe, DatapathTestError> {
    let err = |message: String| DatapathTestError::Universe {
        file: report.file.clone(),
        message,
    };
    let base = Path::new(&report.file)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let (docs, _) = parse_flow_tests(sources, report.source, &base);
    let doc = docs
        .first()
        .ok_or_else(|| err("no FlowTests document".to_string()))?;
    let inventory = load_inventory(&doc.inventory.value, &options.inventory, sources)
        .map_err(|f| err(format!("{} inventory finding(s)", f.len())))?;
    build_universe(&inventory, &report.rules, options.universe).map_err(|e| err(e.to_string()))
}

/// An address of `peer` in `family` (IPv6 when `ipv6`) whose ipcache identity is the peer's.
fn address_of(universe: &Universe, peer: &FlowPeer, ipv6: bool) -> Option<IpAddr> {
    let candidates: Vec<IpAddr> = match peer {
        FlowPeer::Endpoint(key) => universe.endpoint(key)?.ips.clone(),
        FlowPeer::Ip(ip) => vec![*ip],
        FlowPeer::Entity(Entity::Host) => universe.local_node()?.ips.clone(),
        FlowPeer::Entity(Entity::RemoteNode) => universe
            .nodes()
            .iter()
            .filter(|n| !n.local)
            .flat_map(|n| n.ips.clone())
            .collect(),
        FlowPeer::Entity(Entity::World | Entity::WorldIpv4 | Entity::WorldIpv6) => {
            ["192.0.2.200", "2001:db8:ffff:ffff::200"]
                .iter()
                .filter_map(|a| a.parse().ok())
                .collect()
        }
        FlowPeer::Entity(_) => Vec::new(),
    };
    let wanted = match peer {
        FlowPeer::Entity(Entity::Host) => Some(ReservedIdentity::Host.number()),
        FlowPeer::Entity(Entity::World | Entity::WorldIpv4 | Entity::WorldIpv6) => {
            Some(universe.world_identity(ipv6).0)
        }
        _ => None,
    };
    candidates
        .into_iter()
        .filter(|ip| ip.is_ipv6() == ipv6)
        .find(|ip| wanted.is_none_or(|id| universe.identity_of_ip(ip).0 == id))
}

fn endpoint_of(universe: &Universe, peer: &FlowPeer) -> Option<EndpointKey> {
    match peer {
        FlowPeer::Endpoint(key) => Some(key.clone()),
        FlowPeer::Ip(ip) => universe.endpoint_by_ip(ip).map(|e| e.key.clone()),
        FlowPeer::Entity(_) => None,
    }
}

fn check_outcome(
    file: &str,
    universe: &Universe,
    checker: &mut KernelChecker<'_>,
    outcome: &TestOutcome,
    summary: &mut DatapathSummary,
) -> Result<(), DatapathTestError> {
    let flow = &outcome.flow;
    if flow.l7.is_some() || flow.resolved_from.is_some() {
        summary.cases_skipped += 1;
        return Ok(());
    }
    let source = endpoint_of(universe, &flow.source);
    let destination = endpoint_of(universe, &flow.destination);
    if source.is_some() && source == destination {
        summary.cases_skipped += 1;
        return Ok(());
    }
    let family = [false, true].into_iter().find(|v6| {
        address_of(universe, &flow.source, *v6).is_some()
            && address_of(universe, &flow.destination, *v6).is_some()
    });
    let Some(ipv6) = family else {
        summary.cases_skipped += 1;
        return Ok(());
    };
    let (Some(src), Some(dst)) = (
        address_of(universe, &flow.source, ipv6),
        address_of(universe, &flow.destination, ipv6),
    ) else {
        summary.cases_skipped += 1;
        return Ok(());
    };
    let sides = [
        (source, Direction::Egress, src, dst, &outcome.verdict.egress),
        (
            destination,
            Direction::Ingress,
            dst,
            src,
            &outcome.verdict.ingress,
        ),
    ];
    for (endpoint, direction, local, peer, side) in sides {
        let Some(endpoint) = endpoint else { continue };
        let probe = SideProbe {
            direction,
            local,
            peer,
            transport: flow.transport,
        };
        let kernel = checker
            .run(&endpoint, probe)
            .map_err(|source| DatapathTestError::Kernel {
                file: file.to_string(),
                source,
            })?;
        summary.sides_checked += 1;
        let oracle = expected_side(side);
        if !agrees(oracle, kernel) {
            summary.failures.push(DatapathFailure {
                file: file.to_string(),
                test: outcome.case.name.clone(),
                endpoint,
                direction,
                oracle,
                kernel,
            });
        }
    }
    Ok(())
}

/// Replays the L3/L4 cases of every report through the kernel.
pub fn check_reports(
    reports: &[SuiteReport],
    options: &RunOptions,
    sources: &mut SourceMap,
) -> Result<DatapathSummary, DatapathTestError> {
    let mut summary = DatapathSummary::default();
    for report in reports {
        let universe = universe_of(report, options, sources)?;
        let compilation =
            compile(&universe, &report.rules, &|| {}).map_err(|e| DatapathTestError::Compile {
                file: report.file.clone(),
                message: e.to_string(),
            })?;
        let mut checker = KernelChecker::new(&compilation);
        for outcome in &report.outcomes {
            check_outcome(&report.file, &universe, &mut checker, outcome, &mut summary)?;
        }
    }
    Ok(summary)
}
