//! Rust mirrors of `bpf-templates/dns_layout.h`: the DNS object's shared constants, counters
//! and `#[repr(C)]` map keys/values and event record, whose bytes come from the types
//! ([`crate::c_layout`]). [`HEADER`] lists them for `runtime-loader/tests/layout_btf.rs`.

use crate::c_layout::{c_constants, c_struct, CHeader, CStruct};
use crate::layout::{code_enum, Event};

c_constants! {
    /// `enum pc_dns_constant`.
    pub const DNS_CONSTANTS = "pc_dns_constant" {
        /// Bytes of a dotted-name buffer (`struct pc_dns_name`); names are <= 255 octets.
        pub const NAME_MAX: usize = 256 => "PC_DNS_NAME_MAX";
        /// Byte classes of the DFA: `next` entries of a row.
        pub const MAX_CLASSES: usize = 64 => "PC_DNS_MAX_CLASSES";
        /// `skb->mark` of REFUSED answers sent with `bpf_redirect` (not `bpf_redirect_peer`).
        pub const REFUSED_MARK: u32 = 0x70c_0dd5 => "PC_DNS_REFUSED_MARK";
        /// `max_entries` of the node-wide `pc_dns_names` map.
        pub const NAMES_MAX_ENTRIES: u32 = 16_384 => "PC_DNS_NAMES_MAX_ENTRIES";
        /// Learned lifetimes are capped at this many seconds (`min_ttl_s` included).
        pub const MAX_TTL_S: u32 = 86_400 => "PC_DNS_MAX_TTL_S";
        /// Expiry-window buckets of an endpoint's learning-quota accounting.
        pub const QUOTA_BUCKETS: usize = 64 => "PC_DNS_QUOTA_BUCKETS";
        /// Seconds per accounting window (64 windows span more than [`MAX_TTL_S`]).
        pub const QUOTA_WINDOW_S: u32 = 1_440 => "PC_DNS_QUOTA_WINDOW_S";
        /// `max_entries` of the node-wide `pc_dns_owned` map (endpoints per node, plus key 0).
        pub const OWNERS_MAX_ENTRIES: u32 = 4_096 => "PC_DNS_OWNERS_MAX_ENTRIES";
        /// A full learned map is scanned for expired entries at most this often.
        pub const RECLAIM_INTERVAL_MS: u32 = 1_000 => "PC_DNS_RECLAIM_INTERVAL_MS";
        /// `max_entries` of an endpoint's `pc_dns_name_ips` (question names tracked, LRU).
        pub const NAME_IPS_MAX_ENTRIES: u32 = 16_384 => "PC_DNS_NAME_IPS_MAX_ENTRIES";
    }
}

code_enum! {
    /// Per-CPU counters of the DNS object, in map index order (`enum pc_dns_counter`).
    DnsCounter: u32 = "pc_dns_counter", also "PC_DNS_COUNTER_COUNT" = COUNTER_COUNT {
        /// A denied UDP question, answered REFUSED.
        Refused = 0 => "PC_DNS_REFUSED",
        /// A/AAAA records written into the learned map.
        Learned = 1 => "PC_DNS_LEARNED",
        /// An answer matching no pending question.
        Unsolicited = 2 => "PC_DNS_UNSOLICITED",
        /// An answer that could not be parsed (teaches nothing).
        Unparseable = 3 => "PC_DNS_UNPARSEABLE",
        /// An allowed question.
        Allowed = 4 => "PC_DNS_ALLOWED",
        /// A malformed question (dropped).
        MalformedQuery = 5 => "PC_DNS_MALFORMED_QUERY",
        /// A TCP/53 question or answer not exactly one length-prefixed message in one segment
        /// (dropped).
        TcpUnjudgeable = 6 => "PC_DNS_TCP_UNJUDGEABLE",
        /// The first fragment of a fragmented UDP/53 question or answer (dropped).
        Fragmented = 7 => "PC_DNS_FRAGMENTED",
        /// DNS over TLS (port 853) from the endpoint (dropped).
        DnsOverTls = 8 => "PC_DNS_DOT",
        /// A denied TCP/53 question, answered REFUSED in-stream (not counted in `Refused`).
        TcpRefused = 9 => "PC_DNS_TCP_REFUSED",
        /// Learned addresses that were not in the learned map yet.
        LearnedNew = 10 => "PC_DNS_LEARNED_NEW",
        /// Addresses not learned (or not extended): the endpoint's live entries are at its quota.
        LearnQuota = 11 => "PC_DNS_LEARN_QUOTA",
        /// Addresses not learned: the learned map is full of live entries.
        LearnFull = 12 => "PC_DNS_LEARN_FULL",
        /// Expired learned entries deleted by the program when the map was full.
        Reclaimed = 13 => "PC_DNS_RECLAIMED",
        /// Addresses not learned: their question name already opened `name_ip_max` live ones.
        NameCap = 14 => "PC_DNS_NAME_CAP",
    }
}

/// `PC_DNS_COUNTER_COUNT`: entries of `pc_dns_counters`.
pub const COUNTER_COUNT: u32 = DnsCounter::ALL.len() as u32;

c_struct! {
    /// `struct pc_dns_config`: the one value of `pc_dns_config`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct DnsConfigValue = "pc_dns_config" {
        /// Anchored start state of the DFA.
        pub start_state: u32,
        /// Learned entries live `max(TTL, min_ttl_s)` seconds, at most [`MAX_TTL_S`].
        pub min_ttl_s: u32,
        /// 1: REFUSED via `bpf_redirect_peer`; 0: `bpf_redirect` + [`REFUSED_MARK`].
        pub redirect_peer: u32,
        /// Live learned entries this endpoint may own (0: it learns nothing).
        pub learn_quota: u32,
        /// A question is allowed iff its selector bitmap & `allow_mask` != 0.
        pub allow_mask: u64,
        /// The endpoint's key in `pc_dns_owned` (its interface index; never 0).
        pub owner: u32,
        /// Addresses one question name may open for the endpoint (0: none).
        pub name_ip_max: u32,
    }
}

c_struct! {
    /// `struct pc_dns_name_ips`: addresses opened for one question name (a `pc_dns_name_ips`
    /// value, keyed by the name's FNV-1a 64 hash).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct NameIpsValue = "pc_dns_name_ips" {
        /// When the last counted address expires (the count ends then).
        pub until_ns: u64,
        /// Addresses counted.
        pub count: u32,
        /// Padding.
        pub pad: u32,
    }
}

c_struct! {
    /// `struct pc_dns_owned`: one endpoint's live learned entries per expiry window (key 0:
    /// the node's, `reclaim_ns` only).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct OwnedValue = "pc_dns_owned" {
        /// When a full learned map was last scanned for expired entries (key 0).
        pub reclaim_ns: u64,
        /// Entries per bucket.
        pub count: [u32; QUOTA_BUCKETS],
        /// The window each bucket counts.
        pub window: [u32; QUOTA_BUCKETS],
    }
}

c_struct! {
    /// `struct pc_dns_classes`: byte → DFA byte class (the one value of `pc_dns_classes`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct DnsClasses = "pc_dns_classes" {
        pub class_of: [u8; 256],
    }
}

c_struct! {
    /// `struct pc_dns_row`: one DFA state (a `pc_dns_dfa` value).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct DfaRow = "pc_dns_row" {
        /// Selector bitmap of the patterns that match when the name ends in this state.
        pub accept: u64,
        /// Next state per byte class; 0 is the dead state.
        pub next: [u16; MAX_CLASSES],
    }
}

c_struct! {
    /// `struct pc_dns_name`: the lower-cased dotted name with its trailing dot, zero padded
    /// (the `pc_dns_exact` key, the `pc_dns_names` value, the name of a DNS event).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct DnsName = "pc_dns_name" {
        pub bytes: [u8; NAME_MAX],
    }
}

c_struct! {
    /// `struct pc_dns_event`: a record of the DNS object on the endpoint's event ring, the
    /// datapath's [`Event`] followed by the question name (all zero when it was never read).
    /// Longer than the datapath's records, which is how a reader tells them apart.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct DnsEvent = "pc_dns_event" {
        pub event: Event,
        pub qname: DnsName,
    }
}

c_struct! {
    /// `struct pc_dns_pending_key`: an allowed question waiting for its answer.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct PendingKey = "pc_dns_pending_key" {
        /// The endpoint's address (IPv4 in the first 4 bytes).
        pub endpoint: [u8; 16],
        /// 4 or 6.
        pub family: u8,
        /// Padding.
        pub pad: u8,
        /// The endpoint's source port (host order).
        pub port: u16,
        /// DNS id (host order).
        pub id: u16,
        /// Padding.
        pub pad2: u16,
    }
}

c_struct! {
    /// `struct pc_dns_pending`: what the question allowed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct PendingValue = "pc_dns_pending" {
        /// Selector bitmap of the question.
        pub selectors: u64,
        /// FNV-1a 64 of the dotted lower-cased name ([`crate::dns::name_hash`]).
        pub name_hash: u64,
        /// The server's address bytes.
        pub server: [u8; 16],
    }
}

/// Everything `dns_layout.h` shares with Rust (checked against the DNS object's BTF).
pub const HEADER: CHeader = CHeader {
    file: "dns_layout.h",
    structs: &[
        DnsConfigValue::LAYOUT,
        OwnedValue::LAYOUT,
        NameIpsValue::LAYOUT,
        DnsClasses::LAYOUT,
        DfaRow::LAYOUT,
        DnsName::LAYOUT,
        DnsEvent::LAYOUT,
        PendingKey::LAYOUT,
        PendingValue::LAYOUT,
    ],
    enums: &[DNS_CONSTANTS, DnsCounter::C_ENUM],
    strings: &[],
    bpf_only: &[(
        "pc_dns_btf_anchor",
        "a .rodata variable that keeps the enums and the event record in the BTF",
    )],
};
