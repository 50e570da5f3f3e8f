//! Rust mirrors of `bpf-templates/policyc_layout.h`: map names, codes and `#[repr(C)]` key/value
//! structures with their byte encodings. Checked against the compiled object's BTF by
//! `runtime-loader/tests/layout_btf.rs`; change the header first, then this file.

/// `POLICYC_LAYOUT_VERSION` in the header.
pub const LAYOUT_VERSION: u32 = 3;

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
    /// LRU hash: conntrack.
    pub const CT: &str = "pc_ct";
    /// LRU hash: allowed first fragments.
    pub const FRAG: &str = "pc_frag";
    /// Ring buffer of `policyc_event`.
    pub const EVENTS: &str = "pc_events";
    /// Per-CPU array of per-rule counters.
    pub const COUNTERS: &str = "pc_counters";
}

/// `POLICYC_SEARCH_STEPS`: bound of the binary search over intervals.
pub const SEARCH_STEPS: u32 = 17;
/// `POLICYC_MAX_INTERVALS_PER_FUNCTION`: bound of a function's overflow ranges.
pub const MAX_INTERVALS_PER_FUNCTION: u32 = 65_536;
/// `POLICYC_INLINE_RANGES`: ranges stored in the `pc_portfn` value itself.
pub const INLINE_RANGES: usize = 4;
/// `POLICYC_MAX_IPV6_EXT_HEADERS`.
pub const MAX_IPV6_EXT_HEADERS: u32 = 8;
/// `POLICYC_MAX_SOURCE_ADDRS`: addresses of its own an endpoint may send from.
pub const MAX_SOURCE_ADDRS: usize = 4;
/// Identity of the local host (`POLICYC_IDENTITY_HOST`).
pub const IDENTITY_HOST: u32 = 1;
/// Identity `world` (`POLICYC_IDENTITY_WORLD`).
pub const IDENTITY_WORLD: u32 = 2;
/// Port-function protocol 0: fallback for protocols without their own function.
pub const PROTOCOL_ANY: u8 = 0;

macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident : $repr:ty { $($(#[$vmeta:meta])* $variant:ident = $value:expr => $c:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr($repr)]
        pub enum $name { $($(#[$vmeta])* $variant = $value,)+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The numeric code used in maps and events.
            pub fn code(self) -> $repr { self as $repr }

            /// The value for a numeric code, if any.
            pub fn from_code(code: $repr) -> Option<Self> {
                match code { $($value => Some($name::$variant),)+ _ => None }
            }

            /// The enumerator's name in `policyc_layout.h`.
            pub fn c_name(self) -> &'static str {
                match self { $($name::$variant => $c,)+ }
            }
        }
    };
}

code_enum! {
    /// Direction from the endpoint's point of view (`enum policyc_direction`).
    Direction: u8 {
        /// Traffic the endpoint receives.
        Ingress = 0 => "POLICYC_DIR_INGRESS",
        /// Traffic the endpoint sends.
        Egress = 1 => "POLICYC_DIR_EGRESS",
    }
}

code_enum! {
    /// What the id of a `pc_portfn` key names (`enum policyc_portfn_kind`).
    PortfnKind: u8 {
        /// A class, reached through `pc_class` or `unknown_class`.
        Class = 0 => "POLICYC_PORTFN_CLASS",
        /// A peer identity that has no `pc_class` entry.
        Identity = 1 => "POLICYC_PORTFN_IDENTITY",
    }
}

code_enum! {
    /// Address family tag in keys (`enum policyc_family`).
    Family: u8 {
        /// IPv4.
        Ipv4 = 4 => "POLICYC_FAMILY_IPV4",
        /// IPv6.
        Ipv6 = 6 => "POLICYC_FAMILY_IPV6",
    }
}

code_enum! {
    /// Verdict of a port interval or a default (`enum policyc_verdict`; 0 = none is not a verdict).
    Verdict: u8 {
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
    Reason: u8 {
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
    }
}

code_enum! {
    /// What happened to the packet (`enum policyc_action`).
    Action: u8 {
        /// Dropped.
        Drop = 0 => "POLICYC_ACTION_DROP",
        /// Passed.
        Pass = 1 => "POLICYC_ACTION_PASS",
    }
}

impl Direction {
    /// Index into per-direction arrays of `policyc_config`.
    pub fn index(self) -> usize {
        usize::from(self.code())
    }
}

/// Appends the bytes of plain fields in declaration order (native endianness, as the kernel).
struct Writer(Vec<u8>);

impl Writer {
    fn with_capacity(n: usize) -> Self {
        Writer(Vec::with_capacity(n))
    }
    fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
    fn u16(&mut self, v: u16) -> &mut Self {
        self.bytes(&v.to_ne_bytes())
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_ne_bytes())
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes(&v.to_ne_bytes())
    }
    fn finish(self) -> Vec<u8> {
        self.0
    }
}

/// Reads plain fields back; `None` when the input is short.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take().map(u16::from_ne_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_ne_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_ne_bytes)
    }
}

/// `struct policyc_config`: per-endpoint constants in `.rodata`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct PolicycConfig {
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
    /// Padding (explicit, so the u64 fields below need no hidden padding).
    pub pad1: u32,
    /// Conntrack lifetime of TCP flows.
    pub ct_lifetime_tcp_ns: u64,
    /// Conntrack lifetime of other flows.
    pub ct_lifetime_other_ns: u64,
    /// Lifetime of first-fragment entries.
    pub frag_lifetime_ns: u64,
    /// FQDN classes (bits of the node-wide learned map) this endpoint's egress `toFQDNs` rules
    /// name; 0 = the learned map is never consulted (see `crate::fqdn`).
    pub fqdn_mask: u64,
    /// The endpoint's own addresses (IPv4 in the first 4 bytes); egress from any other source
    /// drops.
    pub source_addrs: [[u8; 16]; MAX_SOURCE_ADDRS],
    /// [`Family`] code of each `source_addrs` entry; 0 = unused.
    pub source_families: [u8; MAX_SOURCE_ADDRS],
    /// Padding to the structure's 8-byte alignment.
    pub pad2: u32,
}

impl PolicycConfig {
    /// Byte image for `.rodata`.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(size_of::<Self>());
        w.u32(self.endpoint_id)
            .u32(self.world_identity_ipv4)
            .u32(self.world_identity_ipv6)
            .u32(self.unknown_class[0])
            .u32(self.unknown_class[1])
            .bytes(&self.enforced)
            .bytes(&self.default_verdict)
            .u8(self.l7_fallback_allow_l4)
            .u8(self.allow_localhost)
            .u8(self.emit_allow_events)
            .u8(self.allow_neighbor_discovery)
            .u32(self.pad1)
            .u64(self.ct_lifetime_tcp_ns)
            .u64(self.ct_lifetime_other_ns)
            .u64(self.frag_lifetime_ns)
            .u64(self.fqdn_mask);
        for addr in &self.source_addrs {
            w.bytes(addr);
        }
        w.bytes(&self.source_families).u32(self.pad2);
        w.finish()
    }

    /// Parses a `.rodata` image of the structure.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        Some(PolicycConfig {
            endpoint_id: r.u32()?,
            world_identity_ipv4: r.u32()?,
            world_identity_ipv6: r.u32()?,
            unknown_class: [r.u32()?, r.u32()?],
            enforced: [r.u8()?, r.u8()?],
            default_verdict: [r.u8()?, r.u8()?],
            l7_fallback_allow_l4: r.u8()?,
            allow_localhost: r.u8()?,
            emit_allow_events: r.u8()?,
            allow_neighbor_discovery: r.u8()?,
            pad1: r.u32()?,
            ct_lifetime_tcp_ns: r.u64()?,
            ct_lifetime_other_ns: r.u64()?,
            frag_lifetime_ns: r.u64()?,
            fqdn_mask: r.u64()?,
            source_addrs: [r.take()?, r.take()?, r.take()?, r.take()?],
            source_families: r.take()?,
            pad2: r.u32()?,
        })
    }

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
            let (bytes, family) = match addr {
                std::net::IpAddr::V4(v4) => {
                    let mut b = [0; 16];
                    b[..4].copy_from_slice(&v4.octets());
                    (b, Family::Ipv4)
                }
                std::net::IpAddr::V6(v6) => (v6.octets(), Family::Ipv6),
            };
            self.source_addrs[i] = bytes;
            self.source_families[i] = family.code();
        }
        Ok(())
    }
}

/// `struct policyc_ipcache_key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(C)]
pub struct IpcacheKey {
    /// 32 + address prefix length.
    pub prefixlen: u32,
    /// [`Family`] code.
    pub family: u8,
    /// Padding.
    pub pad: [u8; 3],
    /// Address bytes (IPv4 in the first 4).
    pub addr: [u8; 16],
}

impl IpcacheKey {
    /// Key bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(size_of::<Self>());
        w.u32(self.prefixlen)
            .u8(self.family)
            .bytes(&self.pad)
            .bytes(&self.addr);
        w.finish()
    }
}

/// `struct policyc_ipcache_value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct IpcacheValue {
    /// Identity of the prefix.
    pub identity: u32,
    /// Reserved, 0.
    pub flags: u32,
}

impl IpcacheValue {
    /// Value bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(size_of::<Self>());
        w.u32(self.identity).u32(self.flags);
        w.finish()
    }
}

/// `struct policyc_class_key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct ClassKey {
    /// Peer identity.
    pub identity: u32,
    /// [`Direction`] code.
    pub direction: u8,
    /// Padding.
    pub pad: [u8; 3],
}

impl ClassKey {
    /// Key bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(size_of::<Self>());
        w.u32(self.identity).u8(self.direction).bytes(&self.pad);
        w.finish()
    }
}

/// `struct policyc_class_value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct ClassValue {
    /// Identity class.
    pub class_id: u32,
}

impl ClassValue {
    /// Value bytes.
    pub fn encode(&self) -> Vec<u8> {
        self.class_id.to_ne_bytes().to_vec()
    }
}

/// `struct policyc_portfn_key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(C)]
pub struct PortfnKey {
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

impl PortfnKey {
    /// Key bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(size_of::<Self>());
        w.u32(self.id)
            .u8(self.direction)
            .u8(self.protocol)
            .u8(self.kind)
            .u8(self.pad);
        w.finish()
    }

    /// Parses key bytes.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        Some(PortfnKey {
            id: r.u32()?,
            direction: r.u8()?,
            protocol: r.u8()?,
            kind: r.u8()?,
            pad: r.u8()?,
        })
    }
}

/// `struct policyc_interval`: one listed port range (inline in a `pc_portfn` value, or an
/// overflow record of `pc_intervals`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Interval {
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

impl Interval {
    fn write(&self, w: &mut Writer) {
        w.u16(self.lo)
            .u16(self.hi)
            .u8(self.verdict)
            .bytes(&self.pad)
            .u32(self.rule_id);
    }

    fn read(r: &mut Reader<'_>) -> Option<Self> {
        Some(Interval {
            lo: r.u16()?,
            hi: r.u16()?,
            verdict: r.u8()?,
            pad: [r.u8()?, r.u8()?, r.u8()?],
            rule_id: r.u32()?,
        })
    }

    /// Value bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(size_of::<Self>());
        self.write(&mut w);
        w.finish()
    }

    /// Parses value bytes.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        Self::read(&mut Reader(bytes))
    }
}

/// `struct policyc_portfn_value`: a sparse port function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct PortfnValue {
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

impl PortfnValue {
    /// Value bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(size_of::<Self>());
        w.u8(self.default_verdict)
            .u8(self.inline_count)
            .bytes(&self.pad)
            .u32(self.default_rule_id)
            .u32(self.first)
            .u32(self.count);
        for r in &self.ranges {
            r.write(&mut w);
        }
        w.finish()
    }

    /// Parses value bytes.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let default_verdict = r.u8()?;
        let inline_count = r.u8()?;
        let pad = [r.u8()?, r.u8()?];
        let default_rule_id = r.u32()?;
        let first = r.u32()?;
        let count = r.u32()?;
        let mut ranges = [Interval::default(); INLINE_RANGES];
        for slot in &mut ranges {
            *slot = Interval::read(&mut r)?;
        }
        Some(PortfnValue {
            default_verdict,
            inline_count,
            pad,
            default_rule_id,
            first,
            count,
            ranges,
        })
    }
}

/// `struct policyc_ct_key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct CtKey {
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
    /// Padding.
    pub pad: u8,
}

/// `struct policyc_ct_value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct CtValue {
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
    /// Padding.
    pub pad: [u8; 3],
}

/// `struct policyc_frag_key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct FragKey {
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

/// `struct policyc_frag_value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct FragValue {
    /// Deadline.
    pub expires_ns: u64,
    /// Rule that allowed the first fragment.
    pub rule_id: u32,
    /// Padding.
    pub pad: u32,
}

/// `struct policyc_rule_counter` (one per CPU).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct RuleCounter {
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
}

impl RuleCounter {
    /// Parses one CPU's value.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        Some(RuleCounter {
            packets: r.u64()?,
            bytes: r.u64()?,
        })
    }
}

/// `struct policyc_event`: one ring-buffer record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Event {
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
}

impl Event {
    /// Parses a ring-buffer record.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        Some(Event {
            timestamp_ns: r.u64()?,
            endpoint_id: r.u32()?,
            identity: r.u32()?,
            rule_id: r.u32()?,
            pkt_len: r.u32()?,
            port: r.u16()?,
            direction: r.u8()?,
            protocol: r.u8()?,
            verdict: r.u8()?,
            reason: r.u8()?,
            action: r.u8()?,
            family: r.u8()?,
            peer_addr: r.take()?,
        })
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_have_the_size_of_the_repr_c_struct() {
        let config = PolicycConfig::decode(&[0; size_of::<PolicycConfig>()]);
        assert_eq!(
            config.map(|c| c.encode().len()),
            Some(size_of::<PolicycConfig>())
        );
        let key = IpcacheKey {
            prefixlen: 0,
            family: 4,
            pad: [0; 3],
            addr: [0; 16],
        };
        assert_eq!(key.encode().len(), size_of::<IpcacheKey>());
        assert_eq!(
            IpcacheValue {
                identity: 1,
                flags: 0
            }
            .encode()
            .len(),
            size_of::<IpcacheValue>()
        );
        let ckey = ClassKey {
            identity: 1,
            direction: 0,
            pad: [0; 3],
        };
        assert_eq!(ckey.encode().len(), size_of::<ClassKey>());
        assert_eq!(
            ClassValue { class_id: 1 }.encode().len(),
            size_of::<ClassValue>()
        );
        let pkey = PortfnKey {
            id: 1,
            direction: 0,
            protocol: 6,
            kind: PortfnKind::Identity.code(),
            pad: 0,
        };
        assert_eq!(pkey.encode().len(), size_of::<PortfnKey>());
        assert_eq!(PortfnKey::decode(&pkey.encode()), Some(pkey));
        let iv = Interval {
            lo: 80,
            hi: 90,
            verdict: 1,
            pad: [0; 3],
            rule_id: 7,
        };
        assert_eq!(iv.encode().len(), size_of::<Interval>());
        assert_eq!(Interval::decode(&iv.encode()), Some(iv));
        let value = PortfnValue {
            default_verdict: 3,
            inline_count: 1,
            pad: [0; 2],
            default_rule_id: 2,
            first: 5,
            count: 9,
            ranges: [
                iv,
                Interval::default(),
                Interval::default(),
                Interval::default(),
            ],
        };
        assert_eq!(value.encode().len(), size_of::<PortfnValue>());
        assert_eq!(PortfnValue::decode(&value.encode()), Some(value));
        assert!(Event::decode(&[0; size_of::<Event>()]).is_some());
        assert!(Event::decode(&[0; size_of::<Event>() - 1]).is_none());
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
}
