/* policyc_layout.h — the ONE definition of every structure and constant shared between the
 * BPF datapath (policyc_datapath.bpf.c) and user space (mirrored by backends/src/layout.rs,
 * checked against this object's BTF by runtime-loader/tests/layout_btf.rs).
 *
 * All multi-byte integers are host byte order unless the field name ends in _be.
 * Addresses are raw network-order bytes; IPv4 uses the first 4 bytes of a 16-byte array.
 */
#ifndef POLICYC_LAYOUT_H
#define POLICYC_LAYOUT_H

#include <linux/types.h>

/* The numeric constants shared with user space: enumerators rather than #defines, so that the
 * object's BTF carries them (struct policyc_btf_anchor) and runtime-loader/tests/layout_btf.rs
 * compares every one with its Rust mirror (backends/src/layout.rs). */
enum policyc_layout_constant {
	/* Bump when any structure, map or constant below changes meaning. */
	POLICYC_LAYOUT_VERSION = 5,
	/* The overflow-range search is bounded: 2^POLICYC_SEARCH_STEPS >= 2 * 65536 ranges. */
	POLICYC_SEARCH_STEPS = 17,
	POLICYC_MAX_INTERVALS_PER_FUNCTION = 65536,
	/* Ranges stored in the pc_portfn value itself (checked before the overflow slice). */
	POLICYC_INLINE_RANGES = 4,
	/* IPv6 extension headers walked before giving up (malformed). */
	POLICYC_MAX_IPV6_EXT_HEADERS = 8,
	/* Addresses of its own an endpoint may send from (struct policyc_config source_addrs). */
	POLICYC_MAX_SOURCE_ADDRS = 4,
	/* Bytes of an endpoint's pc_events ring (a power of two, a multiple of the page size). */
	POLICYC_EVENTS_RING_BYTES = 256 * 1024,
	/* TCP conntrack lifetimes besides ct_lifetime_tcp_ns (Cilium's CT_SYN_TIMEOUT and
	 * CT_CLOSE_TIMEOUT, bpf/lib/conntrack.h): a TCP entry lives POLICYC_CT_SYN_TIMEOUT_S
	 * until both SYNs were seen, POLICYC_CT_CLOSE_TIMEOUT_S once both sides closed (FIN each
	 * way, or a RST). */
	POLICYC_CT_SYN_TIMEOUT_S = 60,
	POLICYC_CT_CLOSE_TIMEOUT_S = 10,
	/* struct policyc_ct_value closing bits: the side that sent a FIN (a RST sets both). */
	POLICYC_CT_CLOSING_ORIG = 1,
	POLICYC_CT_CLOSING_REPLY = 2,
	/* Entries of pc_ct (flows the endpoint opened) and of pc_ct_in (flows peers opened). */
	POLICYC_CT_MAX_ENTRIES = 65536,
	/* The events per peer address and second the compiler writes into
	 * policyc_config.event_budget_per_peer (0 there = unlimited). */
	POLICYC_EVENTS_PER_PEER_DEFAULT = 64,
	/* Slots per direction of pc_drops (a power of two above every enum policyc_reason). */
	POLICYC_REASON_SLOTS = 32,
	/* L7 steering (redirect-l7 with policyc_config.l7_proxy_port set). skb->mark values:
	 * TO_PROXY: the packet goes to the node-local L7 filter (the loader's policy-routing rule
	 * `fwmark TO_PROXY lookup POLICYC_L7_ROUTE_TABLE` delivers it locally; the datapath
	 * sk-assigns it to the filter's socket). FROM_PROXY_INGRESS / FROM_PROXY_EGRESS: the
	 * filter's own upstream connection (SO_MARK), after it judged the connection by the
	 * destination's ingress / the source's egress L7 policy. Marks never cross from a pod:
	 * the kernel clears skb->mark when a packet leaves a network namespace (veth). */
	POLICYC_L7_TO_PROXY_MARK = 0x7c700200,
	POLICYC_L7_FROM_PROXY_INGRESS_MARK = 0x7c700300,
	POLICYC_L7_FROM_PROXY_EGRESS_MARK = 0x7c700400,
	/* The routing table and rule priority the loader installs for TO_PROXY packets
	 * (`local default dev lo` in that table, IPv4 and IPv6). */
	POLICYC_L7_ROUTE_TABLE = 0x7c70,
	POLICYC_L7_RULE_PRIORITY = 90,
	/* Entries of the node-wide pc_l7_redir map (connections handed to the filter). */
	POLICYC_L7_REDIRECT_MAX_ENTRIES = 65536,
	/* struct policyc_ct_value flags. */
	POLICYC_CT_FLAG_L7 = 1,         /* the flow is redirected to the L7 filter */
	POLICYC_CT_FLAG_FROM_PROXY = 2, /* the flow is the filter's upstream: replies go to it */
};

/* Direction, from the endpoint's point of view. Array index in struct policyc_config. */
enum policyc_direction {
	POLICYC_DIR_INGRESS = 0,
	POLICYC_DIR_EGRESS = 1,
};

/* Address family tag used in keys (not AF_* values). */
enum policyc_family {
	POLICYC_FAMILY_IPV4 = 4,
	POLICYC_FAMILY_IPV6 = 6,
};

/* Verdicts stored in port-function intervals and default verdicts. 0 = no verdict. */
enum policyc_verdict {
	POLICYC_VERDICT_NONE = 0,
	POLICYC_VERDICT_ALLOW = 1,
	POLICYC_VERDICT_DENY = 2,          /* an explicit deny rule matched */
	POLICYC_VERDICT_DEFAULT_DENY = 3,  /* no rule allows it in an enforced direction */
	POLICYC_VERDICT_REDIRECT_L7 = 4,   /* an L7 rule: TCP handed to the L7 filter (l7_proxy_port);
					    * anything else dropped unless l7_fallback_allow_l4 */
	POLICYC_VERDICT_AUTH_REQUIRED = 5, /* mutual auth required; not supported: dropped */
};

/* Why a packet got its action. Carried in events. */
enum policyc_reason {
	POLICYC_REASON_POLICY = 0,             /* verdict of a port function (a range or its default) */
	POLICYC_REASON_POLICY_DEFAULT = 1,     /* no port function for the peer: default verdict */
	POLICYC_REASON_CT_ESTABLISHED = 2,     /* same direction as a known live flow */
	POLICYC_REASON_CT_REPLY = 3,           /* reverse direction of a known live flow */
	POLICYC_REASON_CT_RELATED = 4,         /* ICMP error about a known live flow */
	POLICYC_REASON_NOT_ENFORCED = 5,       /* direction not enforced: allow all */
	POLICYC_REASON_HOST_ALLOWED = 6,       /* ingress from the host identity with allow_localhost */
	POLICYC_REASON_MALFORMED = 7,          /* truncated or invalid headers */
	POLICYC_REASON_FRAGMENT_UNTRACKED = 8, /* non-first fragment whose first fragment was not allowed */
	POLICYC_REASON_FRAGMENT_TRACKED = 9,   /* non-first fragment of an allowed first fragment */
	POLICYC_REASON_L7_FALLBACK = 10,       /* REDIRECT_L7 allowed at L4 by l7_fallback_allow_l4 */
	POLICYC_REASON_L7_UNSUPPORTED = 11,    /* REDIRECT_L7 dropped: no L7 enforcement */
	POLICYC_REASON_AUTH_UNSUPPORTED = 12,  /* AUTH_REQUIRED dropped */
	POLICYC_REASON_TABLE_CORRUPT = 13,     /* inconsistent tables: dropped */
	POLICYC_REASON_UNKNOWN_L3 = 14,        /* neither IPv4, IPv6 nor ARP: dropped */
	POLICYC_REASON_NEIGHBOR_DISCOVERY = 15, /* ICMPv6 NDP with allow_neighbor_discovery */
	POLICYC_REASON_DNS_REFUSED = 16,       /* DNS object: question denied by rules.dns */
	POLICYC_REASON_DNS_UNJUDGEABLE = 17,   /* DNS object: TCP split/bad prefix, fragment, DoT */
	POLICYC_REASON_ICMP_ERROR_FRAGMENTED = 18, /* a fragmented ICMP error: dropped, never related */
	POLICYC_REASON_SOURCE_INVALID = 19,    /* egress whose source is not the endpoint's: dropped */
	POLICYC_REASON_ARP_INVALID = 20,       /* egress ARP not for the endpoint's own address/MAC */
	POLICYC_REASON_CT_REVOKED = 21,        /* a tracked flow the current policy no longer allows */
	POLICYC_REASON_L7_REDIRECTED = 22,     /* REDIRECT_L7 handed to the node's L7 filter */
	POLICYC_REASON_L7_NO_FILTER = 23,      /* REDIRECT_L7 dropped: no filter socket to hand it to */
	POLICYC_REASON_L7_JUDGED = 24,         /* the filter's upstream after it judged the request */
};

enum policyc_action {
	POLICYC_ACTION_DROP = 0,
	POLICYC_ACTION_PASS = 1,
};

/* Reserved identities (Cilium's numbers) the programs know. */
enum policyc_identity {
	POLICYC_IDENTITY_HOST = 1,
	POLICYC_IDENTITY_WORLD = 2,
	POLICYC_IDENTITY_WORLD_IPV4 = 9, /* world in dual-stack clusters */
	POLICYC_IDENTITY_WORLD_IPV6 = 10,
};

/* Map names (BPF object names are limited to 15 characters). */
#define POLICYC_MAP_IPCACHE "pc_ipcache"
#define POLICYC_MAP_CLASS "pc_class"
#define POLICYC_MAP_PORTFN "pc_portfn"
#define POLICYC_MAP_INTERVALS "pc_intervals"
#define POLICYC_MAP_CT "pc_ct"
#define POLICYC_MAP_CT_IN "pc_ct_in"
#define POLICYC_MAP_FRAG "pc_frag"
#define POLICYC_MAP_EVENTS "pc_events"
#define POLICYC_MAP_COUNTERS "pc_counters"
#define POLICYC_MAP_DROPS "pc_drops"
#define POLICYC_MAP_L7_REDIRECT "pc_l7_redir"


/* What the id of a pc_portfn key names. */
enum policyc_portfn_kind {
	POLICYC_PORTFN_CLASS = 0,    /* id is a class (reached through pc_class or unknown_class) */
	POLICYC_PORTFN_IDENTITY = 1, /* id is a peer identity without a pc_class entry */
};
/* Per-endpoint constants in .rodata (variable name: policyc_config). */
struct policyc_config {
	__u32 endpoint_id;
	__u32 world_identity_ipv4;  /* identity of addresses missing from the ipcache */
	__u32 world_identity_ipv6;
	__u32 unknown_class[2];     /* class of identities missing from pc_class, per direction */
	__u8 enforced[2];           /* per direction: 0 = allow all (flows still tracked) */
	__u8 default_verdict[2];    /* per direction: verdict when no port function exists */
	__u8 l7_fallback_allow_l4;  /* 1 = REDIRECT_L7 passes at L4 */
	__u8 allow_localhost;       /* 1 = ingress from identity 1 (host) always passes */
	__u8 emit_allow_events;     /* 1 = events for passed packets too (drops always) */
	__u8 allow_neighbor_discovery; /* 1 = ICMPv6 133..137 (NDP) always passes */
	/* The policy generation this object was loaded as (low 32 bits; the loader's generation
	 * number, 0 outside the loader). A conntrack entry judged under another generation is
	 * judged again by this one's policy on its next packet. */
	__u32 generation;
	__u64 ct_lifetime_tcp_ns;
	__u64 ct_lifetime_other_ns;
	__u64 frag_lifetime_ns;
	/* FQDN classes (bits of the node-wide learned map, see fqdn_learned.h) that this endpoint's
	 * egress rules name in toFQDNs; 0 = no toFQDNs, the learned map is never consulted. */
	__u64 fqdn_mask;
	/* The endpoint's own addresses (IPv4 in the first 4 bytes, zero-padded): everything it sends
	 * must come from one of them (source validation, before conntrack and policy). Entry i is
	 * used when source_families[i] is POLICYC_FAMILY_IPV4/IPV6; with none, every egress packet
	 * drops. */
	__u8 source_addrs[POLICYC_MAX_SOURCE_ADDRS][16];
	__u8 source_families[POLICYC_MAX_SOURCE_ADDRS];
	/* Events per peer address and second (0 = unlimited); the rest are counted and reported
	 * in the peer's next event (struct policyc_event suppressed), so one peer cannot fill
	 * the ring and hide later drops. */
	__u32 event_budget_per_peer;
	/* The node-local L7 filter's listening port (host order; the loader writes it when the
	 * filter runs). 0: no filter, REDIRECT_L7 drops (reason L7_UNSUPPORTED) unless
	 * l7_fallback_allow_l4. */
	__u16 l7_proxy_port;
	__u8 pad_l7[6];
};

/* pc_ipcache: LPM trie. prefixlen counts bits after the prefixlen field:
 * 32 (family + pad) + address prefix length. */
struct policyc_ipcache_key {
	__u32 prefixlen;
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};

struct policyc_ipcache_value {
	__u32 identity;
	__u32 flags; /* reserved, 0 */
};

/* pc_class: (identity, direction) -> class. */
struct policyc_class_key {
	__u32 identity;
	__u8 direction;
	__u8 pad[3];
};

struct policyc_class_value {
	__u32 class_id;
};

/* pc_portfn: (kind, id, direction, protocol) -> sparse port function.
 * Lookup order for a peer identity I and protocol P (policy_lookup in the datapath):
 *   pc_class hit (class C):  (CLASS, C, P), (CLASS, C, 0)
 *   pc_class miss:           (IDENTITY, I, P), (IDENTITY, I, 0)
 *   then, if still nothing:  (CLASS, unknown_class, P), (CLASS, unknown_class, 0)
 *   then default_verdict[dir] (reason POLICY_DEFAULT, rule 0).
 * protocol 0 = "any protocol without its own function". */
struct policyc_portfn_key {
	__u32 id;        /* class id or identity, per kind */
	__u8 direction;
	__u8 protocol;
	__u8 kind;       /* enum policyc_portfn_kind */
	__u8 pad;
};

/* One port range [lo, hi] (inclusive) with its verdict. For ICMP/ICMPv6 the "port" is the ICMP
 * type; for protocols without ports it is 0. Also the value of pc_intervals. */
struct policyc_interval {
	__u16 lo;
	__u16 hi;
	__u8 verdict;
	__u8 pad[3];
	__u32 rule_id; /* index into pc_counters; 0 = no rule */
};

/* A port function: ports in a listed range get the range's verdict, every other port gets
 * default_verdict/default_rule_id. Listed ranges are disjoint; the first inline_count are
 * inline, the rest (count of them, sorted by lo) are pc_intervals[first .. first + count). */
struct policyc_portfn_value {
	__u8 default_verdict;
	__u8 inline_count;  /* 0..=POLICYC_INLINE_RANGES */
	__u8 pad[2];
	__u32 default_rule_id;
	__u32 first;        /* index of the first overflow range in pc_intervals */
	__u32 count;        /* 0..=POLICYC_MAX_INTERVALS_PER_FUNCTION overflow ranges */
	struct policyc_interval ranges[POLICYC_INLINE_RANGES];
};

/* pc_ct (direction EGRESS: flows the endpoint opened) and pc_ct_in (direction INGRESS: flows
 * peers opened — so no peer can evict the endpoint's own flows): LRU hashes keyed by the flow
 * as first seen, plus the direction it was first seen in. */
struct policyc_ct_key {
	__u8 src[16];
	__u8 dst[16];
	__u16 sport; /* host order; ICMP echo: the echo identifier in both */
	__u16 dport;
	__u8 protocol;
	__u8 family;
	__u8 direction;
	__u8 icmp_exchange; /* ICMP: the request type of the exchange (echo 8/128, timestamp 13,
			     * ...; a reply is keyed by its request's type); 0 otherwise */
};

struct policyc_ct_value {
	__u64 expires_ns; /* bpf_ktime_get_ns() deadline; expired = treated as new */
	__u64 packets;
	__u64 bytes;
	__u32 rule_id;    /* rule that allowed the flow (0 = none) */
	__u8 reason;      /* reason the first packet passed */
	__u8 flags_orig;  /* TCP flags seen from the side that opened the flow (OR of all) */
	__u8 flags_reply; /* TCP flags seen from the other side */
	__u8 closing;     /* POLICYC_CT_CLOSING_ORIG | POLICYC_CT_CLOSING_REPLY */
	__u32 identity;   /* the peer's identity the flow was judged for */
	__u32 generation; /* policyc_config.generation it was judged under */
	__u16 policy_port; /* policy port of the packet that opened it (judging it again) */
	__u8 flags;        /* POLICYC_CT_FLAG_* */
	__u8 pad[5];
};

/* pc_frag: LRU hash of allowed first fragments; later fragments pass only if found here. */
struct policyc_frag_key {
	__u8 src[16];
	__u8 dst[16];
	__u32 id;
	__u8 protocol;
	__u8 family;
	__u8 direction;
	__u8 pad;
};

struct policyc_frag_value {
	__u64 expires_ns;
	__u32 rule_id;
	__u32 pad;
};

/* pc_l7_redir: node-wide LRU hash (pinned by the loader, shared by every endpoint's object and
 * read by the L7 filter): a connection handed to the filter, keyed as the filter sees it
 * (peer = the client, local = the original destination), with what the filter judges it by. */
struct policyc_l7_key {
	__u8 client[16];
	__u8 server[16];
	__u16 client_port; /* host order */
	__u16 server_port; /* host order: the policy port */
	__u8 family;
	__u8 pad[3];
};

struct policyc_l7_value {
	__u32 endpoint_id; /* the endpoint whose policy redirected (l7/http.json policies[]) */
	__u32 identity;    /* the peer's identity (the client on ingress, the server on egress) */
	__u32 generation;  /* policyc_config.generation of the judging program */
	__u8 direction;    /* of the judging policy, from its endpoint */
	__u8 pad[3];
};

/* pc_counters: per-CPU array indexed by rule id. pc_drops: per-CPU array of the dropped
 * packets, indexed by direction * POLICYC_REASON_SLOTS + reason (shared by the generations). */
struct policyc_rule_counter {
	__u64 packets;
	__u64 bytes;
};

/* pc_events: ring buffer records. */
struct policyc_event {
	__u64 timestamp_ns;
	__u32 endpoint_id;
	__u32 identity;   /* peer identity */
	__u32 rule_id;
	__u32 pkt_len;
	__u16 port;       /* policy port (destination port, ICMP type) */
	__u8 direction;
	__u8 protocol;
	__u8 verdict;     /* enum policyc_verdict (NONE if no lookup happened) */
	__u8 reason;      /* enum policyc_reason */
	__u8 action;      /* enum policyc_action */
	__u8 family;
	__u8 peer_addr[16];
	__u32 suppressed; /* events of this peer left out before this one (event budget) */
	__u32 pad;
};

/* Referenced from .rodata so that the enums above and the event record (only ever reached
 * through a ring-buffer pointer) are present in the object's BTF. */
struct policyc_btf_anchor {
	struct policyc_event event;
	enum policyc_layout_constant constant;
	enum policyc_direction direction;
	enum policyc_family family;
	enum policyc_verdict verdict;
	enum policyc_reason reason;
	enum policyc_action action;
	enum policyc_identity identity;
	enum policyc_portfn_kind portfn_kind;
	struct policyc_l7_key l7_key;
	struct policyc_l7_value l7_value;
};

#ifdef __BPF_HELPERS__
/* pc_events: the endpoint's event ring (include after <bpf/bpf_helpers.h>). The datapath
 * writes struct policyc_event records, the DNS stage (which reuses the datapath's pinned map)
 * struct pc_dns_event records: one definition, so libbpf's reuse check passes. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, POLICYC_EVENTS_RING_BYTES);
} pc_events SEC(".maps");
#endif

#endif /* POLICYC_LAYOUT_H */
