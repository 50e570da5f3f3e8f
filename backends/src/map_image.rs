//! Map images: the exact key/value bytes the loader writes into an endpoint's maps, built
//! deterministically from [`EndpointTables`] and [`IpcacheEntry`] lists, and their decoding
//! back into [`DirectionTables`] (for `dump` and for comparing live maps with a build).

use std::collections::{BTreeMap, BTreeSet};

use crate::c_layout::size_u32;
use crate::error::BackendError;
use crate::layout::{
    addr_bytes, map_names, ArrayIndex, ClassKey, ClassValue, Direction, Interval, IpcacheKey,
    IpcacheValue, PolicycConfig, PortfnKey, PortfnKind, PortfnValue, RuleCounter, Verdict,
    EVENTS_PER_PEER_DEFAULT, INLINE_RANGES,
};
use crate::tables::{
    DirectionTables, EndpointTables, FunctionKey, IpcacheEntry, PortFunction, PortInterval,
};

/// The contents of one BPF map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapImage {
    /// Map name in the datapath object (see [`crate::layout::map_names`]).
    pub name: String,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// `max_entries` to create the map with (≥ 1).
    pub max_entries: u32,
    /// (key, value) records: hash maps sorted by key bytes, arrays in index order.
    pub entries: Vec<(Vec<u8>, Vec<u8>)>,
}

/// `.rodata` plus map images for one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointImages {
    /// The `.rodata` configuration.
    pub config: PolicycConfig,
    /// `pc_class`, `pc_portfn`, `pc_intervals`, `pc_counters` (sized, no entries).
    pub maps: Vec<MapImage>,
}

impl EndpointImages {
    /// The image of a map by name.
    pub fn map(&self, name: &str) -> Option<&MapImage> {
        self.maps.iter().find(|m| m.name == name)
    }
}

impl MapImage {
    /// Inserts or replaces one record of a hash-map image (records stay sorted by key) and
    /// sizes the image for its records as [`endpoint_images`] does.
    pub fn upsert(
        &mut self,
        map: &'static str,
        key: Vec<u8>,
        value: Vec<u8>,
    ) -> Result<(), BackendError> {
        match self
            .entries
            .binary_search_by(|(k, _)| k.as_slice().cmp(&key))
        {
            Ok(at) => self.entries[at].1 = value,
            Err(at) => self.entries.insert(at, (key, value)),
        }
        self.max_entries = capacity_with_headroom(map, self.entries.len())?;
        Ok(())
    }
}

/// One record of a map image: key and value bytes.
pub type Record = (Vec<u8>, Vec<u8>);

/// The `pc_class` record (key, value) of an identity of a class-keyed class.
pub fn class_record(direction: Direction, identity: u32, class_id: u32) -> Record {
    let key = ClassKey {
        identity,
        direction: direction.code(),
        pad: [0; 3],
    };
    (key.encode(), ClassValue { class_id }.encode())
}

/// The `pc_portfn` record of an identity-keyed function, when it needs no `pc_intervals`
/// ranges (`None` otherwise: those would move the ranges of every later function).
pub fn inline_identity_function_record(
    direction: Direction,
    identity: u32,
    protocol: u8,
    function: &PortFunction,
) -> Result<Option<Record>, BackendError> {
    let mut overflow = Vec::new();
    let value = encode_function(function, &mut overflow)?;
    if !overflow.is_empty() {
        return Ok(None);
    }
    let key = PortfnKey {
        id: identity,
        direction: direction.code(),
        protocol,
        kind: PortfnKind::Identity.code(),
        pad: 0,
    };
    Ok(Some((key.encode(), value.encode())))
}

fn count_u32(map: &'static str, n: usize) -> Result<u32, BackendError> {
    u32::try_from(n).map_err(|_| BackendError::TooManyEntries { map, entries: n })
}

/// The smallest capacity a map that grows with the policy is created with.
pub const MIN_CAPACITY: usize = 64;

/// `max_entries` of a map that grows with the policy (`pc_class`, `pc_portfn`, `pc_intervals`,
/// `pc_counters`, `pc_ipcache`) holding `needed` records: a quarter more, rounded up to a power
/// of two (at least [`MIN_CAPACITY`]). It is a function of `needed` alone, so an incremental
/// build and a full build size a map alike, and it changes only when a power of two is crossed:
/// an edit that adds records mostly fits the maps already loaded (the loader writes the changed
/// entries only), and only one that outgrows them needs maps of a new size.
pub fn capacity_with_headroom(map: &'static str, needed: usize) -> Result<u32, BackendError> {
    let wanted = needed
        .saturating_add(needed / 4)
        .max(MIN_CAPACITY)
        .checked_next_power_of_two()
        .unwrap_or(usize::MAX);
    count_u32(map, wanted)
}

fn hash_image(
    name: &'static str,
    key_size: u32,
    value_size: u32,
    mut entries: Vec<(Vec<u8>, Vec<u8>)>,
) -> Result<MapImage, BackendError> {
    entries.sort();
    let max_entries = capacity_with_headroom(name, entries.len())?;
    Ok(MapImage {
        name: name.to_owned(),
        key_size,
        value_size,
        max_entries,
        entries,
    })
}

/// Builds `.rodata` and the per-endpoint map images. Validates the tables first.
pub fn endpoint_images(tables: &EndpointTables) -> Result<EndpointImages, BackendError> {
    tables.validate()?;
    let options = &tables.options;
    let mut config = PolicycConfig {
        endpoint_id: tables.endpoint_id,
        world_identity_ipv4: options.world_identity_ipv4,
        world_identity_ipv6: options.world_identity_ipv6,
        unknown_class: [0; 2],
        enforced: [0; 2],
        default_verdict: [0; 2],
        l7_fallback_allow_l4: u8::from(options.l7_fallback_allow_l4),
        allow_localhost: u8::from(options.allow_localhost),
        emit_allow_events: u8::from(options.emit_allow_events),
        allow_neighbor_discovery: u8::from(options.allow_neighbor_discovery),
        generation: 0,
        ct_lifetime_tcp_ns: duration_ns(options.ct_lifetime_tcp),
        ct_lifetime_other_ns: duration_ns(options.ct_lifetime_other),
        frag_lifetime_ns: duration_ns(options.frag_lifetime),
        // Set by the compiler from the endpoint's toFQDNs classes (tables know no selectors).
        fqdn_mask: 0,
        source_addrs: Default::default(),
        source_families: Default::default(),
        event_budget_per_peer: EVENTS_PER_PEER_DEFAULT,
        // Written by the loader when the node's L7 filter runs (0: redirect-l7 drops).
        l7_proxy_port: 0,
        pad_l7: [0; 6],
    };
    config.set_source_addrs(&tables.source_addrs)?;

    let mut class_entries = Vec::new();
    let mut portfn_entries = Vec::new();
    let mut intervals = Vec::new();
    for direction in Direction::ALL {
        let dir = tables.direction(*direction);
        config.unknown_class[direction.index()] = dir.unknown_class;
        config.enforced[direction.index()] = u8::from(dir.enforced);
        config.default_verdict[direction.index()] = dir.default_verdict.code();
        for (&identity, &class_id) in &dir.class_of_identity {
            let key = ClassKey {
                identity,
                direction: direction.code(),
                pad: [0; 3],
            };
            class_entries.push((key.encode(), ClassValue { class_id }.encode()));
        }
        for (key, function) in dir.all_functions() {
            let (id, protocol) = key.id_and_protocol();
            let kind = match key {
                FunctionKey::Class { .. } => PortfnKind::Class,
                FunctionKey::Identity { .. } => PortfnKind::Identity,
            };
            let key = PortfnKey {
                id,
                direction: direction.code(),
                protocol,
                kind: kind.code(),
                pad: 0,
            };
            let value = encode_function(function, &mut intervals)?;
            portfn_entries.push((key.encode(), value.encode()));
        }
    }

    let interval_entries = intervals
        .iter()
        .enumerate()
        .map(|(i, iv)| {
            Ok((
                ArrayIndex::to_ne_bytes(count_u32(map_names::INTERVALS, i)?).to_vec(),
                iv.encode(),
            ))
        })
        .collect::<Result<Vec<_>, BackendError>>()?;
    let intervals_image = MapImage {
        name: map_names::INTERVALS.to_owned(),
        key_size: size_u32::<ArrayIndex>(),
        value_size: size_u32::<Interval>(),
        max_entries: capacity_with_headroom(map_names::INTERVALS, intervals.len())?,
        entries: interval_entries,
    };
    let counters_image = MapImage {
        name: map_names::COUNTERS.to_owned(),
        key_size: size_u32::<ArrayIndex>(),
        value_size: size_u32::<RuleCounter>(),
        // Indexed by rule id: room for rule ids up to the capacity (never past the largest
        // rule id the tables accept).
        max_entries: capacity_with_headroom(
            map_names::COUNTERS,
            tables.max_rule_id().saturating_add(1) as usize,
        )?
        .min(crate::tables::MAX_RULE_ID.saturating_add(1))
        .max(tables.max_rule_id().saturating_add(1)),
        entries: Vec::new(),
    };
    Ok(EndpointImages {
        config,
        maps: vec![
            hash_image(
                map_names::CLASS,
                size_u32::<ClassKey>(),
                size_u32::<ClassValue>(),
                class_entries,
            )?,
            hash_image(
                map_names::PORTFN,
                size_u32::<PortfnKey>(),
                size_u32::<PortfnValue>(),
                portfn_entries,
            )?,
            intervals_image,
            counters_image,
        ],
    })
}

fn record(iv: &PortInterval) -> Interval {
    Interval {
        lo: iv.lo,
        hi: iv.hi,
        verdict: iv.verdict.code(),
        pad: [0; 3],
        rule_id: iv.rule_id,
    }
}

/// The `pc_portfn` value of a function: its sparse form, the first [`INLINE_RANGES`] listed
/// ranges inline, the rest appended to `overflow` (the `pc_intervals` array).
fn encode_function(
    function: &PortFunction,
    overflow: &mut Vec<Interval>,
) -> Result<PortfnValue, BackendError> {
    let sparse = function.sparse();
    let (inline, rest) = sparse
        .ranges
        .split_at(sparse.ranges.len().min(INLINE_RANGES));
    let mut ranges = [Interval::default(); INLINE_RANGES];
    for (slot, iv) in ranges.iter_mut().zip(inline) {
        *slot = record(iv);
    }
    let first = if rest.is_empty() {
        0
    } else {
        count_u32(map_names::INTERVALS, overflow.len())?
    };
    overflow.extend(rest.iter().map(record));
    Ok(PortfnValue {
        default_verdict: sparse.default.0.code(),
        inline_count: u8::try_from(inline.len()).unwrap_or(u8::MAX),
        pad: [0; 2],
        default_rule_id: sparse.default.1,
        first,
        count: count_u32(map_names::INTERVALS, rest.len())?,
        ranges,
    })
}

fn decoded_range(iv: &Interval) -> Option<PortInterval> {
    Some(PortInterval {
        lo: iv.lo,
        hi: iv.hi,
        verdict: Verdict::from_code(iv.verdict)?,
        rule_id: iv.rule_id,
    })
}

/// Decodes `pc_intervals` records (index → range).
pub fn decode_overflow(interval_records: &[(Vec<u8>, Vec<u8>)]) -> Option<BTreeMap<u32, Interval>> {
    let mut overflow = BTreeMap::new();
    for (k, v) in interval_records {
        let at = ArrayIndex::from_ne_bytes(k.get(..size_of::<ArrayIndex>())?.try_into().ok()?);
        overflow.insert(at, Interval::decode(v)?);
    }
    Some(overflow)
}

/// The total port function a `pc_portfn` value stands for (its default, inline ranges and
/// overflow ranges from `overflow`); `None` when malformed.
pub fn decode_port_function(
    value: &[u8],
    overflow: &BTreeMap<u32, Interval>,
) -> Option<PortFunction> {
    let value = PortfnValue::decode(value)?;
    let mut ranges = Vec::new();
    for iv in value.ranges.iter().take(usize::from(value.inline_count)) {
        ranges.push(decoded_range(iv)?);
    }
    for at in value.first..value.first.checked_add(value.count)? {
        ranges.push(decoded_range(overflow.get(&at)?)?);
    }
    let default = (
        Verdict::from_code(value.default_verdict)?,
        value.default_rule_id,
    );
    PortFunction::from_ranges(default, &ranges).ok()
}

/// Decodes one direction's tables from `pc_class`, `pc_portfn` and `pc_intervals` records (as
/// written from images or read back from live maps) and the endpoint's configuration. `None`
/// when a record is malformed or a function refers to missing overflow ranges.
pub fn decode_direction_tables(
    config: &PolicycConfig,
    direction: Direction,
    class_records: &[(Vec<u8>, Vec<u8>)],
    portfn_records: &[(Vec<u8>, Vec<u8>)],
    interval_records: &[(Vec<u8>, Vec<u8>)],
) -> Option<DirectionTables> {
    let code = direction.code();
    let index = direction.index();
    let overflow = decode_overflow(interval_records)?;
    let mut tables = DirectionTables {
        enforced: config.enforced[index] != 0,
        unknown_class: config.unknown_class[index],
        default_verdict: Verdict::from_code(config.default_verdict[index])
            .unwrap_or(Verdict::DefaultDeny),
        ..DirectionTables::default_deny()
    };
    for (k, v) in class_records {
        let key = ClassKey::decode(k)?;
        if key.direction == code {
            let class = ClassValue::decode(v)?.class_id;
            tables.class_of_identity.insert(key.identity, class);
        }
    }
    for (k, v) in portfn_records {
        let key = PortfnKey::decode(k)?;
        if key.direction != code {
            continue;
        }
        let function = decode_port_function(v, &overflow)?;
        let target = match PortfnKind::from_code(key.kind)? {
            PortfnKind::Class => &mut tables.port_functions,
            PortfnKind::Identity => &mut tables.identity_functions,
        };
        target.insert((key.id, key.protocol), function);
    }
    Some(tables)
}

fn duration_ns(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The LPM key of a prefix (host bits cleared).
pub fn ipcache_key(prefix: &ipnet::IpNet) -> IpcacheKey {
    let prefix = prefix.trunc();
    let (family, addr) = addr_bytes(prefix.addr());
    IpcacheKey {
        prefixlen: 32 + u32::from(prefix.prefix_len()),
        family: family.code(),
        pad: [0; 3],
        addr,
    }
}

/// The LPM key of one host address (a /32 or /128 prefix).
pub fn ipcache_host_key(ip: std::net::IpAddr) -> IpcacheKey {
    ipcache_key(&ipnet::IpNet::from(ip))
}

/// The `pc_ipcache` record (key, value) of one entry, as [`ipcache_image`] writes it.
pub fn ipcache_record(entry: &IpcacheEntry) -> Record {
    let value = IpcacheValue {
        identity: entry.identity,
        flags: 0,
    };
    (ipcache_key(&entry.prefix.trunc()).encode(), value.encode())
}

/// Builds the node-wide `pc_ipcache` image. A prefix listed twice is an error.
pub fn ipcache_image(entries: &[IpcacheEntry]) -> Result<MapImage, BackendError> {
    let mut seen = BTreeSet::new();
    let mut records = Vec::with_capacity(entries.len());
    for entry in entries {
        let prefix = entry.prefix.trunc();
        if !seen.insert(prefix) {
            return Err(BackendError::DuplicatePrefix {
                prefix: prefix.to_string(),
            });
        }
        records.push(ipcache_record(entry));
    }
    hash_image(
        map_names::IPCACHE,
        size_u32::<IpcacheKey>(),
        size_u32::<IpcacheValue>(),
        records,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Verdict;
    use crate::tables::{DatapathOptions, DirectionTables, PortFunction, PortInterval};

    fn tables() -> EndpointTables {
        let mut ingress = DirectionTables::default_deny();
        ingress.class_of_identity.insert(1000, 1);
        let allow_80 = PortInterval {
            lo: 80,
            hi: 80,
            verdict: Verdict::Allow,
            rule_id: 7,
        };
        let function = PortFunction::from_ranges((Verdict::DefaultDeny, 0), &[allow_80]);
        ingress
            .port_functions
            .insert((1, 6), function.expect("valid"));
        EndpointTables {
            endpoint_id: 42,
            ingress,
            egress: DirectionTables::not_enforced(),
            options: DatapathOptions::default(),
            source_addrs: Vec::new(),
        }
    }

    #[test]
    fn endpoint_images_lay_out_intervals_and_size_counters() {
        let images = endpoint_images(&tables()).expect("valid tables");
        assert_eq!(images.config.endpoint_id, 42);
        assert_eq!(images.config.enforced, [1, 0]);
        let intervals = images.map(map_names::INTERVALS).expect("intervals image");
        assert_eq!(intervals.entries.len(), 0, "one listed range fits inline");
        assert_eq!(
            images.map(map_names::COUNTERS).map(|m| m.max_entries),
            Some(MIN_CAPACITY as u32),
            "rule id 7 needs 8 counters; small maps get the minimum capacity"
        );
        let portfn = images.map(map_names::PORTFN).expect("portfn image");
        let value = PortfnValue::decode(&portfn.entries[0].1).expect("value");
        assert_eq!(
            (value.default_verdict, value.inline_count, value.count),
            (Verdict::DefaultDeny.code(), 1, 0)
        );
        assert_eq!((value.ranges[0].lo, value.ranges[0].hi), (80, 80));
    }

    #[test]
    fn images_decode_back_to_the_same_tables() {
        let mut t = tables();
        let many: Vec<PortInterval> = (0..9)
            .map(|i| PortInterval {
                lo: 1000 + i * 2,
                hi: 1000 + i * 2,
                verdict: Verdict::Allow,
                rule_id: 1 + u32::from(i),
            })
            .collect();
        t.ingress.identity_functions.insert(
            (5000, 17),
            PortFunction::from_ranges((Verdict::Deny, 3), &many).expect("valid"),
        );
        t.ingress.unknown_class = 1;
        let images = endpoint_images(&t).expect("valid tables");
        let entries = |name| images.map(name).expect("image").entries.clone();
        assert_eq!(entries(map_names::INTERVALS).len(), 9 - INLINE_RANGES);
        let decoded = decode_direction_tables(
            &images.config,
            Direction::Ingress,
            &entries(map_names::CLASS),
            &entries(map_names::PORTFN),
            &entries(map_names::INTERVALS),
        );
        assert_eq!(decoded, Some(t.ingress.clone()));
    }

    #[test]
    fn capacity_has_headroom_and_changes_only_at_powers_of_two() {
        let cases = [
            (0, 64),
            (1, 64),
            (51, 64),
            (52, 128),
            (100, 128),
            (103, 128),
            (104, 256),
            (3000, 4096),
            (3277, 4096),
            (3278, 8192),
        ];
        for (needed, capacity) in cases {
            assert_eq!(
                capacity_with_headroom(map_names::PORTFN, needed).ok(),
                Some(capacity),
                "{needed} records"
            );
        }
    }

    #[test]
    fn an_image_is_sized_with_headroom_whatever_its_entries() {
        let images = endpoint_images(&tables()).expect("valid tables");
        for name in [map_names::CLASS, map_names::PORTFN, map_names::INTERVALS] {
            let image = images.map(name).expect("image");
            assert!(
                image.max_entries as usize >= image.entries.len() + image.entries.len() / 4
                    && image.max_entries as usize >= MIN_CAPACITY,
                "{name}: {} records, capacity {}",
                image.entries.len(),
                image.max_entries
            );
        }
    }

    #[test]
    fn duplicate_ipcache_prefixes_are_rejected() {
        let prefix = "10.0.0.1/8".parse().expect("prefix");
        let other = "10.0.0.0/8".parse().expect("prefix");
        let entries = [
            IpcacheEntry {
                prefix,
                identity: 5,
            },
            IpcacheEntry {
                prefix: other,
                identity: 6,
            },
        ];
        assert!(matches!(
            ipcache_image(&entries),
            Err(BackendError::DuplicatePrefix { .. })
        ));
    }

    #[test]
    fn ipcache_keys_count_family_bits_in_prefixlen() {
        let key = ipcache_key(&"fd00::/8".parse().expect("prefix"));
        assert_eq!(key.prefixlen, 40);
        assert_eq!(key.family, 6);
    }
}
