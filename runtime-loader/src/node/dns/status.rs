//! `policy-loader dns status|dump` (and the DNS lines of `status`): per endpoint the DNS
//! generation, program ids and counters (refused, allowed, learned, unsolicited, unparseable,
//! malformed, TCP/fragment drops); node-wide the learned map's fill and, for `dump`, every
//! learned address with its selectors (named from the manifest) and the TTL left.

use libbpf_rs::MapHandle;
use policyc_backends::artifact::ManifestNodeDns;
use policyc_backends::dns::{map_names, DnsCounter, COUNTER_COUNT};
use policyc_backends::layout::Direction;
use serde::Serialize;

use super::counters::read_counters;
use super::dispatch::stage_state;
use super::learned::{learned_name, monotonic_ns, open_names, read_learned};
use super::ledger::accounting;
use super::paths::{self, hook_of};
use crate::node::error::NodeError;
use crate::node::live::live_state;
use crate::node::pins::{AttachPoint, NodePaths};
use policyc_kernel::attach::tcx_chain;

/// Counter names, in map index order (`DnsCounter` / `dns_layout.h`).
pub fn counter_name(counter: DnsCounter) -> &'static str {
    match counter {
        DnsCounter::Refused => "refused",
        DnsCounter::Learned => "learned",
        DnsCounter::Unsolicited => "unsolicited",
        DnsCounter::Unparseable => "unparseable",
        DnsCounter::Allowed => "allowed",
        DnsCounter::MalformedQuery => "malformed_query",
        DnsCounter::TcpUnjudgeable => "tcp_unjudgeable",
        DnsCounter::Fragmented => "fragmented",
        DnsCounter::DnsOverTls => "dot",
        DnsCounter::TcpRefused => "tcp_refused",
        DnsCounter::LearnedNew => "learned_new",
        DnsCounter::LearnQuota => "learn_quota",
        DnsCounter::LearnFull => "learn_full",
        DnsCounter::Reclaimed => "reclaimed",
        DnsCounter::NameCap => "name_cap",
    }
}

/// The DNS object of one endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointDnsStatus {
    /// `namespace/name`.
    pub endpoint: String,
    /// Program id per hook (`query`, `answer`) in the active DNS slots.
    pub programs: Vec<(String, Option<u32>)>,
    /// Counter name → value (summed over CPUs, since the first install).
    pub counters: Vec<(String, u64)>,
    /// Program ids at the interface's tcx ingress and egress, in run order.
    pub tcx_ingress: Vec<u32>,
    pub tcx_egress: Vec<u32>,
    /// Both DNS stage dispatchers run last, after at least one other program (the main
    /// dispatcher).
    pub runs_after_main: bool,
}

/// The node's DNS state.
#[derive(Debug, Clone, Serialize)]
pub struct DnsStatus {
    /// Endpoints with a DNS object.
    pub endpoints: Vec<EndpointDnsStatus>,
    /// Entries in the learned map (expired ones not yet swept included).
    pub learned_entries: usize,
    /// Of which expired.
    pub learned_expired: usize,
    /// Its `max_entries` (0: no learned map).
    pub learned_max: u32,
    /// Inserts since the learned map was created (`learned_new` of installed and unloaded
    /// endpoints).
    pub learned_inserted: u64,
    /// Entries deleted by `dns sweep`.
    pub learned_swept: u64,
    /// Entries the LRU evicted: inserted − swept − entries (None: the learned map predates
    /// the ledger that makes this exact).
    pub learned_evicted: Option<u64>,
}

/// One learned address for `dump`.
#[derive(Debug, Clone, Serialize)]
pub struct LearnedRow {
    /// The address.
    pub addr: String,
    /// The question name whose answer taught it last (None when the names map no longer
    /// holds it).
    pub name: Option<String>,
    /// Selectors it was learned for (from the manifest's FQDN classes).
    pub selectors: Vec<String>,
    /// Seconds left (negative: expired, not swept yet).
    pub ttl_left_s: f64,
}

/// The manifest's DNS section of any installed endpoint's live generation (classes are
/// node-wide, so any one will do; the newest apply wins).
pub fn node_dns_manifest(paths: &NodePaths) -> Option<ManifestNodeDns> {
    let endpoints = paths.installed_endpoints().ok()?;
    endpoints.iter().find_map(|name| {
        let generation = live_state(paths, name).generation()?;
        paths.read_record(name, generation).ok()?.manifest.dns
    })
}

/// Status of every endpoint's DNS object and of the learned map.
pub fn status(paths: &NodePaths) -> Result<DnsStatus, NodeError> {
    let mut endpoints = Vec::new();
    for name in paths.installed_endpoints()? {
        // Endpoints whose live generation has DNS programs (not only the pass-through).
        let Some(generation) = live_state(paths, &name).generation() else {
            continue;
        };
        if !paths::generation_dir(paths, &name, generation).exists() {
            continue;
        }
        let stage = stage_state(paths, &name, generation);
        let slot = |direction| {
            stage.as_ref().and_then(|st| {
                st.slots
                    .iter()
                    .find(|(d, _)| *d == direction)
                    .and_then(|(_, id)| *id)
            })
        };
        let programs: Vec<(String, Option<u32>)> = [Direction::Egress, Direction::Ingress]
            .into_iter()
            .map(|d| (hook_of(d).to_owned(), slot(d)))
            .collect();
        let counters_pin = paths::shared_map(paths, &name, map_names::COUNTERS);
        let values = MapHandle::from_pinned_path(&counters_pin)
            .map(|map| read_counters(&map, COUNTER_COUNT))
            .unwrap_or_default();
        let counters = DnsCounter::ALL
            .iter()
            .map(|c| {
                (
                    counter_name(*c).to_owned(),
                    values.get(*c as usize).copied().unwrap_or(0),
                )
            })
            .collect();
        let ifindex = live_state(paths, &name)
            .generation()
            .and_then(|g| paths.read_record(&name, g).ok())
            .and_then(|record| match record.attach {
                AttachPoint::Tcx { ifindex, .. } => Some(ifindex),
                AttachPoint::CgroupSkb { .. } => None,
            });
        let (tcx_ingress, tcx_egress) = ifindex.map_or_else(Default::default, |i| {
            (
                tcx_chain(i, libbpf_sys::BPF_TCX_INGRESS),
                tcx_chain(i, libbpf_sys::BPF_TCX_EGRESS),
            )
        });
        let runs_after_main = stage
            .as_ref()
            .zip(ifindex)
            .is_some_and(|(st, i)| st.runs_after_main(i));
        endpoints.push(EndpointDnsStatus {
            endpoint: name,
            programs,
            counters,
            tcx_ingress,
            tcx_egress,
            runs_after_main,
        });
    }
    // Counters first, then the entries: an insert in between is in both or only in the entries
    // (never counted as an eviction).
    let before = accounting(paths)?;
    let (learned, learned_max) = read_learned(paths)?;
    let now = monotonic_ns();
    let entries = u64::try_from(learned.len()).unwrap_or(u64::MAX);
    Ok(DnsStatus {
        endpoints,
        learned_entries: learned.len(),
        learned_expired: learned.iter().filter(|e| e.expiry_ns <= now).count(),
        learned_max,
        learned_inserted: before.inserted,
        learned_swept: before.swept,
        learned_evicted: before.evicted(entries),
    })
}

/// Every learned address with its selectors and TTL left.
pub fn dump(paths: &NodePaths) -> Result<Vec<LearnedRow>, NodeError> {
    let manifest = node_dns_manifest(paths);
    let (learned, _) = read_learned(paths)?;
    let names = open_names(paths);
    let now = monotonic_ns();
    Ok(learned
        .into_iter()
        .map(|e| LearnedRow {
            addr: e.addr.to_string(),
            name: names.as_ref().and_then(|n| learned_name(n, e.addr)),
            selectors: manifest.as_ref().map_or_else(
                || vec![format!("bitmap {:#x}", e.selectors)],
                |m| m.selector_names(e.selectors),
            ),
            ttl_left_s: (e.expiry_ns as f64 - now as f64) / 1e9,
        })
        .collect())
}

/// `status` as text.
pub fn render_status(status: &DnsStatus) -> String {
    let mut out = String::new();
    if status.endpoints.is_empty() && status.learned_max == 0 {
        return out;
    }
    for endpoint in &status.endpoints {
        let programs: Vec<String> = endpoint
            .programs
            .iter()
            .map(|(hook, id)| format!("{hook}={}", id.map_or("-".to_owned(), |i| i.to_string())))
            .collect();
        let counters: Vec<String> = endpoint
            .counters
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        out.push_str(&format!(
            "dns {}: programs {} ({}) | {}\n",
            endpoint.endpoint,
            programs.join(" "),
            if endpoint.runs_after_main {
                "after the main datapath"
            } else {
                "NOT after the main datapath"
            },
            counters.join(" ")
        ));
    }
    let fill = if status.learned_max == 0 {
        0.0
    } else {
        100.0 * status.learned_entries as f64 / f64::from(status.learned_max)
    };
    let evicted = status.learned_evicted.map_or_else(
        || "? (map older than its ledger)".to_owned(),
        |e| e.to_string(),
    );
    out.push_str(&format!(
        "dns learned map: {} / {} entries ({fill:.1}%), {} expired not yet swept | inserted={} swept={} evicted={evicted}\n",
        status.learned_entries,
        status.learned_max,
        status.learned_expired,
        status.learned_inserted,
        status.learned_swept,
    ));
    out
}

/// `dump` as text.
pub fn render_dump(rows: &[LearnedRow]) -> String {
    let mut out = format!(
        "{:<32} {:<40} {:>10}  selectors\n",
        "name", "address", "ttl left"
    );
    for row in rows {
        let ttl = if row.ttl_left_s <= 0.0 {
            "expired".to_owned()
        } else {
            format!("{:.1}s", row.ttl_left_s)
        };
        out.push_str(&format!(
            "{:<32} {:<40} {:>10}  {}\n",
            row.name.as_deref().unwrap_or("?"),
            row.addr,
            ttl,
            row.selectors.join(", ")
        ));
    }
    out
}
