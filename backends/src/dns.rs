//! In-kernel DNS policy tables: the compiled DNS object (`bpf-templates/policyc_dns.bpf.c`),
//! the exact-name set and the multi-pattern DFA flattened into map images (of the types in
//! [`crate::dns_layout`], the mirror of `dns_layout.h`), plus a userspace walker over the same
//! flattened tables.

use std::collections::{BTreeMap, HashMap, VecDeque};

use policyc_ir::fqdn::FqdnSelector;
use regex_automata::dfa::{dense, Automaton, StartKind};
use regex_automata::nfa::thompson;
use regex_automata::util::primitives::StateID;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, MatchKind};

use crate::c_layout::size_u32;
use crate::dns_layout::{DfaRow, DnsClasses, DnsConfigValue};
pub use crate::dns_layout::{
    DnsCounter, DnsEvent, DnsName, COUNTER_COUNT, MAX_CLASSES, MAX_TTL_S, NAMES_MAX_ENTRIES,
    NAME_MAX, REFUSED_MARK,
};
use crate::layout::ArrayIndex;
use crate::map_image::MapImage;

/// The compiled DNS object (ELF, BPF target, with BTF): one instance per endpoint.
#[cfg(feature = "objects")]
pub static DNS_OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/policyc_dns.bpf.o"));

/// Program names (ELF symbols) of the DNS object.
pub mod programs {
    /// Queries from the endpoint: tcx ingress on the host-side interface (Ethernet first).
    pub const QUERY: &str = "pc_dns_query";
    /// Answers to the endpoint: tcx egress on the host-side interface.
    pub const ANSWER: &str = "pc_dns_answer";
}

/// Map names of the DNS object.
pub mod map_names {
    pub const CONFIG: &str = "pc_dns_config";
    pub const CLASSES: &str = "pc_dns_classes";
    pub const DFA: &str = "pc_dns_dfa";
    pub const EXACT: &str = "pc_dns_exact";
    pub const PENDING: &str = "pc_dns_pending";
    pub const LEARNED: &str = "pc_dns_learned";
    /// Node-wide: learned address → the question name that taught it (for `dns dump`).
    pub const NAMES: &str = "pc_dns_names";
    /// Node-wide: each endpoint's live learned entries (the learning quota).
    pub const OWNED: &str = "pc_dns_owned";
    /// Per endpoint: addresses opened per question name (the per-name cap).
    pub const NAME_IPS: &str = "pc_dns_name_ips";
    pub const COUNTERS: &str = "pc_dns_counters";
}

/// Bytes of a [`DnsEvent`] record on the endpoint's event ring.
pub const EVENT_RECORD_SIZE: usize = size_of::<DnsEvent>();

/// The question name a DNS object record carries: None for the datapath's shorter records and
/// for DNS records whose name was never read.
pub fn event_name(record: &[u8]) -> Option<String> {
    decode_name(&DnsEvent::decode(record)?.qname.bytes)
}

/// A zero-padded `struct pc_dns_name` as text (None when empty); bytes outside printable ASCII
/// are escaped.
pub fn decode_name(name: &[u8]) -> Option<String> {
    let end = name.iter().position(|b| *b == 0).unwrap_or(name.len());
    (end > 0).then(|| name[..end].escape_ascii().to_string())
}
/// Selector classes are bits of a u64.
pub const MAX_SELECTOR_CLASSES: u8 = 64;
/// `next` entries are u16, so at most this many DFA states.
pub const MAX_STATES: usize = u16::MAX as usize;

/// Why DNS tables could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsBuildError {
    #[error("selector class {class} is out of range: DNS selector classes are bits 0..63 of a u64; split the endpoint's FQDN selectors")]
    ClassOutOfRange { class: u8 },
    #[error("the DNS pattern DFA could not be built: {0}")]
    Dfa(String),
    #[error("the DNS pattern DFA has {states} states, more than the cap of {cap}; split the patterns or use fewer wildcards")]
    TooManyStates { states: usize, cap: usize },
    #[error("the DNS pattern DFA needs {classes} byte classes, more than {MAX_CLASSES}")]
    TooManyByteClasses { classes: usize },
}

/// Limits on the DFA built for one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsLimits {
    /// Maximum flattened states (rows of `pc_dns_dfa`).
    pub max_states: usize,
    /// Heap budget for regex-automata while determinizing, in bytes.
    pub build_bytes: usize,
}

impl Default for DnsLimits {
    fn default() -> Self {
        DnsLimits {
            max_states: 32_768,
            build_bytes: 256 << 20,
        }
    }
}

/// One DFA state: the next state per byte class, and the classes that match at end of name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRow {
    pub accept: u64,
    pub next: Vec<u16>,
}

/// The flattened DNS matching tables of one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsTables {
    /// Lower-cased dotted names (with trailing dot) → selector bitmap.
    pub exact: BTreeMap<String, u64>,
    /// Byte → byte class.
    pub class_of: [u8; 256],
    /// Row 0 is the dead state.
    pub rows: Vec<DnsRow>,
    pub start_state: u16,
    /// A question is allowed iff its bitmap intersects this mask (all bits by default; the
    /// compiler reserves one class for `rules.dns` and sets the mask to it).
    pub allow_mask: u64,
}

impl DnsTables {
    /// Builds the tables for `(selector class, selector)` pairs. Several selectors may share a
    /// class; the caller assigns classes (they index the learned map's bitmaps node-wide).
    pub fn compile(
        selectors: &[(u8, FqdnSelector)],
        limits: &DnsLimits,
    ) -> Result<DnsTables, DnsBuildError> {
        let mut exact: BTreeMap<String, u64> = BTreeMap::new();
        let mut globs: Vec<(String, u64)> = Vec::new();
        for (class, selector) in selectors {
            if *class >= MAX_SELECTOR_CLASSES {
                return Err(DnsBuildError::ClassOutOfRange { class: *class });
            }
            let bit = 1u64 << class;
            let pattern = selector.pattern();
            if pattern.has_wildcard() {
                globs.push((pattern.to_regex(), bit));
            } else {
                *exact.entry(format!("{}.", pattern.as_str())).or_default() |= bit;
            }
        }
        let (class_of, rows, start_state) = flatten_globs(&globs, limits)?;
        Ok(DnsTables {
            exact,
            class_of,
            rows,
            start_state,
            allow_mask: u64::MAX,
        })
    }

    /// The selector bitmap for a queried name, computed by walking the flattened tables
    /// exactly as the BPF program does. `name` is dotted; a trailing dot is optional.
    pub fn selectors_for(&self, name: &str) -> u64 {
        let mut dotted = name.to_ascii_lowercase();
        if !dotted.ends_with('.') {
            dotted.push('.');
        }
        let mut bits = self.exact.get(&dotted).copied().unwrap_or(0);
        let mut state = usize::from(self.start_state);
        for byte in dotted.bytes() {
            let class = usize::from(self.class_of[usize::from(byte)]);
            state = self
                .rows
                .get(state)
                .and_then(|row| row.next.get(class))
                .map_or(0, |next| usize::from(*next));
        }
        bits |= self.rows.get(state).map_or(0, |row| row.accept);
        bits
    }

    /// Map images for the DNS object (config, classes, DFA rows, exact names).
    pub fn images(&self, config: &DnsConfig) -> Vec<MapImage> {
        let zero = ArrayIndex::to_ne_bytes(0).to_vec();
        let config_value = DnsConfigValue {
            start_state: u32::from(self.start_state),
            min_ttl_s: config.min_ttl_s,
            redirect_peer: u32::from(config.redirect_peer),
            learn_quota: config.learn_quota,
            allow_mask: self.allow_mask,
            owner: config.owner,
            name_ip_max: config.name_ip_max,
        };
        let rows = self
            .rows
            .iter()
            .enumerate()
            .map(|(index, row)| {
                let mut value = DfaRow {
                    accept: row.accept,
                    next: [0; MAX_CLASSES],
                };
                for (slot, next) in value.next.iter_mut().zip(&row.next) {
                    *slot = *next;
                }
                ((index as ArrayIndex).to_ne_bytes().to_vec(), value.encode())
            })
            .collect();
        let exact = self
            .exact
            .iter()
            .map(|(name, bits)| (name_key(name), bits.to_ne_bytes().to_vec()))
            .collect();
        vec![
            MapImage {
                name: map_names::CONFIG.into(),
                key_size: size_u32::<ArrayIndex>(),
                value_size: size_u32::<DnsConfigValue>(),
                max_entries: 1,
                entries: vec![(zero.clone(), config_value.encode())],
            },
            MapImage {
                name: map_names::CLASSES.into(),
                key_size: size_u32::<ArrayIndex>(),
                value_size: size_u32::<DnsClasses>(),
                max_entries: 1,
                entries: vec![(
                    zero,
                    DnsClasses {
                        class_of: self.class_of,
                    }
                    .encode(),
                )],
            },
            MapImage {
                name: map_names::DFA.into(),
                key_size: size_u32::<ArrayIndex>(),
                value_size: size_u32::<DfaRow>(),
                max_entries: self.rows.len() as u32,
                entries: rows,
            },
            MapImage {
                name: map_names::EXACT.into(),
                key_size: size_u32::<DnsName>(),
                value_size: size_u32::<u64>(),
                max_entries: (self.exact.len() as u32).max(1),
                entries: exact,
            },
        ]
    }
}

/// Run-time settings of the DNS object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsConfig {
    /// Learned entries live `max(TTL, min_ttl_s)` seconds (at most [`MAX_TTL_S`]).
    pub min_ttl_s: u32,
    /// REFUSED answers go out with `bpf_redirect_peer` (else `bpf_redirect` plus [`REFUSED_MARK`]).
    pub redirect_peer: bool,
    /// Live entries of the node-wide learned map this endpoint may own ([`learn_quota`]).
    pub learn_quota: u32,
    /// The endpoint's key in the node-wide `pc_dns_owned` map (the loader uses its interface
    /// index; never 0, the node's key).
    pub owner: u32,
    /// Addresses one question name may open for the endpoint (`--dns-max-ips-per-name`).
    pub name_ip_max: u32,
}

/// Default of `name_ip_max`: Cilium's `--tofqdns-endpoint-max-ip-per-hostname` default
/// (`ToFQDNsMaxIPsPerHost = 1000`, pkg/defaults/defaults.go; 50 before Cilium 1.14).
pub const DEFAULT_NAME_IP_MAX: u32 = 1_000;

/// What share of the node-wide learned map one endpoint may own: `1 / LEARN_QUOTA_SHARE`.
pub const LEARN_QUOTA_SHARE: u32 = 4;

/// The learning quota of every endpoint for a learned map of `learned_max` entries: a quarter
/// of it (16,384 of the default 65,536), so that one endpoint — or three — flooding it leave
/// room for the others, while one endpoint can still hold more fresh names than a busy client
/// resolves within a day.
pub fn learn_quota(learned_max: u32) -> u32 {
    (learned_max / LEARN_QUOTA_SHARE).max(1)
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            min_ttl_s: 0,
            redirect_peer: false,
            learn_quota: learn_quota(crate::fqdn::LEARNED_MAX_ENTRIES),
            owner: 1,
            name_ip_max: DEFAULT_NAME_IP_MAX,
        }
    }
}

/// The exact-set key: the dotted name, zero padded to [`NAME_MAX`] bytes.
pub fn name_key(dotted: &str) -> Vec<u8> {
    let mut key = DnsName {
        bytes: [0; NAME_MAX],
    };
    for (slot, byte) in key.bytes.iter_mut().zip(dotted.bytes()) {
        *slot = byte;
    }
    key.encode()
}

/// FNV-1a 64 of the lower-cased dotted name with its trailing dot (the pending entry's hash).
pub fn name_hash(name: &str) -> u64 {
    let mut dotted = name.to_ascii_lowercase();
    if !dotted.ends_with('.') {
        dotted.push('.');
    }
    dotted.bytes().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

type Flattened = ([u8; 256], Vec<DnsRow>, u16);

fn flatten_globs(globs: &[(String, u64)], limits: &DnsLimits) -> Result<Flattened, DnsBuildError> {
    if globs.is_empty() {
        let dead = DnsRow {
            accept: 0,
            next: vec![0],
        };
        return Ok(([0; 256], vec![dead], 0));
    }
    let patterns: Vec<&str> = globs.iter().map(|(regex, _)| regex.as_str()).collect();
    let dfa = dense::Builder::new()
        .configure(
            dense::Config::new()
                .match_kind(MatchKind::All)
                .start_kind(StartKind::Anchored)
                .byte_classes(true)
                .dfa_size_limit(Some(limits.build_bytes))
                .determinize_size_limit(Some(limits.build_bytes)),
        )
        .syntax(
            syntax::Config::new()
                .unicode(false)
                .utf8(false)
                .case_insensitive(true),
        )
        .thompson(thompson::Config::new().utf8(false))
        .build_many(&patterns)
        .map_err(|e| DnsBuildError::Dfa(e.to_string()))?;
    let start = dfa
        .start_state_forward(&Input::new("").anchored(Anchored::Yes))
        .map_err(|e| DnsBuildError::Dfa(e.to_string()))?;

    // Number reachable states breadth-first; index 0 is our dead state.
    let mut index: HashMap<StateID, usize> = HashMap::new();
    let mut order: Vec<StateID> = Vec::new();
    let mut queue = VecDeque::from([start]);
    index.insert(start, 1);
    order.push(start);
    let cap = limits.max_states.min(MAX_STATES);
    while let Some(state) = queue.pop_front() {
        for byte in 0..=255u8 {
            let next = dfa.next_state(state, byte);
            if dfa.is_dead_state(next) || index.contains_key(&next) {
                continue;
            }
            index.insert(next, order.len() + 1);
            order.push(next);
            if order.len() + 1 > cap {
                return Err(DnsBuildError::TooManyStates {
                    states: order.len() + 1,
                    cap,
                });
            }
            queue.push_back(next);
        }
    }
    let target = |state: StateID, byte: u8| -> u16 {
        let next = dfa.next_state(state, byte);
        index.get(&next).map_or(0, |i| *i as u16)
    };

    // Byte classes: bytes with identical columns over every reachable state.
    let mut columns: HashMap<Vec<u16>, u8> = HashMap::new();
    let mut class_of = [0u8; 256];
    let mut representatives: Vec<u8> = Vec::new();
    for byte in 0..=255u8 {
        let column: Vec<u16> = order.iter().map(|s| target(*s, byte)).collect();
        let next_class = columns.len();
        let class = *columns.entry(column).or_insert_with(|| {
            representatives.push(byte);
            next_class as u8
        });
        if columns.len() > MAX_CLASSES {
            return Err(DnsBuildError::TooManyByteClasses {
                classes: columns.len(),
            });
        }
        class_of[usize::from(byte)] = class;
    }

    let mut rows = vec![DnsRow {
        accept: 0,
        next: vec![0; representatives.len()],
    }];
    for state in &order {
        let eoi = dfa.next_eoi_state(*state);
        let mut accept = 0u64;
        if dfa.is_match_state(eoi) {
            for i in 0..dfa.match_len(eoi) {
                let pattern = dfa.match_pattern(eoi, i).as_usize();
                accept |= globs.get(pattern).map_or(0, |(_, bit)| *bit);
            }
        }
        let next = representatives
            .iter()
            .map(|byte| target(*state, *byte))
            .collect();
        rows.push(DnsRow { accept, next });
    }
    Ok((class_of, rows, 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use policyc_ir::fqdn::FqdnPattern;
    use test_case::test_case;

    fn glob(text: &str) -> FqdnSelector {
        FqdnSelector::MatchPattern(FqdnPattern::pattern(text).unwrap())
    }

    // Cilium matchpattern cases (cilium-semantics.md §1.7, ir/src/fqdn.rs).
    #[test_case("*.cilium.io", "a.cilium.io"; "star label matches one label")]
    #[test_case("*.cilium.io", "cilium.io"; "star label needs a label")]
    #[test_case("*.cilium.io", "a.b.cilium.io"; "star never crosses a dot")]
    #[test_case("*cilium.io", "cilium.io"; "star may be empty")]
    #[test_case("*cilium.io", "subcilium.io"; "star prefix within label")]
    #[test_case("sub*.cilium.io", "subdomain.cilium.io"; "star suffix within label")]
    #[test_case("sub*.cilium.io", "sub.cilium.io"; "star suffix may be empty")]
    #[test_case("sub*.cilium.io", "xsub.cilium.io"; "star suffix is anchored")]
    #[test_case("**.cilium.io", "a.cilium.io"; "double star one label")]
    #[test_case("**.cilium.io", "a.b.cilium.io"; "double star many labels")]
    #[test_case("**.cilium.io", "cilium.io"; "double star needs a label")]
    #[test_case("*", "anything.example.com"; "lone star matches all")]
    #[test_case("*", "."; "lone star matches the root")]
    #[test_case("*.", "x."; "star dot matches all")]
    #[test_case("*.cilium.io", "A.CILIUM.IO."; "case insensitive and trailing dot")]
    #[test_case("api.example.com", "API.example.com"; "exact case insensitive")]
    #[test_case("api.example.com", "xapi.example.com"; "exact rejects")]
    #[test_case("*.cilium.io", "a-b_c9.cilium.io"; "star takes dash underscore digits")]
    #[test_case("*.cilium.io", "a+b.cilium.io"; "star rejects other bytes")]
    #[test_case("*.cilium.io", "a.cilium.iox"; "anchored at the end")]
    fn flattened_tables_agree_with_the_oracle(pattern: &str, name: &str) {
        let selector = glob(pattern);
        let tables = DnsTables::compile(&[(3, selector.clone())], &DnsLimits::default()).unwrap();
        let expected = if selector.matches(name) { 1 << 3 } else { 0 };
        assert_eq!(tables.selectors_for(name), expected, "{pattern} vs {name}");
    }

    #[test]
    fn many_patterns_share_one_dfa_with_per_class_bits() {
        let patterns = [
            (0, "*.cilium.io"),
            (1, "**.cilium.io"),
            (2, "*cilium.io"),
            (3, "api.example.com"),
            (4, "sub*.example.com"),
            (5, "*"),
        ];
        let selectors: Vec<(u8, FqdnSelector)> =
            patterns.iter().map(|(c, p)| (*c, glob(p))).collect();
        let tables = DnsTables::compile(&selectors, &DnsLimits::default()).unwrap();
        let names = [
            "a.cilium.io",
            "a.b.cilium.io",
            "cilium.io",
            "subcilium.io",
            "api.example.com",
            "subway.example.com",
            "other.org",
            "x_y.example.com",
            "bad!.cilium.io",
            ".",
        ];
        for name in names {
            let expected = selectors
                .iter()
                .filter(|(_, s)| s.matches(name))
                .fold(0u64, |bits, (c, _)| bits | 1 << c);
            assert_eq!(tables.selectors_for(name), expected, "{name}");
        }
    }

    #[test]
    fn class_64_is_rejected() {
        let err = DnsTables::compile(&[(64, glob("a.com"))], &DnsLimits::default()).unwrap_err();
        assert_eq!(err, DnsBuildError::ClassOutOfRange { class: 64 });
    }

    #[test]
    fn state_cap_is_a_clear_error() {
        let selectors: Vec<(u8, FqdnSelector)> = (0..50)
            .map(|i| (0, glob(&format!("p{i}*.x{i}.example.com"))))
            .collect();
        let limits = DnsLimits {
            max_states: 20,
            ..DnsLimits::default()
        };
        let err = DnsTables::compile(&selectors, &limits).unwrap_err();
        assert!(
            matches!(err, DnsBuildError::TooManyStates { cap: 20, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_thousand_globs_fit() {
        let selectors: Vec<(u8, FqdnSelector)> = (0..1000)
            .map(|i| {
                (
                    (i % 64) as u8,
                    glob(&format!("svc{i}-*.team{}.example.com", i % 13)),
                )
            })
            .collect();
        let tables = DnsTables::compile(&selectors, &DnsLimits::default()).unwrap();
        assert_eq!(
            tables.selectors_for("svc77-blue.team12.example.com"),
            1 << (77 % 64)
        );
        assert_eq!(tables.selectors_for("svc77-blue.team11.example.com"), 0);
    }
}
