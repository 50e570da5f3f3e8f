//! `policyc test --datapath`: every FlowTests case without an HTTP/Kafka request also runs
//! through the compiled programs in the kernel — the source endpoint's egress program and the
//! destination endpoint's ingress program; for a non-endpoint peer only the endpoint side — and
//! each side must get the oracle's verdict. The flowtest runner calls [`check_reports`].
//!
//! DNS cases go through the endpoint's DNS object too (`fqdn_check`): a `resolvedFrom:` case
//! sends a query for the name from the source endpoint and the server's answer carrying the
//! destination address (learned only if the DNS object allowed the question), then the
//! connection; a `dns:` case (UDP/53) passes when the L3/L4 program lets it reach the port
//! (allow, or the redirect of a DNS rule) and the DNS object does not refuse the question.
//! The node-wide learned map is emptied after every `resolvedFrom:` case.

use crate::kernel::fqdn::{DnsTeacher, FqdnCheckError, QueryOutcome};
use crate::kernel::tables::{
    agrees, expected_side, ExpectedSide, KernelCheckError, KernelChecker, KernelSide, SideProbe,
};
use policyc_analysis::flowtest::{parse_flow_tests, RunOptions, SuiteReport, TestOutcome};
use policyc_backends::layout::Verdict as DpVerdict;
use policyc_build::compile::compile;
use policyc_build::specialize::SpecializeOptions;
use policyc_diagnostics::source::SourceMap;
use policyc_frontend::identity::build_universe;
use policyc_frontend::inventory::load_inventory;
use policyc_ir::oracle::{FlowPeer, L7Request, Transport};
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
    #[error("{file}: {source}")]
    Dns {
        file: String,
        source: Box<FqdnCheckError>,
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
    /// What the endpoint's DNS object did with the case's question (DNS cases only).
    pub dns: Option<QueryOutcome>,
}

impl fmt::Display for DatapathFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FAIL (datapath) {}: {}: {} {}: oracle says {}, kernel says {}",
            self.file, self.test, self.endpoint, self.direction, self.oracle, self.kernel
        )?;
        if let Some(dns) = self.dns {
            write!(f, " (DNS question {dns})")?;
        }
        Ok(())
    }
}

/// Why a case was not run through the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SkipReason {
    /// An HTTP or Kafka request: judged by the L7 proxy, not by the datapath.
    L7Request,
    /// A `dns:` case not on UDP/53 (the DNS object judges UDP/53 questions only).
    DnsNotUdp53,
    /// Source and destination are the same endpoint (the packet never crosses a hook).
    SameEndpoint,
    /// A peer without an address of the right family to put into a packet.
    NoAddress,
}

impl SkipReason {
    pub fn describe(self) -> &'static str {
        match self {
            Self::L7Request => "HTTP/Kafka case(s) (the L7 proxy judges them)",
            Self::DnsNotUdp53 => "dns: case(s) not on UDP/53",
            Self::SameEndpoint => "case(s) from an endpoint to itself",
            Self::NoAddress => "case(s) with a peer without an address of the family",
        }
    }
}

/// What the datapath check did.
#[derive(Debug, Clone, Default)]
pub struct DatapathSummary {
    /// Cases run through the kernel (each on one or two endpoint sides).
    pub cases_checked: usize,
    /// Endpoint sides run through the kernel.
    pub sides_checked: usize,
    /// Of `cases_checked`, the `resolvedFrom:` and `dns:` cases run through the endpoint's DNS
    /// object and the datapath.
    pub dns_cases: usize,
    /// Cases not run, per reason.
    pub skipped: std::collections::BTreeMap<SkipReason, usize>,
    pub failures: Vec<DatapathFailure>,
}

impl DatapathSummary {
    /// Cases not run through the kernel, whatever the reason.
    pub fn cases_skipped(&self) -> usize {
        self.skipped.values().sum()
    }

    fn skip(&mut self, reason: SkipReason) {
        *self.skipped.entry(reason).or_default() += 1;
    }
}

/// The universe a FlowTests document was evaluated in (same inventory, same rules, same
/// options as the oracle run, so the same identities).
pub fn universe_of(
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

/// Addresses outside the cluster the crafted DNS questions go to (DNS servers are not judged
/// by the DNS object's rules in phase 1, only by the L3/L4 program, which `dns:` cases check).
const DNS_SERVER_V4: &str = "192.0.2.53";
const DNS_SERVER_V6: &str = "2001:db8::53";

fn dns_server(ipv6: bool) -> Option<IpAddr> {
    (if ipv6 { DNS_SERVER_V6 } else { DNS_SERVER_V4 })
        .parse()
        .ok()
}

/// One FlowTests document's replay through the kernel.
struct Replay<'a, 'c> {
    file: &'a str,
    universe: &'a Universe,
    checker: KernelChecker<'c>,
    teacher: DnsTeacher<'c>,
    summary: &'a mut DatapathSummary,
}

/// The source and destination addresses of a flow: for ICMP, in the family the case names
/// (ICMPv6 is never sent as ICMPv4 between dual-stack pods); otherwise in the first family
/// both ends have.
fn addresses(universe: &Universe, flow: &policyc_ir::oracle::Flow) -> Option<(IpAddr, IpAddr)> {
    let families: &[bool] = match flow.transport {
        Transport::Icmp {
            family: policyc_ir::IpFamily::IPv4,
            ..
        } => &[false],
        Transport::Icmp {
            family: policyc_ir::IpFamily::IPv6,
            ..
        } => &[true],
        _ => &[false, true],
    };
    families.iter().find_map(|&v6| {
        Some((
            address_of(universe, &flow.source, v6)?,
            address_of(universe, &flow.destination, v6)?,
        ))
    })
}

impl Replay<'_, '_> {
    fn kernel_error(&self, source: KernelCheckError) -> DatapathTestError {
        DatapathTestError::Kernel {
            file: self.file.to_string(),
            source,
        }
    }

    fn dns_error(&self, source: FqdnCheckError) -> DatapathTestError {
        DatapathTestError::Dns {
            file: self.file.to_string(),
            source: Box::new(source),
        }
    }

    fn compare(
        &mut self,
        outcome: &TestOutcome,
        endpoint: EndpointKey,
        direction: Direction,
        kernel: KernelSide,
        dns: Option<QueryOutcome>,
    ) {
        self.summary.sides_checked += 1;
        let side = match direction {
            Direction::Egress => &outcome.verdict.egress,
            Direction::Ingress => &outcome.verdict.ingress,
        };
        let oracle = expected_side(side);
        if !agrees(oracle, kernel) {
            self.summary.failures.push(DatapathFailure {
                file: self.file.to_string(),
                test: outcome.case.name.clone(),
                endpoint,
                direction,
                oracle,
                kernel,
                dns,
            });
        }
    }

    fn run_side(
        &mut self,
        endpoint: &EndpointKey,
        direction: Direction,
        local: IpAddr,
        peer: IpAddr,
        transport: Transport,
    ) -> Result<KernelSide, DatapathTestError> {
        let probe = SideProbe {
            direction,
            local,
            peer,
            transport,
        };
        self.checker
            .run(endpoint, probe)
            .map_err(|e| self.kernel_error(e))
    }

    fn check(&mut self, outcome: &TestOutcome) -> Result<(), DatapathTestError> {
        let flow = &outcome.flow;
        let dns_query = match &flow.l7 {
            None => None,
            Some(L7Request::Dns { query }) => Some(query.clone()),
            Some(_) => {
                self.summary.skip(SkipReason::L7Request);
                return Ok(());
            }
        };
        let source = endpoint_of(self.universe, &flow.source);
        let destination = endpoint_of(self.universe, &flow.destination);
        if source.is_some() && source == destination {
            self.summary.skip(SkipReason::SameEndpoint);
            return Ok(());
        }
        let Some((src, dst)) = addresses(self.universe, flow) else {
            self.summary.skip(SkipReason::NoAddress);
            return Ok(());
        };
        if dns_query.is_some() && flow.transport != (Transport::Udp { port: 53 }) {
            // The DNS object judges UDP/53 questions; TCP/53 and other ports are not replayed.
            self.summary.skip(SkipReason::DnsNotUdp53);
            return Ok(());
        }
        self.summary.cases_checked += 1;
        if dns_query.is_some() || flow.resolved_from.is_some() {
            self.summary.dns_cases += 1;
        }
        if let Some(source) = source {
            let kernel_side = match (&flow.resolved_from, &dns_query) {
                (Some(name), _) => self.resolved_egress(&source, src, dst, name, flow.transport)?,
                (None, Some(query)) => self.dns_egress(&source, src, dst, query, flow.transport)?,
                (None, None) => (
                    self.run_side(&source, Direction::Egress, src, dst, flow.transport)?,
                    None,
                ),
            };
            self.compare(
                outcome,
                source,
                Direction::Egress,
                kernel_side.0,
                kernel_side.1,
            );
        }
        if let Some(destination) = destination {
            let kernel =
                self.run_side(&destination, Direction::Ingress, dst, src, flow.transport)?;
            self.compare(outcome, destination, Direction::Ingress, kernel, None);
        }
        Ok(())
    }

    /// A `resolvedFrom:` case: query, answer carrying `dst`, connection; then forget.
    fn resolved_egress(
        &mut self,
        source: &EndpointKey,
        src: IpAddr,
        dst: IpAddr,
        name: &str,
        transport: Transport,
    ) -> Result<(KernelSide, Option<QueryOutcome>), DatapathTestError> {
        let server = dns_server(src.is_ipv6()).unwrap_or(dst);
        let asked = self
            .teacher
            .resolve(&mut self.checker, source, src, server, name, &[dst])
            .map_err(|e| self.dns_error(e))?;
        let kernel = self.run_side(source, Direction::Egress, src, dst, transport)?;
        self.forget()?;
        Ok((kernel, Some(asked)))
    }

    /// A `dns:` case on UDP/53: the L3/L4 program must let it reach the port and the DNS
    /// object (when the endpoint has one) must not refuse the question.
    fn dns_egress(
        &mut self,
        source: &EndpointKey,
        src: IpAddr,
        server: IpAddr,
        query: &str,
        transport: Transport,
    ) -> Result<(KernelSide, Option<QueryOutcome>), DatapathTestError> {
        let l4 = self.run_side(source, Direction::Egress, src, server, transport)?;
        let reaches_port = l4.passed || l4.verdict == Some(DpVerdict::RedirectL7);
        if !reaches_port {
            return Ok((l4, None));
        }
        let asked = self
            .teacher
            .resolve(&mut self.checker, source, src, server, query, &[])
            .map_err(|e| self.dns_error(e))?;
        self.forget()?;
        let kernel = match asked {
            QueryOutcome::NotIntercepted => l4,
            QueryOutcome::Allowed => KernelSide {
                passed: true,
                verdict: Some(DpVerdict::Allow),
                ..l4
            },
            QueryOutcome::Refused => KernelSide {
                passed: false,
                verdict: Some(DpVerdict::Deny),
                ..l4
            },
        };
        Ok((kernel, Some(asked)))
    }

    /// Empties the node-wide learned map (cases must not teach each other).
    fn forget(&mut self) -> Result<(), DatapathTestError> {
        let file = self.file.to_string();
        let learned = self
            .checker
            .learned()
            .map_err(|source| DatapathTestError::Dns {
                file: file.clone(),
                source: Box::new(FqdnCheckError::Kernel(KernelCheckError::Learned(source))),
            })?;
        learned.clear().map_err(|source| DatapathTestError::Dns {
            file,
            source: Box::new(FqdnCheckError::Kernel(KernelCheckError::Learned(source))),
        })
    }
}

/// Replays the cases of every report through the kernel.
pub fn check_reports(
    reports: &[SuiteReport],
    options: &RunOptions,
    sources: &mut SourceMap,
) -> Result<DatapathSummary, DatapathTestError> {
    check_reports_with(reports, options, None, sources)
}

/// [`check_reports`], with the endpoints' `--specialize` objects when `specialize` is set.
pub fn check_reports_with(
    reports: &[SuiteReport],
    options: &RunOptions,
    specialize: Option<&SpecializeOptions>,
    sources: &mut SourceMap,
) -> Result<DatapathSummary, DatapathTestError> {
    let mut summary = DatapathSummary::default();
    for report in reports {
        let universe = universe_of(report, options, sources)?;
        let mut compilation =
            compile(&universe, &report.rules, &|| {}).map_err(|e| DatapathTestError::Compile {
                file: report.file.clone(),
                message: e.to_string(),
            })?;
        if let Some(specialize_options) = specialize {
            policyc_build::specialize::specialize(
                &mut compilation,
                specialize_options,
                &|_| {},
                &|| {},
            )
            .map_err(|e| DatapathTestError::Compile {
                file: report.file.clone(),
                message: format!("--specialize: {e}"),
            })?;
        }
        let teacher = DnsTeacher::new(&compilation, &report.rules).map_err(|e| {
            DatapathTestError::Compile {
                file: report.file.clone(),
                message: e.to_string(),
            }
        })?;
        let mut replay = Replay {
            file: &report.file,
            universe: &universe,
            checker: KernelChecker::new(&compilation),
            teacher,
            summary: &mut summary,
        };
        for outcome in &report.outcomes {
            replay.check(outcome)?;
        }
    }
    Ok(summary)
}
