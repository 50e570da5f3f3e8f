//! Pin paths of the DNS objects: the node-wide learned map and, per endpoint, the DNS links,
//! shared maps and generations under `<endpoint pin dir>/dns/`, named by hook (`query`,
//! `answer`; [`hook_of`] a direction).

use std::path::PathBuf;

use policyc_backends::dns::map_names;
use policyc_backends::layout::Direction;

use crate::node::pins::NodePaths;

/// Maps shared by every DNS generation of an endpoint.
pub const SHARED_DNS_MAPS: [&str; 3] =
    [map_names::PENDING, map_names::COUNTERS, map_names::NAME_IPS];

/// The two DNS programs: (link/pin suffix, program name). The tcx direction comes from the
/// program's section (`tcx/ingress` for questions, `tcx/egress` for answers).
pub const DNS_HOOKS: [(&str, &str); 2] = [
    ("query", policyc_backends::dns::programs::QUERY),
    ("answer", policyc_backends::dns::programs::ANSWER),
];

/// The DNS hook (`query`, `answer`) whose program runs in a direction's DNS slot.
pub fn hook_of(direction: Direction) -> &'static str {
    match direction {
        Direction::Egress => DNS_HOOKS[0].0,
        Direction::Ingress => DNS_HOOKS[1].0,
    }
}

/// `<bpffs>/policyc/pc_dns_learned`.
pub fn learned_pin(paths: &NodePaths) -> PathBuf {
    paths.pin_root.join(map_names::LEARNED)
}

/// `<bpffs>/policyc/pc_dns_owned`: the node-wide learning-quota accounting per endpoint.
pub fn owned_pin(paths: &NodePaths) -> PathBuf {
    paths.pin_root.join(map_names::OWNED)
}

/// `<bpffs>/policyc/pc_dns_names`: the node-wide address → question name map.
pub fn names_pin(paths: &NodePaths) -> PathBuf {
    paths.pin_root.join(map_names::NAMES)
}

/// `<endpoint dir>/dns`.
pub fn dns_dir(paths: &NodePaths, endpoint: &str) -> PathBuf {
    paths.endpoint_dir(endpoint).join("dns")
}

/// A DNS link (`query` or `answer`).
pub fn link(paths: &NodePaths, endpoint: &str, hook: &str) -> PathBuf {
    dns_dir(paths, endpoint).join(format!("link_{hook}"))
}

/// A map shared by the DNS generations of an endpoint.
pub fn shared_map(paths: &NodePaths, endpoint: &str, map: &str) -> PathBuf {
    dns_dir(paths, endpoint).join(map)
}

/// One DNS generation.
pub fn generation_dir(paths: &NodePaths, endpoint: &str, generation: u64) -> PathBuf {
    dns_dir(paths, endpoint).join(format!("g{generation}"))
}

/// A program of a DNS generation.
pub fn program(paths: &NodePaths, endpoint: &str, generation: u64, hook: &str) -> PathBuf {
    generation_dir(paths, endpoint, generation).join(format!("prog_{hook}"))
}

/// DNS generations present on bpffs, sorted.
pub fn generations(paths: &NodePaths, endpoint: &str) -> Vec<u64> {
    let mut out: Vec<u64> = std::fs::read_dir(dns_dir(paths, endpoint))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .strip_prefix('g')
                        .and_then(|n| n.parse::<u64>().ok())
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_unstable();
    out
}
