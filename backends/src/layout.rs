//! Rust mirrors of `bpf-templates/policyc_layout.h`: map names, codes, constants and the
//! `#[repr(C)]` key/value structures, whose bytes come from the types themselves
//! ([`crate::c_layout`]). [`HEADER`] lists them for `runtime-loader/tests/layout_btf.rs`, which
//! checks them against the compiled object's BTF; change the header first, then this file.

use crate::c_layout::{c_constants, c_struct, CHeader, CStruct};

c_constants! {
    /// `enum policyc_layout_constant`.
    pub const LAYOUT_CONSTANTS = "policyc_layout_constant" {
        /// `POLICYC_LAYOUT_VERSION`: bumped when a structure, map or constant changes meaning.
        pub const LAYOUT_VERSION: u32 = 5 => "POLICYC_LAYOUT_VERSION";
        /// `POLICYC_SEARCH_STEPS`: bound of the binary search over intervals.
        pub const SEARCH_STEPS: u32 = 17 => "POLICYC_SEARCH_STEPS";
        /// `POLICYC_MAX_INTERVALS_PER_FUNCTION`: bound of a function's overflow ranges.
        pub const MAX_INTERVALS_PER_FUNCTION: u32 = 65_536 => "POLICYC_MAX_INTERVALS_PER_FUNCTION";
        /// `POLICYC_INLINE_RANGES`: ranges stored in the `pc_portfn` value itself.
        pub const INLINE_RANGES: usize = 4 => "POLICYC_INLINE_RANGES";
        /// `POLICYC_MAX_IPV6_EXT_HEADERS`.
        pub const MAX_IPV6_EXT_HEADERS: u32 = 8 => "POLICYC_MAX_IPV6_EXT_HEADERS";
        /// `POLICYC_MAX_SOURCE_ADDRS`: addresses of its own an endpoint may send from.
        pub const MAX_SOURCE_ADDRS: usize = 4 => "POLICYC_MAX_SOURCE_ADDRS";
        /// `POLICYC_EVENTS_RING_BYTES`: size of an endpoint's `pc_events` ring.
        pub const EVENTS_RING_BYTES: u32 = 256 * 1024 => "POLICYC_EVENTS_RING_BYTES";
        /// `POLICYC_CT_SYN_TIMEOUT_S`: lifetime of a TCP entry before its handshake completed
        /// (Cilium's `CT_SYN_TIMEOUT`).
        pub const CT_SYN_TIMEOUT_S: u64 = 60 => "POLICYC_CT_SYN_TIMEOUT_S";
        /// `POLICYC_CT_CLOSE_TIMEOUT_S`: lifetime of a TCP entry closed on both sides (Cilium's
        /// `CT_CLOSE_TIMEOUT`).
        pub const CT_CLOSE_TIMEOUT_S: u64 = 10 => "POLICYC_CT_CLOSE_TIMEOUT_S";
        /// `POLICYC_CT_CLOSING_ORIG`: [`CtValue::closing`] bit, the opener sent a FIN.
        pub const CT_CLOSING_ORIG: u8 = 1 => "POLICYC_CT_CLOSING_ORIG";
        /// `POLICYC_CT_CLOSING_REPLY`: [`CtValue::closing`] bit, the other side sent a FIN.
        pub const CT_CLOSING_REPLY: u8 = 2 => "POLICYC_CT_CLOSING_REPLY";
        /// `POLICYC_CT_MAX_ENTRIES`: entries of `pc_ct` and of `pc_ct_in` each.
        pub const CT_MAX_ENTRIES: u32 = 65_536 => "POLICYC_CT_MAX_ENTRIES";
        /// `POLICYC_EVENTS_PER_PEER_DEFAULT`: the event budget per peer address and second
        /// the compiler writes ([`PolicycConfig::event_budget_per_peer`]).
        pub const EVENTS_PER_PEER_DEFAULT: u32 = 64 => "POLICYC_EVENTS_PER_PEER_DEFAULT";
        /// `POLICYC_REASON_SLOTS`: slots per direction of `pc_drops` (above every [`Reason`]).
        pub const REASON_SLOTS: u32 = 32 => "POLICYC_REASON_SLOTS";
        /// `POLICYC_L7_TO_PROXY_MARK`: `skb->mark` of packets handed to the L7 filter (the
        /// loader's policy-routing rule delivers them locally).
        pub const L7_TO_PROXY_MARK: u32 = 0x7c70_0200 => "POLICYC_L7_TO_PROXY_MARK";
        /// `POLICYC_L7_FROM_PROXY_INGRESS_MARK`: `SO_MARK` of the filter's upstream after it
        /// judged the connection by the destination's ingress L7 policy.
        pub const L7_FROM_PROXY_INGRESS_MARK: u32 = 0x7c70_0300 => "POLICYC_L7_FROM_PROXY_INGRESS_MARK";
        /// `POLICYC_L7_FROM_PROXY_EGRESS_MARK`: the same after the source's egress L7 policy.
        pub const L7_FROM_PROXY_EGRESS_MARK: u32 = 0x7c70_0400 => "POLICYC_L7_FROM_PROXY_EGRESS_MARK";
        /// `POLICYC_L7_ROUTE_TABLE`: the routing table delivering `L7_TO_PROXY_MARK` locally.
        pub const L7_ROUTE_TABLE: u32 = 0x7c70 => "POLICYC_L7_ROUTE_TABLE";
        /// `POLICYC_L7_RULE_PRIORITY`: priority of the `fwmark` rule selecting that table.
        pub const L7_RULE_PRIORITY: u32 = 90 => "POLICYC_L7_RULE_PRIORITY";
        /// `POLICYC_L7_REDIRECT_MAX_ENTRIES`: entries of the node-wide `pc_l7_redir` map.
        pub const L7_REDIRECT_MAX_ENTRIES: u32 = 65_536 => "POLICYC_L7_REDIRECT_MAX_ENTRIES";
        /// `POLICYC_CT_FLAG_L7`: [`CtValue::flags`] bit, the flow is redirected to the filter.
        pub const CT_FLAG_L7: u8 = 1 => "POLICYC_CT_FLAG_L7";
        /// `POLICYC_CT_FLAG_FROM_PROXY`: [`CtValue::flags`] bit, the flow is the filter's
        /// upstream (its replies are delivered to the filter).
        pub const CT_FLAG_FROM_PROXY: u8 = 2 => "POLICYC_CT_FLAG_FROM_PROXY";
    }
}

c_constants! {
    /// `enum policyc_identity`: the reserved identities the programs know (Cilium's numbers,
    /// as `policyc_ir::ReservedIdentity::number`).
    pub const IDENTITIES = "policyc_identity" {
        /// Identity of the local host (`POLICYC_IDENTITY_HOST`).
        pub const IDENTITY_HOST: u32 = 1 => "POLICYC_IDENTITY_HOST";
        /// Identity `world` (`POLICYC_IDENTITY_WORLD`).
        pub const IDENTITY_WORLD: u32 = 2 => "POLICYC_IDENTITY_WORLD";
        /// Identity `world-ipv4` of dual-stack clusters.
        pub const IDENTITY_WORLD_IPV4: u32 = 9 => "POLICYC_IDENTITY_WORLD_IPV4";
        /// Identity `world-ipv6` of dual-stack clusters.
        pub const IDENTITY_WORLD_IPV6: u32 = 10 => "POLICYC_IDENTITY_WORLD_IPV6";
    }
}

/// Map names (`POLICYC_MAP_*`).
pub mod map_names {
    /// LPM trie: address prefix -> identity.
    pub const IPCACHE: &str = "pc_ipcache";
    /// Hash: (identity, direction) -> class.
    pub const CLASS: &str = "pc_class";
    /// Hash: (kind, class or identity, direction, protocol) -> sparse port function.
    pub const PORTFN: &str = "pc_portfn";
    /// Array of overflow port ranges.
    pub const INTERVALS: &str = "pc_intervals";
    /// LRU hash: conntrack of the flows the endpoint opened (key direction egress).
    pub const CT: &str = "pc_ct";
    /// LRU hash: conntrack of the flows peers opened (key direction ingress).
    pub const CT_IN: &str = "pc_ct_in";
    /// LRU hash: allowed first fragments.
    pub const FRAG: &str = "pc_frag";
    /// Ring buffer of `policyc_event`.
    pub const EVENTS: &str = "pc_events";
    /// Per-CPU array of per-rule counters.
    pub const COUNTERS: &str = "pc_counters";
    /// Per-CPU array of dropped packets and bytes by direction and reason
    /// ([`super::drop_slot`]); shared by an endpoint's generations.
    pub const DROPS: &str = "pc_drops";
    /// LRU hash, node-wide: connections handed to the L7 filter.
    pub const L7_REDIRECT: &str = "pc_l7_redir";
}

/// The `pc_drops` index of a direction and reason.
#[must_use]
pub fn drop_slot(direction: Direction, reason: Reason) -> ArrayIndex {
    u32::from(direction.code()) * REASON_SLOTS + u32::from(reason.code())
}

/// Key of the array maps (`pc_intervals`, `pc_counters`): the index.
pub type ArrayIndex = u32;

/// Port-function protocol 0: fallback for protocols without their own function.
pub const PROTOCOL_ANY: u8 = 0;

/// Declares a C enum mirror: the Rust enum with its codes and C enumerator names, `ALL`, and
/// `C_ENUM` (the C enum as a [`CEnum`], plus the `also` enumerators Rust keeps apart).
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $name:ident : $repr:ty = $cenum:literal $(, also $extra_c:literal = $extra:ident)* {
            $($(#[$vmeta:meta])* $variant:ident = $value:expr => $c:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr($repr)]
        pub enum $name { $($(#[$vmeta])* $variant = $value,)+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The C enum this mirrors, every enumerator with its value.
            pub const C_ENUM: $crate::c_layout::CEnum = $crate::c_layout::CEnum {
                c_name: $cenum,
                values: &[$(($c, $value as u64),)+ $(($extra_c, $extra as u64),)*],
            };

            /// The numeric code used in maps and events.
            pub fn code(self) -> $repr { self as $repr }

            /// The value for a numeric code, if any.
            pub fn from_code(code: $repr) -> Option<Self> {
                match code { $($value => Some($name::$variant),)+ _ => None }
            }

            /// The enumerator's name in the C header.
            pub fn c_name(self) -> &'static str {
                match self { $($name::$variant => $c,)+ }
            }
        }
    };
}
pub(crate) use code_enum;

code_enum! {
    /// Direction from the endpoint's point of view (`enum policyc_direction`).
    Direction: u8 = "policyc_direction" {
        /// Traffic the endpoint receives.
        Ingress = 0 => "POLICYC_DIR_INGRESS",
        /// Traffic the endpoint sends.
        Egress = 1 => "POLICYC_DIR_EGRESS",
    }
}

code_enum! {
    /// What the id of a `pc_portfn` key names (`enum policyc_portfn_kind`).
    PortfnKind: u8 = "policyc_portfn_kind" {
        /// A class, reached through `pc_class` or `unknown_class`.
        Class = 0 => "POLICYC_PORTFN_CLASS",
        /// A peer identity that has no `pc_class` entry.
        Identity = 1 => "POLICYC_PORTFN_IDENTITY",
    }
}

code_enum! {
    /// Address family tag in keys (`enum policyc_family`).
    Family: u8 = "policyc_family" {
        /// IPv4.
        Ipv4 = 4 => "POLICYC_FAMILY_IPV4",
        /// IPv6.
        Ipv6 = 6 => "POLICYC_FAMILY_IPV6",
    }
}

code_enum! {
    /// Verdict of a port interval or a default (`enum policyc_verdict`; 0 = none is not a verdict).
    Verdict: u8 = "policyc_verdict", also "POLICYC_VERDICT_NONE" = VERDICT_NONE {
        /// Allowed.
        Allow = 1 => "POLICYC_VERDICT_ALLOW",
        /// An explicit deny rule matched.
        Deny = 2 => "POLICYC_VERDICT_DENY",
        /// No rule allows it in an enforced direction.
        DefaultDeny = 3 => "POLICYC_VERDICT_DEFAULT_DENY",
        /// An L7 rule applies; dropped unless the L7 fallback knob is set.
        RedirectL7 = 4 => "POLICYC_VERDICT_REDIRECT_L7",
        /// Mutual authentication required; dropped (not supported).
        AuthRequired = 5 => "POLICYC_VERDICT_AUTH_REQUIRED",
    }
}

/// `POLICYC_VERDICT_NONE`: no lookup happened (events only).
pub const VERDICT_NONE: u8 = 0;

code_enum! {
    /// Why a packet got its action (`enum policyc_reason`).
    Reason: u8 = "policyc_reason" {
        /// Verdict of a port-function interval.
        Policy = 0 => "POLICYC_REASON_POLICY",
        /// No port function: the direction's default verdict.
        PolicyDefault = 1 => "POLICYC_REASON_POLICY_DEFAULT",
        /// Same direction as a known live flow.
        CtEstablished = 2 => "POLICYC_REASON_CT_ESTABLISHED",
        /// Reverse direction of a known live flow.
        CtReply = 3 => "POLICYC_REASON_CT_REPLY",
        /// ICMP error about a known live flow.
        CtRelated = 4 => "POLICYC_REASON_CT_RELATED",
        /// Direction not enforced.
        NotEnforced = 5 => "POLICYC_REASON_NOT_ENFORCED",
        /// Ingress from the host identity with allow_localhost.
        HostAllowed = 6 => "POLICYC_REASON_HOST_ALLOWED",
        /// Truncated or invalid headers.
        Malformed = 7 => "POLICYC_REASON_MALFORMED",
        /// Non-first fragment of an unknown or dropped first fragment.
        FragmentUntracked = 8 => "POLICYC_REASON_FRAGMENT_UNTRACKED",
        /// Non-first fragment of an allowed first fragment.
        FragmentTracked = 9 => "POLICYC_REASON_FRAGMENT_TRACKED",
        /// REDIRECT_L7 allowed at L4 by the fallback knob.
        L7Fallback = 10 => "POLICYC_REASON_L7_FALLBACK",
        /// REDIRECT_L7 dropped: no L7 enforcement.
        L7Unsupported = 11 => "POLICYC_REASON_L7_UNSUPPORTED",
        /// AUTH_REQUIRED dropped.
        AuthUnsupported = 12 => "POLICYC_REASON_AUTH_UNSUPPORTED",
        /// Inconsistent tables.
        TableCorrupt = 13 => "POLICYC_REASON_TABLE_CORRUPT",
        /// Neither IPv4, IPv6 nor ARP.
        UnknownL3 = 14 => "POLICYC_REASON_UNKNOWN_L3",
        /// ICMPv6 neighbor discovery passed by the knob.
        NeighborDiscovery = 15 => "POLICYC_REASON_NEIGHBOR_DISCOVERY",
        /// DNS object: a question denied by the endpoint's `rules.dns` (REFUSED, or dropped
        /// over TCP).
        DnsRefused = 16 => "POLICYC_REASON_DNS_REFUSED",
        /// DNS object: a DNS packet it cannot judge (TCP split or bad length prefix, first
        /// fragment, DNS over TLS), dropped.
        DnsUnjudgeable = 17 => "POLICYC_REASON_DNS_UNJUDGEABLE",
        /// A fragmented ICMP error: dropped (never related to a flow, never opening
        /// `pc_frag` for its later fragments).
        IcmpErrorFragmented = 18 => "POLICYC_REASON_ICMP_ERROR_FRAGMENTED",
        /// An egress packet whose source is not one of the endpoint's own addresses (source
        /// validation, before conntrack and policy).
        SourceInvalid = 19 => "POLICYC_REASON_SOURCE_INVALID",
        /// Egress ARP that is not the endpoint's own (sender address not its IPv4 address,
        /// or sender MAC not the frame's source).
        ArpInvalid = 20 => "POLICYC_REASON_ARP_INVALID",
        /// A tracked flow judged again under a new generation (or for a reply, as its opener
        /// sent it) that policy no longer allows: dropped, its entry removed.
        CtRevoked = 21 => "POLICYC_REASON_CT_REVOKED",
        /// REDIRECT_L7 handed to the node's L7 filter.
        L7Redirected = 22 => "POLICYC_REASON_L7_REDIRECTED",
        /// REDIRECT_L7 dropped: no filter socket to hand it to (fail closed).
        L7NoFilter = 23 => "POLICYC_REASON_L7_NO_FILTER",
        /// The filter's upstream connection after it judged the request.
        L7Judged = 24 => "POLICYC_REASON_L7_JUDGED",
    }
}

code_enum! {
    /// What happened to the packet (`enum policyc_action`).
    Action: u8 = "policyc_action" {
        /// Dropped.
        Drop = 0 => "POLICYC_ACTION_DROP",
        /// Passed.
        Pass = 1 => "POLICYC_ACTION_PASS",
    }
}

impl Reason {
    /// The reason as events and metrics print it: the C name without `POLICYC_REASON_`, in
    /// lower case (`policy_default`, `source_invalid`).
    #[must_use]
    pub fn word(self) -> String {
        self.c_name()
            .trim_start_matches("POLICYC_REASON_")
            .to_lowercase()
    }
}

impl Direction {
    /// Index into per-direction arrays of `policyc_config`.
    pub fn index(self) -> usize {
        usize::from(self.code())
    }
}

/// An address as keys and values hold it: its [`Family`] and 16 bytes (IPv4 in the first 4,
/// the rest zero).
pub fn addr_bytes(ip: std::net::IpAddr) -> (Family, [u8; 16]) {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let mut bytes = [0; 16];
            bytes[..4].copy_from_slice(&v4.octets());
            (Family::Ipv4, bytes)
        }
        std::net::IpAddr::V6(v6) => (Family::Ipv6, v6.octets()),
    }
}

/// The address of a [`Family`] code and 16 bytes as [`addr_bytes`] writes them (`None` for an
/// unknown family).
pub fn addr_from_bytes(family: u8, addr: &[u8; 16]) -> Option<std::net::IpAddr> {
    match Family::from_code(family)? {
        Family::Ipv4 => Some(std::net::IpAddr::from([addr[0], addr[1], addr[2], addr[3]])),
        Family::Ipv6 => Some(std::net::IpAddr::from(*addr)),
    }
}

c_struct! {
    /// `struct policyc_config`: per-endpoint constants in `.rodata`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct PolicycConfig = "policyc_config" {
        /// Endpoint id reported in events.
        pub endpoint_id: u32,
        /// Identity of IPv4 addresses missing from the ipcache.
        pub world_identity_ipv4: u32,
        /// Identity of IPv6 addresses missing from the ipcache.
        pub world_identity_ipv6: u32,
        /// Class of identities missing from `pc_class`, per direction index.
        pub unknown_class: [u32; 2],
        /// Per direction: 0 = allow all (flows still tracked).
        pub enforced: [u8; 2],
        /// Per direction: verdict code when no port function exists.
        pub default_verdict: [u8; 2],
        /// 1 = REDIRECT_L7 passes at L4.
        pub l7_fallback_allow_l4: u8,
        /// 1 = ingress from the host identity always passes.
        pub allow_localhost: u8,
        /// 1 = emit events for passed packets too.
        pub emit_allow_events: u8,
        /// 1 = ICMPv6 neighbor discovery (types 133..=137) always passes.
        pub allow_neighbor_discovery: u8,
        /// The policy generation the object was loaded as (low 32 bits; 0 outside the
        /// loader): conntrack entries judged under another one are judged again.
        pub generation: u32,
        /// Conntrack lifetime of TCP flows.
        pub ct_lifetime_tcp_ns: u64,
        /// Conntrack lifetime of other flows.
        pub ct_lifetime_other_ns: u64,
        /// Lifetime of first-fragment entries.
        pub frag_lifetime_ns: u64,
        /// FQDN classes (bits of the node-wide learned map) this endpoint's egress `toFQDNs`
        /// rules name; 0 = the learned map is never consulted (see `crate::fqdn`).
        pub fqdn_mask: u64,
        /// The endpoint's own addresses (IPv4 in the first 4 bytes); egress from any other
        /// source drops.
        pub source_addrs: [[u8; 16]; MAX_SOURCE_ADDRS],
        /// [`Family`] code of each `source_addrs` entry; 0 = unused.
        pub source_families: [u8; MAX_SOURCE_ADDRS],
        /// Events per peer address and second (0 = unlimited); the rest are counted into the
        /// peer's next event ([`Event::suppressed`]).
        pub event_budget_per_peer: u32,
        /// The node-local L7 filter's listening port (0: none, REDIRECT_L7 drops unless
        /// `l7_fallback_allow_l4`); the loader writes it.
        pub l7_proxy_port: u16,
        /// Padding.
        pub pad_l7: [u8; 6],
    }
}

impl PolicycConfig {
    /// Sets the endpoint's own addresses (the sources its egress may use).
    pub fn set_source_addrs(
        &mut self,
        addrs: &[std::net::IpAddr],
    ) -> Result<(), crate::BackendError> {
        if addrs.len() > MAX_SOURCE_ADDRS {
            return Err(crate::BackendError::TooManySourceAddrs {
                count: addrs.len(),
                max: MAX_SOURCE_ADDRS,
            });
        }
        self.source_addrs = [[0; 16]; MAX_SOURCE_ADDRS];
        self.source_families = [0; MAX_SOURCE_ADDRS];
        for (i, addr) in addrs.iter().enumerate() {
            let (family, bytes) = addr_bytes(*addr);
            self.source_addrs[i] = bytes;
            self.source_families[i] = family.code();
        }
        Ok(())
    }
}

c_struct! {
    /// `struct policyc_ipcache_key`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub struct IpcacheKey = "policyc_ipcache_key" {
        /// 32 + address prefix length.
        pub prefixlen: u32,
        /// [`Family`] code.
        pub family: u8,
        /// Padding.
        pub pad: [u8; 3],
        /// Address bytes (IPv4 in the first 4).
        pub addr: [u8; 16],
    }
}

c_struct! {
    /// `struct policyc_ipcache_value`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct IpcacheValue = "policyc_ipcache_value" {
        /// Identity of the prefix.
        pub identity: u32,
        /// Reserved, 0.
        pub flags: u32,
    }
}

c_struct! {
    /// `struct policyc_class_key`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct ClassKey = "policyc_class_key" {
        /// Peer identity.
        pub identity: u32,
        /// [`Direction`] code.
        pub direction: u8,
        /// Padding.
        pub pad: [u8; 3],
    }
}

c_struct! {
    /// `struct policyc_class_value`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct ClassValue = "policyc_class_value" {
        /// Identity class.
        pub class_id: u32,
    }
}

c_struct! {
    /// `struct policyc_portfn_key`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub struct PortfnKey = "policyc_portfn_key" {
        /// Class id or peer identity, per `kind`.
        pub id: u32,
        /// [`Direction`] code.
        pub direction: u8,
        /// IP protocol number; [`PROTOCOL_ANY`] = fallback.
        pub protocol: u8,
        /// [`PortfnKind`] code.
        pub kind: u8,
        /// Padding.
        pub pad: u8,
    }
}

c_struct! {
    /// `struct policyc_interval`: one listed port range (inline in a `pc_portfn` value, or an
    /// overflow record of `pc_intervals`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct Interval = "policyc_interval" {
        /// First port (or ICMP type) of the range.
        pub lo: u16,
        /// Last port of the range (inclusive).
        pub hi: u16,
        /// [`Verdict`] code.
        pub verdict: u8,
        /// Padding.
        pub pad: [u8; 3],
        /// Rule id (index into `pc_counters`), 0 = none.
        pub rule_id: u32,
    }
}

c_struct! {
    /// `struct policyc_portfn_value`: a sparse port function.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct PortfnValue = "policyc_portfn_value" {
        /// [`Verdict`] code of ports outside every listed range.
        pub default_verdict: u8,
        /// Number of valid `ranges` (0..=[`INLINE_RANGES`]).
        pub inline_count: u8,
        /// Padding.
        pub pad: [u8; 2],
        /// Rule id of ports outside every listed range.
        pub default_rule_id: u32,
        /// Index of the first overflow range in `pc_intervals`.
        pub first: u32,
        /// Number of overflow ranges (sorted by `lo`).
        pub count: u32,
        /// Inline ranges; unused ones are zero.
        pub ranges: [Interval; INLINE_RANGES],
    }
}

c_struct! {
    /// `struct policyc_ct_key`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct CtKey = "policyc_ct_key" {
        /// Source address as first seen.
        pub src: [u8; 16],
        /// Destination address as first seen.
        pub dst: [u8; 16],
        /// Source port (host order); ICMP echo: identifier.
        pub sport: u16,
        /// Destination port (host order); ICMP echo: identifier.
        pub dport: u16,
        /// IP protocol.
        pub protocol: u8,
        /// [`Family`] code.
        pub family: u8,
        /// [`Direction`] code the flow was first seen in.
        pub direction: u8,
        /// ICMP: the request type of the exchange (a reply is keyed by its request's type);
        /// 0 otherwise.
        pub icmp_exchange: u8,
    }
}

c_struct! {
    /// `struct policyc_ct_value`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct CtValue = "policyc_ct_value" {
        /// Deadline in `bpf_ktime_get_ns()` time.
        pub expires_ns: u64,
        /// Packets seen.
        pub packets: u64,
        /// Bytes seen.
        pub bytes: u64,
        /// Rule that allowed the flow.
        pub rule_id: u32,
        /// [`Reason`] code of the first packet.
        pub reason: u8,
        /// TCP flags seen from the side that opened the flow.
        pub flags_orig: u8,
        /// TCP flags seen from the other side.
        pub flags_reply: u8,
        /// [`CT_CLOSING_ORIG`] | [`CT_CLOSING_REPLY`].
        pub closing: u8,
        /// The peer's identity the flow was judged for.
        pub identity: u32,
        /// [`PolicycConfig::generation`] it was judged under.
        pub generation: u32,
        /// Policy port of the packet that opened it.
        pub policy_port: u16,
        /// [`CT_FLAG_L7`] | [`CT_FLAG_FROM_PROXY`].
        pub flags: u8,
        /// Padding.
        pub pad: [u8; 5],
    }
}

c_struct! {
    /// `struct policyc_frag_key`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct FragKey = "policyc_frag_key" {
        /// Source address.
        pub src: [u8; 16],
        /// Destination address.
        pub dst: [u8; 16],
        /// IP identification (IPv4: 16 bits).
        pub id: u32,
        /// IP protocol.
        pub protocol: u8,
        /// [`Family`] code.
        pub family: u8,
        /// [`Direction`] code.
        pub direction: u8,
        /// Padding.
        pub pad: u8,
    }
}

c_struct! {
    /// `struct policyc_frag_value`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct FragValue = "policyc_frag_value" {
        /// Deadline.
        pub expires_ns: u64,
        /// Rule that allowed the first fragment.
        pub rule_id: u32,
        /// Padding.
        pub pad: u32,
    }
}

c_struct! {
    /// `struct policyc_l7_key`: a connection handed to the L7 filter, as the filter sees it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct L7RedirectKey = "policyc_l7_key" {
        /// The client's address (the downstream connection's peer).
        pub client: [u8; 16],
        /// The original destination (the downstream connection's local address).
        pub server: [u8; 16],
        /// The client's port.
        pub client_port: u16,
        /// The original destination port (the policy port).
        pub server_port: u16,
        /// [`Family`] code.
        pub family: u8,
        /// Padding.
        pub pad: [u8; 3],
    }
}

c_struct! {
    /// `struct policyc_l7_value`: what the filter judges a redirected connection by.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct L7RedirectValue = "policyc_l7_value" {
        /// The endpoint whose policy redirected.
        pub endpoint_id: u32,
        /// The peer's identity (the client on ingress, the server on egress).
        pub identity: u32,
        /// The judging program's [`PolicycConfig::generation`].
        pub generation: u32,
        /// [`Direction`] code of the judging policy.
        pub direction: u8,
        /// Padding.
        pub pad: [u8; 3],
    }
}

impl L7RedirectKey {
    /// The key of a connection from `client` to `server`.
    pub fn new(client: std::net::SocketAddr, server: std::net::SocketAddr) -> Self {
        let (family, client_bytes) = addr_bytes(client.ip());
        let (_, server_bytes) = addr_bytes(server.ip());
        L7RedirectKey {
            client: client_bytes,
            server: server_bytes,
            client_port: client.port(),
            server_port: server.port(),
            family: family.code(),
            pad: [0; 3],
        }
    }
}

c_struct! {
    /// `struct policyc_rule_counter` (one per CPU).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct RuleCounter = "policyc_rule_counter" {
        /// Packets.
        pub packets: u64,
        /// Bytes.
        pub bytes: u64,
    }
}

c_struct! {
    /// `struct policyc_event`: one ring-buffer record.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Event = "policyc_event" {
        /// `bpf_ktime_get_ns()` at the decision.
        pub timestamp_ns: u64,
        /// Endpoint id from the config.
        pub endpoint_id: u32,
        /// Peer identity.
        pub identity: u32,
        /// Rule id (0 = none).
        pub rule_id: u32,
        /// Packet length as seen by the program.
        pub pkt_len: u32,
        /// Policy port (destination port, ICMP type, or 0).
        pub port: u16,
        /// [`Direction`] code.
        pub direction: u8,
        /// IP protocol.
        pub protocol: u8,
        /// [`Verdict`] code, or [`VERDICT_NONE`].
        pub verdict: u8,
        /// [`Reason`] code.
        pub reason: u8,
        /// [`Action`] code.
        pub action: u8,
        /// [`Family`] code (0 when parsing failed before L3).
        pub family: u8,
        /// Peer address.
        pub peer_addr: [u8; 16],
        /// Events of this peer left out (over its budget) since its previous event.
        pub suppressed: u32,
        /// Padding.
        pub pad: u32,
    }
}

impl Event {
    /// The verdict, if a lookup happened.
    pub fn verdict(&self) -> Option<Verdict> {
        Verdict::from_code(self.verdict)
    }

    /// The reason.
    pub fn reason(&self) -> Option<Reason> {
        Reason::from_code(self.reason)
    }

    /// The action.
    pub fn action(&self) -> Option<Action> {
        Action::from_code(self.action)
    }

    /// The direction.
    pub fn direction(&self) -> Option<Direction> {
        Direction::from_code(self.direction)
    }
}

/// Everything `policyc_layout.h` shares with Rust (checked against the datapath object's BTF).
pub const HEADER: CHeader = CHeader {
    file: "policyc_layout.h",
    structs: &[
        PolicycConfig::LAYOUT,
        IpcacheKey::LAYOUT,
        IpcacheValue::LAYOUT,
        ClassKey::LAYOUT,
        ClassValue::LAYOUT,
        PortfnKey::LAYOUT,
        Interval::LAYOUT,
        PortfnValue::LAYOUT,
        CtKey::LAYOUT,
        CtValue::LAYOUT,
        FragKey::LAYOUT,
        FragValue::LAYOUT,
        RuleCounter::LAYOUT,
        Event::LAYOUT,
        L7RedirectKey::LAYOUT,
        L7RedirectValue::LAYOUT,
    ],
    enums: &[
        LAYOUT_CONSTANTS,
        Direction::C_ENUM,
        Family::C_ENUM,
        Verdict::C_ENUM,
        Reason::C_ENUM,
        Action::C_ENUM,
        IDENTITIES,
        PortfnKind::C_ENUM,
    ],
    strings: &[
        ("POLICYC_MAP_IPCACHE", map_names::IPCACHE),
        ("POLICYC_MAP_CLASS", map_names::CLASS),
        ("POLICYC_MAP_PORTFN", map_names::PORTFN),
        ("POLICYC_MAP_INTERVALS", map_names::INTERVALS),
        ("POLICYC_MAP_CT", map_names::CT),
        ("POLICYC_MAP_CT_IN", map_names::CT_IN),
        ("POLICYC_MAP_FRAG", map_names::FRAG),
        ("POLICYC_MAP_EVENTS", map_names::EVENTS),
        ("POLICYC_MAP_COUNTERS", map_names::COUNTERS),
        ("POLICYC_MAP_DROPS", map_names::DROPS),
        ("POLICYC_MAP_L7_REDIRECT", map_names::L7_REDIRECT),
    ],
    bpf_only: &[(
        "policyc_btf_anchor",
        "a .rodata variable that keeps the enums and the event record in the BTF",
    )],
};

#[cfg(test)]
mod tests {
    use super::*;
    use policyc_ir::ReservedIdentity;

    #[test]
    fn bytes_are_the_fields_in_declaration_order_in_native_byte_order() {
        let key = IpcacheKey {
            prefixlen: 0x0102_0304,
            family: 6,
            pad: [0; 3],
            addr: [0xaa; 16],
        };
        let mut expected = 0x0102_0304u32.to_ne_bytes().to_vec();
        expected.extend([6, 0, 0, 0]);
        expected.extend([0xaa; 16]);
        assert_eq!(key.encode(), expected);
        assert_eq!(IpcacheKey::decode(&expected), Some(key));
        let iv = Interval {
            lo: 80,
            hi: 90,
            verdict: 1,
            pad: [0; 3],
            rule_id: 7,
        };
        let mut expected = 80u16.to_ne_bytes().to_vec();
        expected.extend(90u16.to_ne_bytes());
        expected.extend([1, 0, 0, 0]);
        expected.extend(7u32.to_ne_bytes());
        assert_eq!(iv.encode(), expected);
    }

    #[test]
    fn decoding_reads_a_prefix_and_refuses_short_input() {
        let value = PortfnValue {
            default_verdict: 3,
            inline_count: 1,
            pad: [0; 2],
            default_rule_id: 2,
            first: 5,
            count: 9,
            ranges: [Interval {
                lo: 80,
                hi: 90,
                verdict: 1,
                pad: [0; 3],
                rule_id: 7,
            }; INLINE_RANGES],
        };
        let mut bytes = value.encode();
        assert_eq!(bytes.len(), size_of::<PortfnValue>());
        assert_eq!(PortfnValue::decode(&bytes), Some(value));
        bytes.push(0xff);
        assert_eq!(PortfnValue::decode(&bytes), Some(value), "trailing bytes");
        assert!(Event::decode(&[0; size_of::<Event>()]).is_some());
        assert!(Event::decode(&[0; size_of::<Event>() - 1]).is_none());
    }

    #[test]
    fn layouts_list_every_field_of_the_type() {
        for layout in HEADER.structs {
            let end = layout.fields.iter().map(|f| f.offset + f.size).max();
            assert!(end <= Some(layout.size), "{}", layout.c_name);
            let sum: usize = layout.fields.iter().map(|f| f.size).sum();
            assert_eq!(sum, layout.size, "{}: no hidden padding", layout.c_name);
        }
    }

    #[test]
    fn codes_round_trip() {
        for v in Verdict::ALL {
            assert_eq!(Verdict::from_code(v.code()), Some(*v));
        }
        for r in Reason::ALL {
            assert_eq!(Reason::from_code(r.code()), Some(*r));
        }
        assert_eq!(Verdict::from_code(VERDICT_NONE), None);
    }

    #[test]
    fn identities_are_the_reserved_identity_numbers() {
        for (rust, reserved) in [
            (IDENTITY_HOST, ReservedIdentity::Host),
            (IDENTITY_WORLD, ReservedIdentity::World),
            (IDENTITY_WORLD_IPV4, ReservedIdentity::WorldIpv4),
            (IDENTITY_WORLD_IPV6, ReservedIdentity::WorldIpv6),
        ] {
            assert_eq!(rust, reserved.number(), "{reserved:?}");
        }
    }

    #[test]
    fn every_reason_has_its_own_drop_slot_in_each_direction() {
        assert!(REASON_SLOTS.is_power_of_two());
        let mut slots: Vec<ArrayIndex> = Direction::ALL
            .iter()
            .flat_map(|d| Reason::ALL.iter().map(|r| drop_slot(*d, *r)))
            .collect();
        assert!(slots.iter().all(|s| *s < 2 * REASON_SLOTS));
        slots.sort_unstable();
        slots.dedup();
        assert_eq!(slots.len(), 2 * Reason::ALL.len());
    }

    #[test]
    fn the_search_covers_every_overflow_range() {
        assert_eq!(
            1u64 << SEARCH_STEPS,
            2 * u64::from(MAX_INTERVALS_PER_FUNCTION)
        );
    }
}
