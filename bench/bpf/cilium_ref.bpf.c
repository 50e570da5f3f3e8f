// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* cilium_ref.bpf.c — a REFERENCE, not a product: the per-packet policy work of Cilium's datapath
 * re-implemented from cilium-semantics.md §3 so that the benchmark can run it side by side with
 * policyc on the same policy and the same packets. It is not Cilium's code and does not claim
 * Cilium's full behaviour (no tunnels, NAT, L7 proxy, auth or policy-stats map); it keeps the
 * layout and the lookups that decide a verdict:
 *
 *   1. conntrack: forward then reverse tuple in an LRU hash (a live flow passes);
 *   2. ipcache: LPM trie {prefixlen, cluster_id, pad, family, addr} -> identity (miss = world);
 *   3. policy: LPM trie keyed {prefixlen, sec_label, egress, protocol, dport(be)} — lookup 1 with
 *      the exact peer identity, lookup 2 with identity 0 (L4-only); precedence decides
 *      (§3.3): an L3 entry with precedence MAX wins at once; else the L4-only entry wins if it
 *      is the only one, has higher precedence, or equal precedence and a longer port prefix;
 *   4. deny or no entry: drop with a ring-buffer event; allow: create the flow, count, pass.
 *
 * The user space fills the maps with the entries Cilium would write for the same policy:
 * one key per (identity or 0, direction, protocol, masked-port prefix), see bench/src/cilium_ref.rs. */
#include "bench_parse.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define CR_WORLD_IDENTITY 2
#define CR_PRECEDENCE_MAX 0xffffffffu
#define CR_FAMILY_IPV4 1
#define CR_FAMILY_IPV6 2
/* sec_label (32) + direction byte (8): the static part of every policy key. */
#define CR_POLICY_STATIC_PREFIX 40
#define CR_POLICY_FULL_PREFIX (CR_POLICY_STATIC_PREFIX + 8 + 16)
#define CR_CT_LIFETIME_NS (60ULL * 1000000000ULL)

struct cr_ipcache_key {
	__u32 prefixlen;
	__u16 cluster_id;
	__u8 pad;
	__u8 family;
	__u8 addr[16];
};

struct cr_ipcache_value {
	__u32 sec_identity;
	__u32 tunnel_endpoint;
	__u16 pad;
	__u8 key;
	__u8 flags;
};

struct cr_policy_key {
	__u32 prefixlen;
	__u32 sec_label;
	__u8 egress;
	__u8 protocol;
	__be16 dport;
};

struct cr_policy_entry {
	__be16 proxy_port;
	__u8 flags; /* bit 0: deny; bits 3..7: lpm_prefix_length (protocol + port bits, 0..24) */
	__u8 auth_type;
	__u32 precedence;
	__u32 cookie;
};

struct cr_ct_key {
	__u8 src[16];
	__u8 dst[16];
	__u16 sport;
	__u16 dport;
	__u8 protocol;
	__u8 family;
	__u8 egress;
	__u8 pad;
};

struct cr_ct_value {
	__u64 expires_ns;
	__u64 packets;
	__u64 bytes;
};

struct cr_event {
	__u64 timestamp_ns;
	__u32 identity;
	__u32 pkt_len;
	__u16 dport;
	__u8 protocol;
	__u8 egress;
	__u8 family;
	__u8 pad[3];
	__u8 peer[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct cr_ipcache_key);
	__type(value, struct cr_ipcache_value);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} cr_ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct cr_policy_key);
	__type(value, struct cr_policy_entry);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} cr_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct cr_ct_key);
	__type(value, struct cr_ct_value);
	__uint(max_entries, 65536);
} cr_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 2);
} cr_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} cr_events SEC(".maps");

static __always_inline void cr_copy16(__u8 *to, const __u8 *from)
{
	__builtin_memcpy(to, from, 16);
}

static __always_inline int cr_ct_live(struct cr_ct_key *key, __u64 now, __u32 len)
{
	struct cr_ct_value *v = bpf_map_lookup_elem(&cr_ct, key);

	if (!v || v->expires_ns < now)
		return 0;
	v->expires_ns = now + CR_CT_LIFETIME_NS;
	__sync_fetch_and_add(&v->packets, 1);
	__sync_fetch_and_add(&v->bytes, len);
	return 1;
}

static __always_inline __u32 cr_identity(const struct bench_pkt *p, __u8 egress)
{
	struct cr_ipcache_key key = {};
	struct cr_ipcache_value *v;

	key.family = p->family == 4 ? CR_FAMILY_IPV4 : CR_FAMILY_IPV6;
	cr_copy16(key.addr, egress ? p->dst : p->src);
	key.prefixlen = 32 + (p->family == 4 ? 32 : 128);
	v = bpf_map_lookup_elem(&cr_ipcache, &key);
	return v ? v->sec_identity : CR_WORLD_IDENTITY;
}

static __always_inline __u8 cr_prefix(const struct cr_policy_entry *e)
{
	return e->flags >> 3;
}

/* Returns the chosen entry, or NULL (no policy: drop). */
static __always_inline struct cr_policy_entry *cr_policy_lookup(__u32 identity, __u8 egress,
							       __u8 protocol, __u16 dport)
{
	struct cr_policy_key key = {
		.prefixlen = CR_POLICY_FULL_PREFIX,
		.sec_label = identity,
		.egress = egress,
		.protocol = protocol,
		.dport = bpf_htons(dport),
	};
	struct cr_policy_entry *l3, *l4;

	l3 = bpf_map_lookup_elem(&cr_policy, &key);
	if (l3 && l3->precedence == CR_PRECEDENCE_MAX)
		return l3;
	key.sec_label = 0;
	l4 = bpf_map_lookup_elem(&cr_policy, &key);
	if (!l4)
		return l3;
	if (!l3)
		return l4;
	if (l4->precedence > l3->precedence)
		return l4;
	if (l4->precedence == l3->precedence && cr_prefix(l4) > cr_prefix(l3))
		return l4;
	return l3;
}

static __always_inline int cr_decide(struct __sk_buff *skb, __u8 egress)
{
	struct bench_pkt p = {};
	struct cr_ct_key ct = {};
	struct cr_ct_value fresh = {};
	struct cr_policy_entry *entry;
	struct cr_event *ev;
	__u64 now;
	__u32 identity, stat;
	__u64 *count;
	int parsed;

	parsed = bench_parse(skb, &p);
	if (parsed == 1)
		return BENCH_TCX_NEXT;
	if (parsed < 0)
		return BENCH_TCX_DROP;

	now = bpf_ktime_get_ns();
	cr_copy16(ct.src, p.src);
	cr_copy16(ct.dst, p.dst);
	ct.sport = p.sport;
	ct.dport = p.dport;
	ct.protocol = p.proto;
	ct.family = p.family;
	ct.egress = egress;
	if (cr_ct_live(&ct, now, skb->len))
		return BENCH_TCX_NEXT;
	cr_copy16(ct.src, p.dst);
	cr_copy16(ct.dst, p.src);
	ct.sport = p.dport;
	ct.dport = p.sport;
	ct.egress = !egress;
	if (cr_ct_live(&ct, now, skb->len))
		return BENCH_TCX_NEXT;

	identity = cr_identity(&p, egress);
	entry = cr_policy_lookup(identity, egress, p.proto, p.dport);
	if (entry && !(entry->flags & 1)) {
		cr_copy16(ct.src, p.src);
		cr_copy16(ct.dst, p.dst);
		ct.sport = p.sport;
		ct.dport = p.dport;
		ct.egress = egress;
		fresh.expires_ns = now + CR_CT_LIFETIME_NS;
		fresh.packets = 1;
		fresh.bytes = skb->len;
		bpf_map_update_elem(&cr_ct, &ct, &fresh, BPF_ANY);
		stat = 0;
		count = bpf_map_lookup_elem(&cr_stats, &stat);
		if (count)
			*count += 1;
		return BENCH_TCX_NEXT;
	}
	stat = 1;
	count = bpf_map_lookup_elem(&cr_stats, &stat);
	if (count)
		*count += 1;
	ev = bpf_ringbuf_reserve(&cr_events, sizeof(*ev), 0);
	if (ev) {
		ev->timestamp_ns = now;
		ev->identity = identity;
		ev->pkt_len = skb->len;
		ev->dport = p.dport;
		ev->protocol = p.proto;
		ev->egress = egress;
		ev->family = p.family;
		cr_copy16(ev->peer, egress ? p.dst : p.src);
		bpf_ringbuf_submit(ev, 0);
	}
	return BENCH_TCX_DROP;
}

/* Endpoint ingress (peer = source), where policyc's pc_ingress_tcx runs. */
SEC("tcx/egress")
int cr_ingress(struct __sk_buff *skb)
{
	return cr_decide(skb, 0);
}

/* Endpoint egress (peer = destination). */
SEC("tcx/ingress")
int cr_egress(struct __sk_buff *skb)
{
	return cr_decide(skb, 1);
}
