//! DNS through the kernel for `policyc test --datapath` and the differential tests: each
//! endpoint with `rules.dns` gets its DNS object (the artifact's tables: node-wide FQDN classes,
//! the endpoint's DNS rules and `toFQDNs` selectors) learning into the checker's node-wide
//! learned map (one map fd reused by every DNS object and every endpoint program, as on a
//! node), so a crafted query from the endpoint, a crafted answer from the server, then a
//! connection through the endpoint's program exercise exactly what a node does.

use crate::kernel::tables::{KernelCheckError, KernelChecker};
use policyc_backends::dns::{DnsConfig, DnsLimits};
use policyc_build::compile::Compilation;
use policyc_compile::dns::{compile_endpoint, DnsCompileError, EndpointDns, FqdnClasses};
use policyc_ir::universe::EndpointKey;
use policyc_ir::PolicyRule;
use policyc_kernel::dns::DnsInstance;
use policyc_kernel::fqdn::{answer_message, query_message};
use policyc_kernel::packet::Packet;
use policyc_kernel::LoaderError;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// What the DNS object did with a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryOutcome {
    /// The endpoint has no `rules.dns`: no DNS object, nothing judged, nothing learned.
    NotIntercepted,
    /// Passed on, a pending entry was recorded (its answer will be learned).
    Allowed,
    /// Answered REFUSED by the DNS object (or dropped as malformed).
    Refused,
}

impl fmt::Display for QueryOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotIntercepted => "not intercepted (no rules.dns)",
            Self::Allowed => "allowed by the DNS object",
            Self::Refused => "refused by the DNS object",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FqdnCheckError {
    #[error("DNS tables of {endpoint}: {source}")]
    Tables {
        endpoint: EndpointKey,
        source: DnsCompileError,
    },
    #[error("the DNS object of {endpoint}: {source}")]
    Loader {
        endpoint: EndpointKey,
        source: LoaderError,
    },
    #[error(transparent)]
    Kernel(#[from] KernelCheckError),
}

/// DNS objects of the endpoints of one compilation, loaded on first use.
pub struct DnsTeacher<'c> {
    compilation: &'c Compilation,
    rules: BTreeMap<policyc_ir::RuleId, &'c PolicyRule>,
    classes: FqdnClasses,
    instances: BTreeMap<EndpointKey, Option<DnsInstance>>,
    next_id: u16,
    next_port: u16,
}

/// Source ports of crafted queries (apart from the connection probes' ports).
const FIRST_QUERY_PORT: u16 = 50_000;
/// TTL of crafted answers, seconds.
pub const ANSWER_TTL_S: u32 = 300;

impl<'c> DnsTeacher<'c> {
    pub fn new(
        compilation: &'c Compilation,
        rules: &'c [PolicyRule],
    ) -> Result<DnsTeacher<'c>, DnsCompileError> {
        Ok(DnsTeacher {
            compilation,
            rules: rules.iter().map(|r| (r.id, r)).collect(),
            classes: FqdnClasses::node_wide(rules)?,
            instances: BTreeMap::new(),
            next_id: 1,
            next_port: FIRST_QUERY_PORT,
        })
    }

    /// The endpoint's DNS selectors (its egress rules'), as the build collects them.
    pub fn endpoint_dns(&self, endpoint: &EndpointKey) -> EndpointDns {
        let selected = self
            .compilation
            .endpoint(endpoint)
            .map(|e| e.resolved.egress.selected_rules.clone())
            .unwrap_or_default();
        EndpointDns::from_rules(selected.iter().filter_map(|id| self.rules.get(id).copied()))
    }

    fn instance(
        &mut self,
        endpoint: &EndpointKey,
        checker: &mut KernelChecker<'_>,
    ) -> Result<Option<&DnsInstance>, FqdnCheckError> {
        if !self.instances.contains_key(endpoint) {
            let dns = self.endpoint_dns(endpoint);
            let instance = if dns.intercepts() {
                let tables = compile_endpoint(&dns, &self.classes, &DnsLimits::default()).map_err(
                    |source| FqdnCheckError::Tables {
                        endpoint: endpoint.clone(),
                        source,
                    },
                )?;
                let config = DnsConfig {
                    min_ttl_s: 0,
                    redirect_peer: true,
                    ..DnsConfig::default()
                };
                let loader_error = |source| FqdnCheckError::Loader {
                    endpoint: endpoint.clone(),
                    source,
                };
                let learned = checker.learned().map_err(loader_error)?;
                let instance = DnsInstance::load_images(&tables.images(&config), |open| {
                    learned.reuse_in(open)
                })
                .map_err(loader_error)?;
                Some(instance)
            } else {
                None
            };
            self.instances.insert(endpoint.clone(), instance);
        }
        Ok(self.instances.get(endpoint).and_then(Option::as_ref))
    }

    /// Sends a question for `name` from the endpoint (`local`) to `server` through its DNS
    /// object and, when it was allowed, the server's answer carrying `answer` (TTL
    /// [`ANSWER_TTL_S`]). Returns what the DNS object did with the question.
    pub fn resolve(
        &mut self,
        checker: &mut KernelChecker<'_>,
        endpoint: &EndpointKey,
        local: IpAddr,
        server: IpAddr,
        name: &str,
        answer: &[IpAddr],
    ) -> Result<QueryOutcome, FqdnCheckError> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let port = self.next_port;
        self.next_port = self.next_port.checked_add(1).unwrap_or(FIRST_QUERY_PORT);
        let want_v6 = answer.first().is_some_and(IpAddr::is_ipv6);
        let Some(dns) = self.instance(endpoint, checker)? else {
            return Ok(QueryOutcome::NotIntercepted);
        };
        let loader_error = |source| FqdnCheckError::Loader {
            endpoint: endpoint.clone(),
            source,
        };
        let query = Packet::udp(local, server, port, 53)
            .with_payload(&query_message(id, name, want_v6))
            .frame();
        dns.run_query(&query).map_err(loader_error)?;
        if dns
            .pending(local, port, id)
            .map_err(loader_error)?
            .is_none()
        {
            return Ok(QueryOutcome::Refused);
        }
        let reply = Packet::udp(server, local, 53, port)
            .with_payload(&answer_message(id, name, answer, ANSWER_TTL_S))
            .frame();
        dns.run_answer(&reply).map_err(loader_error)?;
        Ok(QueryOutcome::Allowed)
    }
}
