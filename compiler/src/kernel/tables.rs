//! Runs compiled endpoint programs in the kernel (BPF_PROG_TEST_RUN through policyc-loader's
//! harness) and compares each side's verdict with the oracle's. Shared by
//! `policyc test --datapath` and the differential tests. Programs are loaded once per endpoint
//! and reused for every packet; every packet gets a fresh source port so conntrack never turns
//! a new flow into an established one.

use policyc_backends::layout::{Reason as DpReason, Verdict as DpVerdict};
use policyc_backends::EndpointImages;
use policyc_build::compile::Compilation;
use policyc_ir::oracle::{Decision, Reason, SideVerdict, Transport};
use policyc_ir::universe::EndpointKey;
use policyc_ir::Direction;
use policyc_kernel::fqdn::LearnedMap;
use policyc_kernel::packet::Packet;
use policyc_kernel::{AttachKind, LoaderError, TestHarness};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

#[derive(Debug, thiserror::Error)]
pub enum KernelCheckError {
    #[error("endpoint {0} is not in the compilation")]
    UnknownEndpoint(EndpointKey),
    #[error("loading or running the datapath of {endpoint}: {source}")]
    Loader {
        endpoint: EndpointKey,
        source: LoaderError,
    },
    #[error("the node-wide learned-address map: {0}")]
    Learned(LoaderError),
}

/// What the oracle says one side must do, in datapath terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedSide {
    pub passes: bool,
    /// `None` when the side is not enforced (no lookup needs to happen).
    pub verdict: Option<DpVerdict>,
}

impl fmt::Display for ExpectedSide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = if self.passes { "pass" } else { "drop" };
        match self.verdict {
            Some(v) => write!(f, "{action} ({})", v.c_name()),
            None => write!(f, "{action}"),
        }
    }
}

/// The oracle's side verdict as the datapath must reproduce it (L7 redirects are dropped: the
/// datapath does not enforce L7 and runs without the L4 fallback here).
pub fn expected_side(side: &SideVerdict) -> ExpectedSide {
    match (side.decision, side.reason) {
        (Decision::Allow, Reason::L7ProxyRedirect) => ExpectedSide {
            passes: false,
            verdict: Some(DpVerdict::RedirectL7),
        },
        (
            Decision::Allow,
            Reason::NotEnforced | Reason::EnforcementDisabled | Reason::NotAnEndpoint,
        ) => ExpectedSide {
            passes: true,
            verdict: None,
        },
        (Decision::Allow, _) => ExpectedSide {
            passes: true,
            verdict: Some(DpVerdict::Allow),
        },
        (Decision::Deny, Reason::DefaultDeny) => ExpectedSide {
            passes: false,
            verdict: Some(DpVerdict::DefaultDeny),
        },
        (Decision::Deny, Reason::AuthRequired) => ExpectedSide {
            passes: false,
            verdict: Some(DpVerdict::AuthRequired),
        },
        (Decision::Deny, _) => ExpectedSide {
            passes: false,
            verdict: Some(DpVerdict::Deny),
        },
    }
}

/// What the kernel did with one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelSide {
    pub passed: bool,
    pub verdict: Option<DpVerdict>,
    pub reason: Option<DpReason>,
    pub identity: Option<u32>,
    pub rule_id: Option<u32>,
}

impl fmt::Display for KernelSide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = if self.passed { "pass" } else { "drop" };
        write!(f, "{action}")?;
        if let Some(v) = self.verdict {
            write!(f, " ({})", v.c_name())?;
        }
        if let Some(r) = self.reason {
            write!(f, " reason {}", r.c_name())?;
        }
        if let Some(id) = self.identity {
            write!(f, " peer identity {id}")?;
        }
        if let Some(rule) = self.rule_id.filter(|r| *r != 0) {
            write!(f, " datapath rule {rule}")?;
        }
        Ok(())
    }
}

/// Does the kernel agree? Pass/drop must match; when both name a verdict, they must match too;
/// an enforced verdict the oracle names must be reported by the kernel.
pub fn agrees(expected: ExpectedSide, kernel: KernelSide) -> bool {
    if expected.passes != kernel.passed {
        return false;
    }
    match (expected.verdict, kernel.verdict) {
        (Some(e), Some(k)) => e == k,
        (Some(DpVerdict::Allow), None) | (None, _) => true,
        (Some(_), None) => false,
    }
}

/// One packet for one side of an endpoint.
#[derive(Debug, Clone, Copy)]
pub struct SideProbe {
    pub direction: Direction,
    /// The endpoint's own address (source on egress, destination on ingress).
    pub local: IpAddr,
    /// The other end.
    pub peer: IpAddr,
    pub transport: Transport,
}

/// Loaded programs for the endpoints of one compilation.
pub struct KernelChecker<'c> {
    compilation: &'c Compilation,
    /// The node-wide learned-address map every endpoint's program reads (toFQDNs); created
    /// with the first program, empty until a DNS object (see `fqdn_check`) or a test fills it.
    learned: Option<LearnedMap>,
    harnesses: BTreeMap<EndpointKey, TestHarness>,
    next_source_port: u16,
    packets: u64,
}

const FIRST_SOURCE_PORT: u16 = 1024;
/// Whether the probe is an ICMP echo request of its own family (ICMPv4 type 8, ICMPv6 type
/// 128): those carry an identifier, a fresh one per probe.
pub fn is_echo_request(transport: Transport) -> bool {
    matches!(
        transport,
        Transport::Icmp {
            family: policyc_ir::IpFamily::IPv4,
            icmp_type: 8
        } | Transport::Icmp {
            family: policyc_ir::IpFamily::IPv6,
            icmp_type: 128
        }
    )
}

fn dp_direction(direction: Direction) -> policyc_backends::layout::Direction {
    match direction {
        Direction::Ingress => policyc_backends::layout::Direction::Ingress,
        Direction::Egress => policyc_backends::layout::Direction::Egress,
    }
}

impl<'c> KernelChecker<'c> {
    pub fn new(compilation: &'c Compilation) -> Self {
        Self {
            compilation,
            learned: None,
            harnesses: BTreeMap::new(),
            next_source_port: FIRST_SOURCE_PORT,
            packets: 0,
        }
    }

    /// Packets run so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    fn images(&self, endpoint: &EndpointKey) -> Result<&'c EndpointImages, KernelCheckError> {
        self.compilation
            .endpoint(endpoint)
            .map(|e| &e.images)
            .ok_or_else(|| KernelCheckError::UnknownEndpoint(endpoint.clone()))
    }

    /// The node-wide learned map shared by every endpoint's programs (created once).
    pub fn learned(&mut self) -> Result<&LearnedMap, LoaderError> {
        if self.learned.is_none() {
            self.learned = Some(LearnedMap::create()?);
        }
        self.learned
            .as_ref()
            .ok_or_else(|| LoaderError::Layout("no learned map".into()))
    }

    /// Loads (once) the programs of an endpoint.
    pub fn load(&mut self, endpoint: &EndpointKey) -> Result<&TestHarness, KernelCheckError> {
        if !self.harnesses.contains_key(endpoint) {
            let images = self.images(endpoint)?;
            let loader_error = |source| KernelCheckError::Loader {
                endpoint: endpoint.clone(),
                source,
            };
            self.learned().map_err(loader_error)?;
            // The endpoint's own object under `--specialize`, else the template.
            let object = self
                .compilation
                .endpoint(endpoint)
                .map_or(policyc_backends::DATAPATH_OBJECT, |e| e.object.bytes());
            let harness = TestHarness::from_object_images_sharing(
                object,
                images,
                &self.compilation.ipcache_image,
                &[AttachKind::Tcx],
                self.learned.as_ref(),
            )
            .map_err(|source| KernelCheckError::Loader {
                endpoint: endpoint.clone(),
                source,
            })?;
            self.harnesses.insert(endpoint.clone(), harness);
        }
        self.harnesses
            .get(endpoint)
            .ok_or_else(|| KernelCheckError::UnknownEndpoint(endpoint.clone()))
    }

    fn source_port(&mut self, endpoint: &EndpointKey) -> Result<u16, KernelCheckError> {
        if self.next_source_port == u16::MAX {
            self.next_source_port = FIRST_SOURCE_PORT;
            for (key, harness) in &self.harnesses {
                harness
                    .flush_flows()
                    .map_err(|source| KernelCheckError::Loader {
                        endpoint: key.clone(),
                        source,
                    })?;
            }
        }
        let _ = endpoint;
        self.next_source_port += 1;
        Ok(self.next_source_port)
    }

    /// Runs one packet through the endpoint's program for `probe.direction`.
    pub fn run(
        &mut self,
        endpoint: &EndpointKey,
        probe: SideProbe,
    ) -> Result<KernelSide, KernelCheckError> {
        Ok(self.run_with_reply(endpoint, probe, false)?.0)
    }

    /// Runs one packet and, when it passed and `reply` is set, its reply (TCP/UDP/SCTP with
    /// ports swapped, ICMP echo reply) through the endpoint's program of the other direction:
    /// conntrack must let it pass whatever the policy of that direction says.
    pub fn run_with_reply(
        &mut self,
        endpoint: &EndpointKey,
        probe: SideProbe,
        reply: bool,
    ) -> Result<(KernelSide, Option<KernelSide>), KernelCheckError> {
        let sport = self.source_port(endpoint)?;
        let (src, dst) = match probe.direction {
            Direction::Egress => (probe.local, probe.peer),
            Direction::Ingress => (probe.peer, probe.local),
        };
        // An echo request is type 8 in ICMPv4 and 128 in ICMPv6 — not either type in either
        // family (ICMPv4 type 128 is sent as it is, and must be judged as such).
        let echo = is_echo_request(probe.transport);
        let packet = match probe.transport {
            Transport::Tcp { port } => Packet::tcp(src, dst, sport, port),
            Transport::Udp { port } => Packet::udp(src, dst, sport, port),
            Transport::Sctp { port } => Packet::sctp(src, dst, sport, port),
            Transport::Icmp { .. } if echo => Packet::echo_request(src, dst, sport),
            Transport::Icmp { icmp_type, .. } => Packet::icmp(src, dst, icmp_type, 0),
        };
        if let Transport::Icmp { .. } = probe.transport {
            if !echo {
                // Only echo requests carry a fresh identifier; any other ICMP probe (an echo
                // reply too) would meet conntrack state of an earlier probe between the same
                // addresses, so start from an empty table.
                let harness = self.load(endpoint)?;
                harness
                    .flush_flows()
                    .map_err(|source| KernelCheckError::Loader {
                        endpoint: endpoint.clone(),
                        source,
                    })?;
            }
        }
        let forward = self.run_packet(endpoint, probe.direction, &packet)?;
        let reply_packet = match probe.transport {
            _ if !reply || !forward.passed => None,
            Transport::Icmp { .. } if echo => Some(Packet::echo_reply(dst, src, sport)),
            Transport::Icmp { .. } => None,
            _ => Some(packet.reply()),
        };
        let reverse = match probe.direction {
            Direction::Egress => Direction::Ingress,
            Direction::Ingress => Direction::Egress,
        };
        let reply_side = match reply_packet {
            Some(p) => Some(self.run_packet(endpoint, reverse, &p)?),
            None => None,
        };
        Ok((forward, reply_side))
    }

    fn run_packet(
        &mut self,
        endpoint: &EndpointKey,
        direction: Direction,
        packet: &Packet,
    ) -> Result<KernelSide, KernelCheckError> {
        let frame = packet.frame();
        let harness = self.load(endpoint)?;
        let outcome = harness
            .run(dp_direction(direction), AttachKind::Tcx, &frame)
            .map_err(|source| KernelCheckError::Loader {
                endpoint: endpoint.clone(),
                source,
            })?;
        self.packets += 1;
        Ok(KernelSide {
            passed: outcome.passed,
            verdict: outcome.verdict(),
            reason: outcome.reason(),
            identity: outcome.event.map(|e| e.identity),
            rule_id: outcome.event.map(|e| e.rule_id),
        })
    }
}
