// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* policyc_datapath.bpf.c — the policyc datapath template: one object per endpoint, compiled once
 * at cargo build time and specialised through .rodata (struct policyc_config) and map contents.
 *
 * Four entry points share one always-inline core, parameterised by L2 offset and direction:
 *   pc_egress_tcx   SEC("tcx/ingress")        host side of the endpoint's veth: endpoint egress
 *   pc_ingress_tcx  SEC("tcx/egress")         host side of the endpoint's veth: endpoint ingress
 *   pc_egress_cg    SEC("cgroup_skb/egress")  packets start at L3
 *   pc_ingress_cg   SEC("cgroup_skb/ingress") packets start at L3
 * L7 steering (tcx only; see l7_steer below): a REDIRECT_L7 TCP flow is handed to the node's L7
 * filter with bpf_sk_assign at the first tc ingress hook it meets: the endpoint's own egress
 * hook, or, for traffic entering the endpoint, the same veth's ingress after a bpf_redirect.
 * Control flow depends on no table size: every lookup is a hash/LPM probe, a fixed number of
 * inline ranges, or a bounded binary search (POLICYC_SEARCH_STEPS) over pc_intervals.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "policyc_layout.h"
#include "policyc_packet.h"
#include "policyc_ipv6_ext.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile struct policyc_config policyc_config = {
	.endpoint_id = 0,
	.world_identity_ipv4 = POLICYC_IDENTITY_WORLD,
	.world_identity_ipv6 = POLICYC_IDENTITY_WORLD,
	.unknown_class = { 0, 0 },
	.enforced = { 1, 1 },
	.default_verdict = { POLICYC_VERDICT_DEFAULT_DENY, POLICYC_VERDICT_DEFAULT_DENY },
	.l7_fallback_allow_l4 = 0,
	.allow_localhost = 1,
	.emit_allow_events = 0,
	.allow_neighbor_discovery = 1,
	.generation = 0,
	.ct_lifetime_tcp_ns = 21600ULL * 1000000000ULL,
	.ct_lifetime_other_ns = 60ULL * 1000000000ULL,
	.frag_lifetime_ns = 30ULL * 1000000000ULL,
	.event_budget_per_peer = 0,
	.l7_proxy_port = 0,
};

const volatile struct policyc_btf_anchor policyc_btf_anchor __attribute__((used)) = {};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct policyc_ipcache_key);
	__type(value, struct policyc_ipcache_value);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} pc_ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct policyc_class_key);
	__type(value, struct policyc_class_value);
	__uint(max_entries, 1);
} pc_class SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct policyc_portfn_key);
	__type(value, struct policyc_portfn_value);
	__uint(max_entries, 1);
} pc_portfn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct policyc_interval);
	__uint(max_entries, 1);
} pc_intervals SEC(".maps");

/* Conntrack, split by who opened the flow (key direction): pc_ct holds the flows the endpoint
 * opened, pc_ct_in those its peers opened. A peer that floods new flows (varying its ports)
 * only evicts peer-opened flows, never the endpoint's own connections. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct policyc_ct_key);
	__type(value, struct policyc_ct_value);
	__uint(max_entries, POLICYC_CT_MAX_ENTRIES);
} pc_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct policyc_ct_key);
	__type(value, struct policyc_ct_value);
	__uint(max_entries, POLICYC_CT_MAX_ENTRIES);
} pc_ct_in SEC(".maps");

/* The conntrack map of entries first seen in `direction` (a constant after inlining). */
#define ct_map(direction) \
	((direction) == POLICYC_DIR_EGRESS ? (void *)&pc_ct : (void *)&pc_ct_in)

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct policyc_frag_key);
	__type(value, struct policyc_frag_value);
	__uint(max_entries, 8192);
} pc_frag SEC(".maps");

/* Connections handed to the L7 filter (node-wide: the loader pins one map and every endpoint's
 * object reuses it; the filter reads it to learn who a connection is from and which policy
 * judges it). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct policyc_l7_key);
	__type(value, struct policyc_l7_value);
	__uint(max_entries, POLICYC_L7_REDIRECT_MAX_ENTRIES);
} pc_l7_redir SEC(".maps");

/* pc_events (the endpoint's event ring) is defined in policyc_layout.h. */

/* The event budget of one peer address (policyc_config.event_budget_per_peer): a window of one
 * second, the events emitted in it, and those left out since the peer's last event. Private to
 * this program (user space only ever sees the suppressed count, in struct policyc_event). */
struct pc_peer_key {
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};

struct pc_event_budget {
	__u64 window_ns;
	__u32 emitted;
	__u32 suppressed;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct pc_peer_key);
	__type(value, struct pc_event_budget);
	__uint(max_entries, 4096);
} pc_ev_budget SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct policyc_rule_counter);
	__uint(max_entries, 1);
} pc_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct policyc_rule_counter);
	__uint(max_entries, 2 * POLICYC_REASON_SLOTS);
} pc_drops SEC(".maps");

/* ---- packet parsing ------------------------------------------------------------------- */

enum parse_status {
	PARSE_OK = 0,
	PARSE_MALFORMED = 1,
	PARSE_ARP = 2,
	PARSE_UNKNOWN_L3 = 3,
};

struct flow {
	__u8 src[16];
	__u8 dst[16];
	__u16 sport;       /* conntrack ports (host order) */
	__u16 dport;
	__u16 policy_port; /* destination port, ICMP type, or 0 */
	__u8 protocol;
	__u8 family;
	__u8 later_fragment; /* non-first fragment: no L4 header */
	__u8 first_fragment; /* offset 0 with more fragments */
	__u8 icmp_error;     /* ICMP error carrying a parsable embedded flow in `inner` that it may
			      * be related to (icmp_error_may_relate) */
	__u8 icmp_error_type; /* any ICMP error type (never tracked as a flow) */
	__u8 tcp_flags;       /* TCP: the flags byte (FIN, SYN, RST, PSH, ACK, URG, ...) */
	__u8 icmp_exchange;   /* ICMP: request type of the exchange (struct policyc_ct_key) */
	__u32 frag_id;
	struct policyc_ct_key inner; /* embedded original flow of an ICMP error (direction unset) */
};

static __always_inline int icmp_is_error(__u8 family, __u8 type)
{
	if (family == POLICYC_FAMILY_IPV4)
		return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
	return type >= 1 && type <= 4;
}

/* Parse the flow embedded in an ICMP error (original IP header + first 8 bytes of L4).
 * Returns 1 when a usable flow was found; anything short or odd means "not related". */
static __always_inline int parse_embedded(struct __sk_buff *skb, __u32 off, __u32 end, __u8 family,
					  struct policyc_ct_key *inner)
{
	__u8 l4[8];
	__u8 proto;
	__u32 l4off;

	if (family == POLICYC_FAMILY_IPV4) {
		struct ipv4_hdr ip;
		if (off + sizeof(ip) > end || bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)) < 0)
			return 0;
		if ((ip.ver_ihl >> 4) != 4 || (ip.ver_ihl & 0xf) < 5)
			return 0;
		if (bpf_ntohs(ip.frag_off) & PC_IPV4_OFFSET_MASK)
			return 0;
		__builtin_memset(inner->src, 0, 16);
		__builtin_memset(inner->dst, 0, 16);
		__builtin_memcpy(inner->src, ip.saddr, 4);
		__builtin_memcpy(inner->dst, ip.daddr, 4);
		proto = ip.protocol;
		l4off = off + (ip.ver_ihl & 0xf) * 4;
	} else {
		struct ipv6_hdr ip6;
		if (off + sizeof(ip6) > end || bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)) < 0)
			return 0;
		if ((bpf_ntohl(ip6.ver_tc_flow) >> 28) != 6)
			return 0;
		copy16(inner->src, ip6.saddr);
		copy16(inner->dst, ip6.daddr);
		proto = ip6.nexthdr;
		l4off = off + sizeof(ip6);
	}
	/* ICMP errors carry at least 8 bytes of the original L4 header. */
	if (l4off + 8 > end || bpf_skb_load_bytes(skb, l4off, l4, 8) < 0)
		return 0;
	inner->protocol = proto;
	inner->family = family;
	if (proto == PC_PROTO_TCP || proto == PC_PROTO_UDP || proto == PC_PROTO_SCTP) {
		inner->sport = ((__u16)l4[0] << 8) | l4[1];
		inner->dport = ((__u16)l4[2] << 8) | l4[3];
		return 1;
	}
	if ((family == POLICYC_FAMILY_IPV4 && proto == PC_PROTO_ICMP && l4[0] == 8) ||
	    (family == POLICYC_FAMILY_IPV6 && proto == PC_PROTO_ICMPV6 && l4[0] == 128)) {
		__u16 id = ((__u16)l4[4] << 8) | l4[5];
		inner->sport = id;
		inner->dport = id;
		inner->icmp_exchange = l4[0];
		return 1;
	}
	return 0;
}

/* The largest ICMP error a host sends: 576 bytes of IPv4 (RFC 1812 4.3.2.3), the IPv6 minimum
 * MTU (RFC 4443 2.4(c)). Anything longer is no error report but a payload riding on a flow. */
#define ICMP_ERROR_MAX_IPV4 576
#define ICMP_ERROR_MAX_IPV6 1280

static __always_inline int same_addr(const __u8 *a, const __u8 *b)
{
	__u64 a0, a1, b0, b1;

	__builtin_memcpy(&a0, a, 8);
	__builtin_memcpy(&a1, a + 8, 8);
	__builtin_memcpy(&b0, b, 8);
	__builtin_memcpy(&b1, b + 8, 8);
	return a0 == b0 && a1 == b1;
}

/* Whether an ICMP error may be related to the flow it quotes: it travels between that flow's
 * own two addresses, back towards the flow's sender (outer source = quoted destination, outer
 * destination = quoted source) — as Cilium keys its related ICMP entries on the flow's own
 * address pair (bpf/lib/conntrack.h ct_create4/6) — and is no longer than an error report can
 * be. A pod cannot borrow a live flow to send its own data to a third address. */
static __always_inline int icmp_error_may_relate(const struct flow *f, __u32 ip_len)
{
	__u32 max = f->family == POLICYC_FAMILY_IPV4 ? ICMP_ERROR_MAX_IPV4 : ICMP_ERROR_MAX_IPV6;

	return ip_len <= max && same_addr(f->src, f->inner.dst) && same_addr(f->dst, f->inner.src);
}

static __always_inline int is_link_local6(const __u8 *a)
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static __always_inline int is_unspecified6(const __u8 *a)
{
	__u64 a0, a1;

	__builtin_memcpy(&a0, a, 8);
	__builtin_memcpy(&a1, a + 8, 8);
	return a0 == 0 && a1 == 0;
}

/* The exchange an ICMP message belongs to, named by its request type, so that one conntrack
 * entry serves one exchange: a reply (echo, timestamp, information, address mask; ICMPv6 echo
 * and node information) is keyed by its request's type, any other message by its own type.
 * Errors are never tracked (they pass only as related to the flow they quote). */
static __always_inline __u8 icmp_exchange_of(__u8 family, __u8 type)
{
	if (family == POLICYC_FAMILY_IPV4) {
		switch (type) {
		case 0:
			return 8;
		case 14:
		case 16:
		case 18:
			return type - 1;
		default:
			return type;
		}
	}
	switch (type) {
	case 129:
	case 140:
		return type - 1;
	default:
		return type;
	}
}

/* Parse L4 at l4off (bounded by end; the IP header starts at l3off) into f. */
static __always_inline int parse_l4(struct __sk_buff *skb, __u32 l3off, __u32 l4off, __u32 end,
				    struct flow *f)
{
	__u8 hdr[20];

	if (f->later_fragment)
		return PARSE_OK;

	switch (f->protocol) {
	case PC_PROTO_TCP:
		if (l4off + 20 > end || bpf_skb_load_bytes(skb, l4off, hdr, 20) < 0)
			return PARSE_MALFORMED;
		if ((hdr[12] >> 4) < 5)
			return PARSE_MALFORMED;
		f->tcp_flags = hdr[13];
		break;
	case PC_PROTO_UDP:
		if (l4off + 8 > end || bpf_skb_load_bytes(skb, l4off, hdr, 8) < 0)
			return PARSE_MALFORMED;
		break;
	case PC_PROTO_SCTP:
		if (l4off + 12 > end || bpf_skb_load_bytes(skb, l4off, hdr, 12) < 0)
			return PARSE_MALFORMED;
		break;
	case PC_PROTO_ICMP:
	case PC_PROTO_ICMPV6:
		if ((f->protocol == PC_PROTO_ICMP) != (f->family == POLICYC_FAMILY_IPV4))
			return PARSE_OK; /* ICMP of the other family: a protocol without ports */
		if (l4off + 8 > end || bpf_skb_load_bytes(skb, l4off, hdr, 8) < 0)
			return PARSE_MALFORMED;
		f->policy_port = hdr[0];
		f->icmp_exchange = icmp_exchange_of(f->family, hdr[0]);
		if (hdr[0] == 8 || hdr[0] == 0 || hdr[0] == 128 || hdr[0] == 129) {
			/* echo request/reply (v4 8/0, v6 128/129): the identifier names the flow */
			if ((f->family == POLICYC_FAMILY_IPV4 && (hdr[0] == 8 || hdr[0] == 0)) ||
			    (f->family == POLICYC_FAMILY_IPV6 && (hdr[0] == 128 || hdr[0] == 129))) {
				__u16 id = ((__u16)hdr[4] << 8) | hdr[5];
				f->sport = id;
				f->dport = id;
			}
		} else if (icmp_is_error(f->family, hdr[0])) {
			f->icmp_error_type = 1;
			/* icmp_error: the quoted flow may be looked up (see icmp_error_may_relate) */
			f->icmp_error = parse_embedded(skb, l4off + 8, end, f->family, &f->inner) &&
					icmp_error_may_relate(f, end - l3off);
		}
		return PARSE_OK;
	default:
		return PARSE_OK; /* other protocols: no ports, policy port 0 */
	}
	f->sport = ((__u16)hdr[0] << 8) | hdr[1];
	f->dport = ((__u16)hdr[2] << 8) | hdr[3];
	f->policy_port = f->dport;
	return PARSE_OK;
}

static __always_inline int parse_ipv4(struct __sk_buff *skb, __u32 l3off, struct flow *f)
{
	struct ipv4_hdr ip;
	__u32 ihl_bytes, tot_len, end;
	__u16 frag;

	if (bpf_skb_load_bytes(skb, l3off, &ip, sizeof(ip)) < 0)
		return PARSE_MALFORMED;
	if ((ip.ver_ihl >> 4) != 4)
		return PARSE_MALFORMED;
	ihl_bytes = (ip.ver_ihl & 0xf) * 4;
	tot_len = bpf_ntohs(ip.tot_len);
	if (ihl_bytes < 20 || tot_len < ihl_bytes || l3off + tot_len > skb->len)
		return PARSE_MALFORMED;
	end = l3off + tot_len;

	f->family = POLICYC_FAMILY_IPV4;
	f->protocol = ip.protocol;
	__builtin_memcpy(f->src, ip.saddr, 4);
	__builtin_memcpy(f->dst, ip.daddr, 4);
	frag = bpf_ntohs(ip.frag_off);
	f->frag_id = bpf_ntohs(ip.id);
	if (frag & PC_IPV4_OFFSET_MASK)
		f->later_fragment = 1;
	else if (frag & PC_IPV4_MF)
		f->first_fragment = 1;
	return parse_l4(skb, l3off, l3off + ihl_bytes, end, f);
}

static __always_inline int parse_ipv6(struct __sk_buff *skb, __u32 l3off, struct flow *f)
{
	struct ipv6_hdr ip6;
	struct pc_ipv6_chain chain = {};
	__u32 off, end, payload;
	__u8 nexthdr;

	if (bpf_skb_load_bytes(skb, l3off, &ip6, sizeof(ip6)) < 0)
		return PARSE_MALFORMED;
	if ((bpf_ntohl(ip6.ver_tc_flow) >> 28) != 6)
		return PARSE_MALFORMED;
	payload = bpf_ntohs(ip6.payload_len);
	if (payload == 0 || l3off + sizeof(ip6) + payload > skb->len)
		return PARSE_MALFORMED; /* jumbograms are not supported */
	end = l3off + sizeof(ip6) + payload;

	f->family = POLICYC_FAMILY_IPV6;
	copy16(f->src, ip6.saddr);
	copy16(f->dst, ip6.daddr);
	chain.off = l3off + sizeof(ip6);
	chain.nexthdr = ip6.nexthdr;
	if (pc_ipv6_walk(skb, end, &chain) < 0)
		return PARSE_MALFORMED;
	f->frag_id = chain.frag_id;
	f->later_fragment = chain.later_fragment;
	f->first_fragment = chain.first_fragment;
	off = chain.off;
	nexthdr = chain.nexthdr;
	f->protocol = nexthdr;
	return parse_l4(skb, l3off, off, end, f);
}

static __always_inline int parse_packet(struct __sk_buff *skb, __u32 l2_len, struct flow *f)
{
	__u8 version;

	if (l2_len) {
		__be16 proto;
		if (pc_load_ethertype(skb, &proto) < 0)
			return PARSE_MALFORMED;
		if (proto == bpf_htons(PC_ETH_P_IPV4))
			return parse_ipv4(skb, PC_ETH_HLEN, f);
		if (proto == bpf_htons(PC_ETH_P_IPV6))
			return parse_ipv6(skb, PC_ETH_HLEN, f);
		if (proto == bpf_htons(PC_ETH_P_ARP))
			return PARSE_ARP;
		return PARSE_UNKNOWN_L3;
	}
	if (bpf_skb_load_bytes(skb, 0, &version, 1) < 0)
		return PARSE_MALFORMED;
	if ((version >> 4) == 4)
		return parse_ipv4(skb, 0, f);
	if ((version >> 4) == 6)
		return parse_ipv6(skb, 0, f);
	return PARSE_UNKNOWN_L3;
}

/* ---- decisions ------------------------------------------------------------------------ */

struct decision {
	__u32 identity;
	__u32 rule_id;
	__u8 verdict;
	__u8 reason;
	__u8 action;
	__u8 track;      /* create a conntrack entry */
	__u8 revalidate; /* judging a tracked flow again under this generation's policy */
	__u8 can_redirect; /* tcx, TCP and a filter port: REDIRECT_L7 can be steered */
	__u8 l7_judged;  /* the filter's upstream, judged by this direction's L7 policy already */
	__u8 redirect;   /* hand the packet to the L7 filter */
	__u8 to_proxy;   /* a reply of the filter's upstream: deliver it to the filter */
	__u8 ct_flags;   /* POLICYC_CT_FLAG_* of the entry a new flow creates */
};

static __always_inline __u32 peer_identity(const struct flow *f, __u8 dir)
{
	struct policyc_ipcache_key key = {};
	struct policyc_ipcache_value *val;

	key.family = f->family;
	if (dir == POLICYC_DIR_EGRESS)
		copy16(key.addr, f->dst);
	else
		copy16(key.addr, f->src);
	key.prefixlen = 32 + (f->family == POLICYC_FAMILY_IPV4 ? 32 : 128);
	val = bpf_map_lookup_elem(&pc_ipcache, &key);
	if (val)
		return val->identity;
	return f->family == POLICYC_FAMILY_IPV4 ? policyc_config.world_identity_ipv4
						: policyc_config.world_identity_ipv6;
}

#define PC_TCP_FIN 0x01
#define PC_TCP_SYN 0x02
#define PC_TCP_RST 0x04
#define PC_TCP_ACK 0x10
#define PC_CT_CLOSED (POLICYC_CT_CLOSING_ORIG | POLICYC_CT_CLOSING_REPLY)
#define PC_NS_PER_S 1000000000ULL

/* Whether a TCP flow completed its handshake: the opener's SYN, the other side's SYN-ACK and
 * the opener's ACK. Flags accumulate, so this stays true. A lone ACK or a mid-stream packet
 * never makes a flow established. */
static __always_inline int ct_tcp_established(const struct policyc_ct_value *v)
{
	return (v->flags_orig & (PC_TCP_SYN | PC_TCP_ACK)) == (PC_TCP_SYN | PC_TCP_ACK) &&
	       (v->flags_reply & (PC_TCP_SYN | PC_TCP_ACK)) == (PC_TCP_SYN | PC_TCP_ACK);
}

/* Records a packet of the flow (from the side that opened it, or the reply side) and sets the
 * entry's deadline from its state, as Cilium's ct_update_timeout / __ct_lookup do
 * (bpf/lib/conntrack.h): TCP lives POLICYC_CT_SYN_TIMEOUT_S until its handshake completed,
 * ct_lifetime_tcp_ns (CT_CONNECTION_LIFETIME_TCP) after; a FIN closes its sender's side, a RST
 * both; a flow closed on both sides lives POLICYC_CT_CLOSE_TIMEOUT_S from its last FIN/RST
 * and is kept alive by nothing else. Other protocols: ct_lifetime_other_ns from any packet. */
static __always_inline void ct_note(struct policyc_ct_value *v, const struct flow *f, int reply)
{
	__u64 now = bpf_ktime_get_ns();
	__u8 flags = f->tcp_flags;

	if (f->protocol != PC_PROTO_TCP) {
		v->expires_ns = now + policyc_config.ct_lifetime_other_ns;
		return;
	}
	if (reply)
		v->flags_reply |= flags;
	else
		v->flags_orig |= flags;
	if (flags & PC_TCP_RST)
		v->closing = PC_CT_CLOSED;
	else if (flags & PC_TCP_FIN)
		v->closing |= reply ? POLICYC_CT_CLOSING_REPLY : POLICYC_CT_CLOSING_ORIG;
	if (v->closing == PC_CT_CLOSED) {
		if (flags & (PC_TCP_FIN | PC_TCP_RST))
			v->expires_ns = now + POLICYC_CT_CLOSE_TIMEOUT_S * PC_NS_PER_S;
		return;
	}
	v->expires_ns = now + (ct_tcp_established(v) ? policyc_config.ct_lifetime_tcp_ns
						     : POLICYC_CT_SYN_TIMEOUT_S * PC_NS_PER_S);
}

/* Finds the live entry of a flow: as (tuple, dir) in dir's map [established] or as (reversed
 * tuple, !dir) in the other one [reply; *reply = 1]. `key` holds the tuple (direction unset)
 * and is left as the key looked up last (the entry's key when one is found). */
static __always_inline struct policyc_ct_value *ct_find(struct policyc_ct_key *key, __u8 dir,
							int *reply)
{
	struct policyc_ct_value *val;
	__u64 now = bpf_ktime_get_ns();
	__u8 tmp[16];
	__u16 port;

	key->direction = dir;
	val = bpf_map_lookup_elem(ct_map(dir), key);
	if (val && val->expires_ns > now) {
		*reply = 0;
		return val;
	}
	copy16(tmp, key->src);
	copy16(key->src, key->dst);
	copy16(key->dst, tmp);
	port = key->sport;
	key->sport = key->dport;
	key->dport = port;
	key->direction = dir ^ 1;
	val = bpf_map_lookup_elem(ct_map(dir ^ 1), key);
	if (val && val->expires_ns > now) {
		*reply = 1;
		return val;
	}
	return 0;
}

/* Removes the entry ct_find found (a reply's entry lives in the other direction's map). */
static __always_inline void ct_forget(const struct policyc_ct_key *key, __u8 dir, int reply)
{
	if (reply)
		bpf_map_delete_elem(ct_map(dir ^ 1), key);
	else
		bpf_map_delete_elem(ct_map(dir), key);
}

/* Whether a found entry may carry this packet at all: the peer address still has the identity
 * the flow was judged for (a new pod reusing an address inherits no flow), and a SYN from the
 * opener on a closing flow is a new connection on the same ports, judged anew. */
static __always_inline int ct_usable(const struct policyc_ct_value *v, const struct flow *f,
				     __u32 identity, int reply)
{
	if (v->identity != identity)
		return 0;
	if (f->protocol == PC_PROTO_TCP && !reply && v->closing &&
	    (f->tcp_flags & (PC_TCP_SYN | PC_TCP_ACK)) == PC_TCP_SYN)
		return 0;
	return 1;
}

static __always_inline void ct_count(struct policyc_ct_value *v, __u32 pkt_len)
{
	__sync_fetch_and_add(&v->packets, 1);
	__sync_fetch_and_add(&v->bytes, pkt_len);
}

static __always_inline void flow_tuple(const struct flow *f, struct policyc_ct_key *t)
{
	copy16(t->src, f->src);
	copy16(t->dst, f->dst);
	t->sport = f->sport;
	t->dport = f->dport;
	t->protocol = f->protocol;
	t->family = f->family;
	t->direction = 0;
	t->icmp_exchange = f->icmp_exchange;
}

/* The flow as the side that opened it sent it, from a reply packet and the entry's policy
 * port: what policy judges when a reply's entry is judged again. */
static __always_inline void flow_reversed(const struct flow *f, __u16 policy_port,
					  struct flow *out)
{
	copy16(out->src, f->dst);
	copy16(out->dst, f->src);
	out->sport = f->dport;
	out->dport = f->sport;
	out->policy_port = policy_port;
	out->protocol = f->protocol;
	out->family = f->family;
}

static __always_inline void ct_create(const struct flow *f, __u8 dir, const struct decision *d,
				      __u32 pkt_len)
{
	struct policyc_ct_key key = {};
	struct policyc_ct_value val = {};

	/* A RST opens nothing: it ends a connection (passing if policy allows it). */
	if (f->protocol == PC_PROTO_TCP && (f->tcp_flags & PC_TCP_RST))
		return;
	flow_tuple(f, &key);
	key.direction = dir;
	ct_note(&val, f, 0);
	val.packets = 1;
	val.bytes = pkt_len;
	val.rule_id = d->rule_id;
	val.reason = d->reason;
	val.identity = d->identity;
	val.generation = policyc_config.generation;
	val.policy_port = f->policy_port;
	val.flags = d->ct_flags;
	bpf_map_update_elem(ct_map(dir), &key, &val, BPF_ANY);
}

static __always_inline void frag_key(const struct flow *f, __u8 dir, struct policyc_frag_key *k)
{
	copy16(k->src, f->src);
	copy16(k->dst, f->dst);
	k->id = f->frag_id;
	k->protocol = f->protocol;
	k->family = f->family;
	k->direction = dir;
	k->pad = 0;
}

static __always_inline int range_hit(const struct policyc_interval *r, __u16 port,
				     struct decision *d)
{
	if (r->lo > port || port > r->hi)
		return 0;
	d->verdict = r->verdict;
	d->rule_id = r->rule_id;
	return 1;
}

/* Evaluates a sparse port function: the inline ranges, then a bounded binary search for the
 * last overflow range with lo <= port, else the function's default. */
static __always_inline void port_function(const struct policyc_portfn_value *v, __u16 port,
					  struct decision *d)
{
	struct policyc_interval *iv;
	__u32 base, len, idx, n_inline;
	int i;

	d->reason = POLICYC_REASON_POLICY;
	n_inline = v->inline_count;
	if (n_inline > POLICYC_INLINE_RANGES || v->count > POLICYC_MAX_INTERVALS_PER_FUNCTION)
		goto corrupt;
#pragma unroll
	for (i = 0; i < POLICYC_INLINE_RANGES; i++) {
		if (i < n_inline && range_hit(&v->ranges[i], port, d))
			return;
	}
	d->verdict = v->default_verdict;
	d->rule_id = v->default_rule_id;
	if (v->count == 0)
		return;
	base = v->first;
	len = v->count;
	for (i = 0; i < POLICYC_SEARCH_STEPS; i++) {
		__u32 half, mid;

		if (len <= 1)
			break;
		half = len / 2;
		mid = base + half;
		idx = mid;
		iv = bpf_map_lookup_elem(&pc_intervals, &idx);
		if (!iv)
			goto corrupt;
		if (iv->lo <= port)
			base = mid;
		len -= half;
	}
	idx = base;
	iv = bpf_map_lookup_elem(&pc_intervals, &idx);
	if (!iv)
		goto corrupt;
	if (range_hit(iv, port, d))
		return;
	d->verdict = v->default_verdict;
	d->rule_id = v->default_rule_id;
	return;
corrupt:
	d->verdict = POLICYC_VERDICT_NONE;
	d->rule_id = 0;
	d->reason = POLICYC_REASON_TABLE_CORRUPT;
}

/* The function of (kind, id) for the protocol, or its protocol-0 fallback. */
static __always_inline struct policyc_portfn_value *portfn_for(__u8 kind, __u32 id, __u8 dir,
							       __u8 protocol)
{
	struct policyc_portfn_key pkey = {};
	struct policyc_portfn_value *pval;

	pkey.id = id;
	pkey.direction = dir;
	pkey.protocol = protocol;
	pkey.kind = kind;
	pval = bpf_map_lookup_elem(&pc_portfn, &pkey);
	if (pval)
		return pval;
	pkey.protocol = 0;
	return bpf_map_lookup_elem(&pc_portfn, &pkey);
}

#ifdef POLICYC_SPECIALIZED
/* policyc build --specialize: policy_lookup generated per endpoint (constants folded). */
#include "policyc_specialized.h"
#else
/* Peer identity -> port function (order documented at struct policyc_portfn_key).
 * A global function with scalar arguments and a packed result (verdict, reason, rule id):
 * the verifier checks the lookup and its bounded search once per program instead of once
 * per state that reaches a lookup (the FQDN classes' bpf_loop reaches it from every path
 * that judges a flow), and the caller continues with one state whatever the tables hold. */
__attribute__((noinline)) __u64 pc_policy_lookup(__u32 identity, __u32 dir, __u32 protocol,
						 __u32 port)
{
	struct policyc_class_key ckey = {};
	struct policyc_class_value *cval;
	struct policyc_portfn_value *pval;
	struct decision d = {};

	dir &= 1;
	ckey.identity = identity;
	ckey.direction = dir;
	cval = bpf_map_lookup_elem(&pc_class, &ckey);
	if (cval)
		pval = portfn_for(POLICYC_PORTFN_CLASS, cval->class_id, dir, protocol);
	else
		pval = portfn_for(POLICYC_PORTFN_IDENTITY, identity, dir, protocol);
	if (!pval)
		pval = portfn_for(POLICYC_PORTFN_CLASS, policyc_config.unknown_class[dir], dir,
				  protocol);
	if (!pval)
		return (__u64)policyc_config.default_verdict[dir] |
		       ((__u64)POLICYC_REASON_POLICY_DEFAULT << 8);
	port_function(pval, port, &d);
	return (__u64)d.verdict | ((__u64)d.reason << 8) | ((__u64)d.rule_id << 32);
}

static __always_inline void policy_lookup(const struct flow *f, __u8 dir, struct decision *d)
{
	__u64 r = pc_policy_lookup(d->identity, dir, f->protocol, f->policy_port);

	d->verdict = (__u8)r;
	d->reason = (__u8)(r >> 8);
	d->rule_id = (__u32)(r >> 32);
}
#endif /* POLICYC_SPECIALIZED */

/* toFQDNs: new egress flows to learned addresses outside the cluster (fqdn_combine). */
#include "policyc_fqdn.h"

static __always_inline void apply_verdict(struct decision *d)
{
	switch (d->verdict) {
	case POLICYC_VERDICT_ALLOW:
		d->action = POLICYC_ACTION_PASS;
		d->track = 1;
		break;
	case POLICYC_VERDICT_REDIRECT_L7:
		if (d->l7_judged) {
			/* The filter's upstream: the filter judged the request by this policy. */
			d->action = POLICYC_ACTION_PASS;
			d->track = 1;
			d->reason = POLICYC_REASON_L7_JUDGED;
		} else if (d->can_redirect) {
			d->action = POLICYC_ACTION_PASS;
			d->track = 1;
			d->redirect = 1;
			d->ct_flags |= POLICYC_CT_FLAG_L7;
			d->reason = POLICYC_REASON_L7_REDIRECTED;
		} else if (policyc_config.l7_fallback_allow_l4) {
			d->action = POLICYC_ACTION_PASS;
			d->track = 1;
			d->reason = POLICYC_REASON_L7_FALLBACK;
		} else {
			d->action = POLICYC_ACTION_DROP;
			d->reason = POLICYC_REASON_L7_UNSUPPORTED;
		}
		break;
	case POLICYC_VERDICT_AUTH_REQUIRED:
		d->action = POLICYC_ACTION_DROP;
		d->reason = POLICYC_REASON_AUTH_UNSUPPORTED;
		break;
	case POLICYC_VERDICT_DENY:
	case POLICYC_VERDICT_DEFAULT_DENY:
		d->action = POLICYC_ACTION_DROP;
		break;
	default:
		d->action = POLICYC_ACTION_DROP;
		d->reason = POLICYC_REASON_TABLE_CORRUPT;
		break;
	}
}

static __always_inline void account(const struct decision *d, __u32 pkt_len)
{
	struct policyc_rule_counter *c;
	__u32 idx = d->rule_id;

	if (!idx)
		return;
	c = bpf_map_lookup_elem(&pc_counters, &idx);
	if (c) {
		c->packets += 1;
		c->bytes += pkt_len;
	}
}

/* Every dropped packet, by direction and reason (policy-loader metrics: drops by reason,
 * which the per-rule counters cannot tell: a malformed or forged packet has no rule).
 * A global function with scalar arguments: the verifier checks it once, not once per state
 * that reaches the end of handle(). */
__attribute__((noinline)) int pc_count_drop(__u32 dir, __u32 reason, __u32 pkt_len)
{
	struct policyc_rule_counter *c;
	__u32 idx = (dir & 1) * POLICYC_REASON_SLOTS + (reason & (POLICYC_REASON_SLOTS - 1));

	c = bpf_map_lookup_elem(&pc_drops, &idx);
	if (c) {
		c->packets += 1;
		c->bytes += pkt_len;
	}
	return 0;
}

/* Whether the peer of this packet may have one more event this second
 * (policyc_config.event_budget_per_peer); *suppressed = its events left out since its last
 * one. The rest are counted, so a denied peer flooding drops cannot fill the ring and hide
 * the drops of others, and what was left out is still reported. */
static __always_inline int event_budget_take(const __u8 *peer, __u8 family, __u32 *suppressed)
{
	struct pc_peer_key key = {};
	struct pc_event_budget *b;
	__u64 now = bpf_ktime_get_ns();
	__u32 budget = policyc_config.event_budget_per_peer;

	if (!budget)
		return 1;
	key.family = family;
	copy16(key.addr, peer);
	b = bpf_map_lookup_elem(&pc_ev_budget, &key);
	if (!b) {
		struct pc_event_budget fresh = { .window_ns = now, .emitted = 1 };

		bpf_map_update_elem(&pc_ev_budget, &key, &fresh, BPF_ANY);
		return 1;
	}
	if (now - b->window_ns >= PC_NS_PER_S) {
		b->window_ns = now;
		b->emitted = 0;
	}
	if (b->emitted >= budget) {
		__sync_fetch_and_add(&b->suppressed, 1);
		return 0;
	}
	b->emitted += 1;
	*suppressed = b->suppressed;
	b->suppressed = 0;
	return 1;
}

static __always_inline void emit_event(const struct flow *f, __u8 dir, const struct decision *d,
				       __u32 pkt_len)
{
	struct policyc_event *ev;
	const __u8 *peer = dir == POLICYC_DIR_EGRESS ? f->dst : f->src;
	__u32 suppressed = 0;

	if (d->action == POLICYC_ACTION_PASS && !policyc_config.emit_allow_events)
		return;
	if (!event_budget_take(peer, f->family, &suppressed))
		return;
	ev = bpf_ringbuf_reserve(&pc_events, sizeof(*ev), 0);
	if (!ev)
		return;
	ev->suppressed = suppressed;
	ev->pad = 0;
	ev->timestamp_ns = bpf_ktime_get_ns();
	ev->endpoint_id = policyc_config.endpoint_id;
	ev->identity = d->identity;
	ev->rule_id = d->rule_id;
	ev->pkt_len = pkt_len;
	ev->port = f->policy_port;
	ev->direction = dir;
	ev->protocol = f->protocol;
	ev->verdict = d->verdict;
	ev->reason = d->reason;
	ev->action = d->action;
	ev->family = f->family;
	copy16(ev->peer_addr, peer);
	bpf_ringbuf_submit(ev, 0);
}

static __always_inline int is_own(const __u8 *addr, __u8 family)
{
	__u64 a0, a1;
	int i;

	__builtin_memcpy(&a0, addr, 8);
	__builtin_memcpy(&a1, addr + 8, 8);
#pragma unroll
	for (i = 0; i < POLICYC_MAX_SOURCE_ADDRS; i++) {
		const volatile __u64 *own = (const volatile __u64 *)policyc_config.source_addrs[i];

		if (policyc_config.source_families[i] == family && own[0] == a0 && own[1] == a1)
			return 1;
	}
	return 0;
}

static __always_inline int source_is_own(const struct flow *f)
{
	return is_own(f->src, f->family);
}

/* The largest neighbor discovery messages (ICMPv6 header + body + options): router
 * advertisements and redirects carry prefixes / the redirected packet, the rest a link-layer
 * address option or two. */
#define NDP_MAX_LEN_SMALL 256
#define NDP_MAX_LEN_LARGE 1232

/* Whether an ICMPv6 133..137 message is shaped as neighbor discovery can be (RFC 4861): whole
 * (not fragmented), right after the IPv6 header (no extension header), hop limit 255 (so it was
 * never forwarded) and no longer than such a message is. Read from the packet here rather than
 * kept in struct flow, so the verifier's states of every other packet stay as they were. Who
 * may send it to whom is decided per direction (ndp_passes). */
static __always_inline int ndp_shaped(struct __sk_buff *skb, __u32 l3off, const struct flow *f)
{
	struct ipv6_hdr ip6;
	__u32 max;

	if (f->family != POLICYC_FAMILY_IPV6 || f->protocol != PC_PROTO_ICMPV6 || f->later_fragment ||
	    f->first_fragment || f->policy_port < 133 || f->policy_port > 137)
		return 0;
	if (bpf_skb_load_bytes(skb, l3off, &ip6, 8) < 0)
		return 0;
	max = (f->policy_port == 134 || f->policy_port == 137) ? NDP_MAX_LEN_LARGE : NDP_MAX_LEN_SMALL;
	return ip6.nexthdr == PC_PROTO_ICMPV6 && ip6.hop_limit == 255 && bpf_ntohs(ip6.payload_len) <= max;
}

/* Neighbor discovery shaped (ndp_shaped) from a link-local or the unspecified source: how IPv6
 * finds its neighbours before (and besides) the pod's own addresses; judged by ndp_passes. */
static __always_inline int ndp_from_link_local(struct __sk_buff *skb, __u32 l3off,
						const struct flow *f)
{
	return (is_link_local6(f->src) || is_unspecified6(f->src)) && ndp_shaped(skb, l3off, f);
}

/* Whether neighbor discovery passes without policy (allow_neighbor_discovery): shaped as NDP
 * (hop limit 255, bounded size), between link-scope addresses — source link-local, unspecified
 * or (egress, already validated) the endpoint's own; destination link-local or link-scope
 * multicast (ff02::/16) — and never a router
 * advertisement or redirect sent by the endpoint. Anything else of types 133..137 is judged by
 * policy like any ICMPv6 message: the exemption is no channel to other hosts. */
static __always_inline int ndp_passes(struct __sk_buff *skb, __u32 l3off, const struct flow *f,
				      __u8 dir)
{
	int src_ok, dst_ok;

	if (!ndp_shaped(skb, l3off, f))
		return 0;
	if (dir == POLICYC_DIR_EGRESS && (f->policy_port == 134 || f->policy_port == 137))
		return 0;
	src_ok = is_link_local6(f->src) || is_unspecified6(f->src) || dir == POLICYC_DIR_EGRESS;
	dst_ok = is_link_local6(f->dst) || (f->dst[0] == 0xff && f->dst[1] == 0x02);
	return src_ok && dst_ok;
}

/* Policy's verdict on a flow in a direction (no conntrack): the direction not enforced, the
 * host with allow_localhost, else the port function of the peer's identity combined with the
 * toFQDNs classes of its address. */
static __always_inline void judge(const struct flow *f, __u8 dir, struct decision *d)
{
	if (!policyc_config.enforced[dir & 1]) {
		d->action = POLICYC_ACTION_PASS;
		d->reason = POLICYC_REASON_NOT_ENFORCED;
		d->track = 1;
		return;
	}
	if (dir == POLICYC_DIR_INGRESS && policyc_config.allow_localhost &&
	    d->identity == POLICYC_IDENTITY_HOST) {
		d->action = POLICYC_ACTION_PASS;
		d->reason = POLICYC_REASON_HOST_ALLOWED;
		d->track = 1;
		return;
	}
	policy_lookup(f, dir, d);
	fqdn_combine(f, dir, d);
	apply_verdict(d);
}

/* A packet of a tracked flow that involves the L7 filter: the opener's packets of a redirected
 * flow go to the filter again; replies to the filter's own upstream are delivered to it. */
static __always_inline void l7_follow(const struct policyc_ct_value *ct, int reply,
				      struct decision *d)
{
	if (!reply && (ct->flags & POLICYC_CT_FLAG_L7)) {
		d->redirect = 1;
		d->ct_flags |= POLICYC_CT_FLAG_L7;
		d->reason = POLICYC_REASON_L7_REDIRECTED;
	}
	if (reply && (ct->flags & POLICYC_CT_FLAG_FROM_PROXY))
		d->to_proxy = 1;
}

static __always_inline void decide(struct __sk_buff *skb, __u32 l3off, const struct flow *f,
				   __u8 dir, struct decision *d)
{
	struct policyc_ct_key key = {};
	struct policyc_ct_value *ct;
	struct flow opened = {};          /* a reply's flow as its opener sent it */
	const struct flow *judged = f;    /* the flow policy judges, and in which direction */
	__u8 judged_dir = dir;
	int reply = 0;

	d->identity = peer_identity(f, dir);

	/* Router/neighbor solicitation and advertisement, redirect: IPv6 needs them to work. */
	if (policyc_config.allow_neighbor_discovery && ndp_passes(skb, l3off, f, dir)) {
		d->action = POLICYC_ACTION_PASS;
		d->reason = POLICYC_REASON_NEIGHBOR_DISCOVERY;
		return;
	}

	if (f->later_fragment) {
		struct policyc_frag_key fk = {};
		struct policyc_frag_value *fv;

		frag_key(f, dir, &fk);
		fv = bpf_map_lookup_elem(&pc_frag, &fk);
		if (fv && fv->expires_ns > bpf_ktime_get_ns()) {
			d->action = POLICYC_ACTION_PASS;
			d->reason = POLICYC_REASON_FRAGMENT_TRACKED;
			d->rule_id = fv->rule_id;
		} else {
			d->action = POLICYC_ACTION_DROP;
			d->reason = POLICYC_REASON_FRAGMENT_UNTRACKED;
		}
		return;
	}

	if (f->icmp_error_type && f->first_fragment) {
		/* A fragmented error is no error report: never related, and it must not open
		 * pc_frag for its later fragments. */
		d->action = POLICYC_ACTION_DROP;
		d->reason = POLICYC_REASON_ICMP_ERROR_FRAGMENTED;
		return;
	}

	if (f->icmp_error_type) {
		/* Errors open and continue no flow of their own: they pass as related to the
		 * flow they quote (judged under this generation, for this peer) or by policy. */
		if (f->icmp_error) {
			key = f->inner;
			ct = ct_find(&key, dir ^ 1, &reply);
			if (ct && ct->identity == d->identity &&
			    ct->generation == policyc_config.generation) {
				d->action = POLICYC_ACTION_PASS;
				d->reason = POLICYC_REASON_CT_RELATED;
				d->rule_id = ct->rule_id;
				return;
			}
		}
		ct = 0;
	} else {
		flow_tuple(f, &key);
		ct = ct_find(&key, dir, &reply);
		if (ct && !ct_usable(ct, f, d->identity, reply)) {
			ct_forget(&key, dir, reply);
			ct = 0;
		}
	}
	if (ct) {
		if (ct->generation == policyc_config.generation) {
			ct_note(ct, f, reply);
			ct_count(ct, skb->len);
			d->action = POLICYC_ACTION_PASS;
			d->reason = reply ? POLICYC_REASON_CT_REPLY : POLICYC_REASON_CT_ESTABLISHED;
			d->rule_id = ct->rule_id;
			l7_follow(ct, reply, d);
			return;
		}
		/* The filter's own upstream keeps counting as judged at L7. */
		if (ct->flags & POLICYC_CT_FLAG_FROM_PROXY)
			d->l7_judged = 1;
		/* Judged under another generation: this generation's policy judges the flow as
		 * its opener sent it (Cilium re-checks policy on every packet that is no reply;
		 * here a generation change triggers it, for replies too, so revoked access ends
		 * with the flow's next packet either way). */
		d->revalidate = 1;
		if (reply) {
			flow_reversed(f, ct->policy_port, &opened);
			judged = &opened;
			judged_dir = dir ^ 1;
		}
	}

	judge(judged, judged_dir, d);
	if (!d->revalidate || !ct)
		return;
	d->track = 0;
	if (d->action == POLICYC_ACTION_PASS &&
	    ((ct->flags ^ d->ct_flags) & POLICYC_CT_FLAG_L7)) {
		/* Redirected before and not now, or the other way round: the connection lives at
		 * the filter or at the server, never both; it ends (fail closed). */
		d->action = POLICYC_ACTION_DROP;
		d->redirect = 0;
	}
	if (d->action == POLICYC_ACTION_PASS) {
		l7_follow(ct, reply, d);
		ct->generation = policyc_config.generation;
		ct->rule_id = d->rule_id;
		ct_note(ct, f, reply);
		ct_count(ct, skb->len);
		d->reason = reply ? POLICYC_REASON_CT_REPLY : POLICYC_REASON_CT_ESTABLISHED;
	} else {
		ct_forget(&key, dir, reply);
		d->reason = POLICYC_REASON_CT_REVOKED;
	}
}

/* ---- L7 steering ---------------------------------------------------------------------- */

/* The connection of a packet as the filter's accepted socket sees it (struct policyc_l7_key). */
static __always_inline void l7_key_of(const struct flow *f, struct policyc_l7_key *key)
{
	copy16(key->client, f->src);
	copy16(key->server, f->dst);
	key->client_port = f->sport;
	key->server_port = f->dport;
	key->family = f->family;
}

/* Hands a packet to the L7 filter's socket at tc ingress (bpf_sk_assign is valid nowhere
 * else): the connection the filter already accepted for this tuple, else (listener_port not
 * 0) its listener on that port (any address). The skb->mark selects the loader's `local`
 * routing table, so the stack delivers the packet to this host whatever its destination
 * address. Cilium does the same in assign_socket_tcp / ctx_redirect_to_proxy_first
 * (bpf/lib/proxy.h). A global function: the verifier checks it once, not at every call site
 * of every path. Returns 0 when assigned. */
__attribute__((noinline)) int pc_l7_assign(struct __sk_buff *skb, struct policyc_l7_key *t,
					   __u32 listener_port)
{
	struct bpf_sock_tuple tuple = {};
	struct bpf_sock *sk;
	__u32 size;
	long err;

	if (!skb || !t)
		return -1;
	if (t->family == POLICYC_FAMILY_IPV4) {
		__builtin_memcpy(&tuple.ipv4.saddr, t->client, 4);
		__builtin_memcpy(&tuple.ipv4.daddr, t->server, 4);
		tuple.ipv4.sport = bpf_htons(t->client_port);
		tuple.ipv4.dport = bpf_htons(t->server_port);
		size = sizeof(tuple.ipv4);
	} else {
		__builtin_memcpy(tuple.ipv6.saddr, t->client, 16);
		__builtin_memcpy(tuple.ipv6.daddr, t->server, 16);
		tuple.ipv6.sport = bpf_htons(t->client_port);
		tuple.ipv6.dport = bpf_htons(t->server_port);
		size = sizeof(tuple.ipv6);
	}
	sk = bpf_skc_lookup_tcp(skb, &tuple, size, BPF_F_CURRENT_NETNS, 0);
	if (sk) {
		if (sk->state != BPF_TCP_LISTEN)
			goto assign;
		bpf_sk_release(sk);
	}
	if (!listener_port)
		return -1;
	if (t->family == POLICYC_FAMILY_IPV4)
		tuple.ipv4.dport = bpf_htons((__u16)listener_port);
	else
		tuple.ipv6.dport = bpf_htons((__u16)listener_port);
	sk = bpf_skc_lookup_tcp(skb, &tuple, size, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return -1;
	if (sk->state != BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		return -1;
	}
assign:
	err = bpf_sk_assign(skb, sk, 0);
	bpf_sk_release(sk);
	if (err)
		return -1;
	skb->mark = POLICYC_L7_TO_PROXY_MARK;
	return 0;
}

/* Tells the filter who a new redirected connection is from and which policy judges it
 * (struct policyc_l7_key: keyed as the filter's accepted socket sees it). */
static __always_inline void l7_record(const struct flow *f, __u8 dir, const struct decision *d)
{
	struct policyc_l7_key key = {};
	struct policyc_l7_value val = {};

	l7_key_of(f, &key);
	val.endpoint_id = policyc_config.endpoint_id;
	val.identity = d->identity;
	val.generation = policyc_config.generation;
	val.direction = dir;
	bpf_map_update_elem(&pc_l7_redir, &key, &val, BPF_ANY);
}

/* A packet this endpoint's ingress hook redirected to the veth's ingress for the filter
 * (l7_steer): it is addressed to the endpoint's MAC, so it becomes a packet for this host, and
 * it goes to the filter's socket. Nothing else carries the mark here: the kernel clears
 * skb->mark of packets leaving a network namespace, so a pod cannot forge it. No socket: drop
 * (fail closed). */
static __always_inline int l7_enter(struct __sk_buff *skb, const struct flow *f)
{
	struct policyc_l7_key key = {};

	l7_key_of(f, &key);
	if (bpf_skb_change_type(skb, 0 /* PACKET_HOST */) == 0 &&
	    pc_l7_assign(skb, &key, policyc_config.l7_proxy_port) == 0)
		return PC_TCX_PASS;
	return PC_TCX_DROP;
}

/* A packet the endpoint sends on a connection a peer's ingress policy handed to the filter
 * (recorded in pc_l7_redir by the peer's program when it redirected the SYN): it goes to the
 * filter's socket here, at the first tc ingress hook it meets. Routed on instead, it would meet
 * the host's early demux, which finds the filter's socket for the tuple and makes forwarding
 * drop the packet (Cilium redirects to the proxy at the first hook, too). Only an established
 * (or half-open) filter socket is used: a stale record on a reused tuple changes nothing. */
static __always_inline int l7_to_peer_filter(struct __sk_buff *skb, const struct flow *f)
{
	struct policyc_l7_key key = {};

	l7_key_of(f, &key);
	if (!bpf_map_lookup_elem(&pc_l7_redir, &key))
		return 0;
	return pc_l7_assign(skb, &key, 0) == 0;
}

/* Steers a REDIRECT_L7 packet to the L7 filter. Endpoint egress (tc ingress of the host-side
 * veth): sk-assigned here. Endpoint ingress (tc egress, where bpf_sk_assign is not allowed):
 * marked and redirected to the same veth's ingress, where l7_enter assigns it (Cilium's
 * HOST_REDIRECT_TO_INGRESS / ctx_redirect_to_proxy_ingress). A new connection is recorded for
 * the filter first. No filter socket: dropped (reason L7_NO_FILTER), never passed at L4. */
static __always_inline int l7_steer(struct __sk_buff *skb, const struct flow *f, __u8 dir,
				    struct decision *d)
{
	struct policyc_l7_key key = {};

	if ((f->tcp_flags & (PC_TCP_SYN | PC_TCP_ACK)) == PC_TCP_SYN)
		l7_record(f, dir, d);
	if (dir == POLICYC_DIR_INGRESS) {
		skb->mark = POLICYC_L7_TO_PROXY_MARK;
		return bpf_redirect(skb->ifindex, BPF_F_INGRESS);
	}
	l7_key_of(f, &key);
	if (pc_l7_assign(skb, &key, policyc_config.l7_proxy_port) == 0)
		return PC_TCX_PASS;
	d->action = POLICYC_ACTION_DROP;
	d->reason = POLICYC_REASON_L7_NO_FILTER;
	return PC_TCX_DROP;
}

/* ARP the endpoint sends (tcx egress; cgroup_skb sees no ARP): Ethernet/IPv4 ARP, a request
 * or a reply, whose sender hardware address is the frame's own source and whose sender
 * protocol address is one of the endpoint's IPv4 addresses (or 0.0.0.0 in a request: an RFC
 * 5227 probe). A pod cannot claim another address on the link (ARP spoofing). */
static __always_inline int arp_is_own(struct __sk_buff *skb)
{
	__u8 eth_src[6];
	__u8 arp[28];
	__u8 spa[16] = {};
	__u16 op;
	__u32 spa4;

	if (bpf_skb_load_bytes(skb, 6, eth_src, 6) < 0 ||
	    bpf_skb_load_bytes(skb, PC_ETH_HLEN, arp, sizeof(arp)) < 0)
		return 0;
	/* htype 1 (Ethernet), ptype 0x0800, hlen 6, plen 4 */
	if (arp[0] != 0 || arp[1] != 1 || arp[2] != 0x08 || arp[3] != 0 || arp[4] != 6 ||
	    arp[5] != 4)
		return 0;
	op = ((__u16)arp[6] << 8) | arp[7];
	if (op != 1 && op != 2)
		return 0;
	for (int i = 0; i < 6; i++)
		if (eth_src[i] != arp[8 + i])
			return 0;
	__builtin_memcpy(&spa4, &arp[14], 4);
	if (spa4 == 0)
		return op == 1;
	__builtin_memcpy(spa, &arp[14], 4);
	return is_own(spa, POLICYC_FAMILY_IPV4);
}

/* Whether the packet's source is one of the endpoint's own addresses (Cilium's
 * is_valid_lxc_src_ip in bpf_lxc.c): a pod must not borrow another pod's identity, the node's
 * (host, passed by allow_localhost), or the DNS server's address. */
static __always_inline int handle(struct __sk_buff *skb, __u32 l2_len, __u8 dir)
{
	struct flow f = {};
	struct decision d = {};
	__u32 pkt_len = skb->len;
	int status, steered = 0, steer_ret = PC_TCX_DROP;

	status = parse_packet(skb, l2_len, &f);
	if (l2_len && status == PARSE_OK && f.protocol == PC_PROTO_TCP) {
		if (dir == POLICYC_DIR_EGRESS && skb->mark == POLICYC_L7_TO_PROXY_MARK)
			return l7_enter(skb, &f);
		d.can_redirect = policyc_config.l7_proxy_port != 0;
		if (dir == POLICYC_DIR_INGRESS &&
		    (skb->mark == POLICYC_L7_FROM_PROXY_INGRESS_MARK ||
		     skb->mark == POLICYC_L7_FROM_PROXY_EGRESS_MARK)) {
			d.ct_flags = POLICYC_CT_FLAG_FROM_PROXY;
			d.l7_judged = skb->mark == POLICYC_L7_FROM_PROXY_INGRESS_MARK;
		}
	}
	if (status == PARSE_ARP && (dir == POLICYC_DIR_INGRESS || arp_is_own(skb)))
		return l2_len ? PC_TCX_NEXT : PC_CGROUP_PASS;
	if (status == PARSE_ARP) {
		d.action = POLICYC_ACTION_DROP;
		d.reason = POLICYC_REASON_ARP_INVALID;
	} else if (status != PARSE_OK) {
		d.action = POLICYC_ACTION_DROP;
		d.reason = status == PARSE_UNKNOWN_L3 ? POLICYC_REASON_UNKNOWN_L3 : POLICYC_REASON_MALFORMED;
	} else if (dir == POLICYC_DIR_EGRESS && !source_is_own(&f) &&
		   !ndp_from_link_local(skb, l2_len, &f)) {
		/* Before conntrack and policy: a forged source creates no entry, borrows no verdict. */
		d.action = POLICYC_ACTION_DROP;
		d.reason = POLICYC_REASON_SOURCE_INVALID;
	} else {
		decide(skb, l2_len, &f, dir, &d);
		if (d.action == POLICYC_ACTION_PASS) {
			if (d.track && !f.icmp_error_type)
				ct_create(&f, dir, &d, pkt_len);
			if (f.first_fragment) {
				struct policyc_frag_key fk = {};
				struct policyc_frag_value fv = {};

				frag_key(&f, dir, &fk);
				fv.expires_ns = bpf_ktime_get_ns() + policyc_config.frag_lifetime_ns;
				fv.rule_id = d.rule_id;
				bpf_map_update_elem(&pc_frag, &fk, &fv, BPF_ANY);
			}
		}
		account(&d, pkt_len);
	}
	/* One emit_event below for every outcome (each inlined copy costs the verifier). */
	if (l2_len && d.action == POLICYC_ACTION_PASS) {
		if (d.redirect) {
			steered = 1;
			steer_ret = l7_steer(skb, &f, dir, &d);
		} else if (d.to_proxy) {
			skb->mark = POLICYC_L7_TO_PROXY_MARK;
		} else if (dir == POLICYC_DIR_EGRESS && f.protocol == PC_PROTO_TCP &&
			   l7_to_peer_filter(skb, &f)) {
			steered = 1;
			steer_ret = PC_TCX_PASS;
		}
	}
	if (d.action == POLICYC_ACTION_DROP)
		pc_count_drop(dir, d.reason, pkt_len);
	emit_event(&f, dir, &d, pkt_len);
	if (steered)
		return steer_ret;
	if (d.action == POLICYC_ACTION_PASS)
		return l2_len ? PC_TCX_NEXT : PC_CGROUP_PASS;
	return l2_len ? PC_TCX_DROP : PC_CGROUP_DROP;
}

SEC("tcx/ingress")
int pc_egress_tcx(struct __sk_buff *skb)
{
	return handle(skb, PC_ETH_HLEN, POLICYC_DIR_EGRESS);
}

SEC("tcx/egress")
int pc_ingress_tcx(struct __sk_buff *skb)
{
	return handle(skb, PC_ETH_HLEN, POLICYC_DIR_INGRESS);
}

SEC("cgroup_skb/egress")
int pc_egress_cg(struct __sk_buff *skb)
{
	return handle(skb, 0, POLICYC_DIR_EGRESS);
}

SEC("cgroup_skb/ingress")
int pc_ingress_cg(struct __sk_buff *skb)
{
	return handle(skb, 0, POLICYC_DIR_INGRESS);
}
