// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* policyc_dns.bpf.c — in-kernel DNS policy (phase 1), a separate object from the L3/L4 datapath.
 *
 *   pc_dns_query   SEC("tcx/ingress")  host side of the endpoint's veth, packets FROM the endpoint
 *                  (Ethernet first). UDP/TCP to port 53: the question name is walked with bpf_loop
 *                  (labels <= 63, total <= 255, lower-cased), matched against the exact-name hash
 *                  set and the multi-pattern DFA. Allowed: a pending entry is recorded and the
 *                  packet goes on (PC_TCX_NEXT). Denied: the packet is rewritten into a REFUSED
 *                  answer and redirected back into the endpoint. Malformed: dropped.
 *   pc_dns_answer  SEC("tcx/egress")   packets TO the endpoint. UDP from port 53: only an answer
 *                  matching a pending entry (endpoint address, port, DNS id, server, question
 *                  name hash) is learned; its A/AAAA records are upserted into pc_dns_learned
 *                  BEFORE the packet is let through. Everything else teaches nothing.
 * DNS over TCP (port 53): a segment carrying exactly one length-prefixed message is judged like
 * UDP (a denied TCP question is answered in-stream: the segment becomes the server's PSH|ACK
 * reply carrying the length-prefixed REFUSED, redirected back like the UDP one); payload-less
 * segments pass; any other payload (a message split across segments, a bad length prefix) is
 * dropped, questions and answers alike. Fragmented UDP/53 (first fragment) and DNS over TLS (port 853) from the
 * endpoint are dropped. Every such drop is counted (dns_layout.h counters) and, like every
 * REFUSED or denied question, reported in the endpoint's pc_events ring (reused by the loader).
 * Control flow depends on no table size: one class-table and one DFA-row lookup per name byte.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "dns_layout.h"
#include "policyc_ipv6_ext.h"
#include "policyc_layout.h"
#include "policyc_packet.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define DNS_PORT 53
#define DNS_HDR_LEN 12

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pc_dns_config);
} pc_dns_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pc_dns_classes);
} pc_dns_classes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PC_DNS_MAX_STATES);
	__type(key, __u32);
	__type(value, struct pc_dns_row);
} pc_dns_dfa SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct pc_dns_name);
	__type(value, __u64);
} pc_dns_exact SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct pc_dns_pending_key);
	__type(value, struct pc_dns_pending);
} pc_dns_pending SEC(".maps");

/* pc_dns_learned (node-wide learned addresses) is defined in fqdn_learned.h. */

/* Node-wide, pinned by the loader next to pc_dns_learned: learned address → the question name
 * whose answer taught it last (struct pc_dns_name), for `policy-loader dns dump` only — no
 * verdict reads it. A smaller LRU than the learned map: an address whose name it no longer
 * holds is shown without one. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PC_DNS_NAMES_MAX_ENTRIES);
	__type(key, struct pc_dns_addr);
	__type(value, struct pc_dns_name);
} pc_dns_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PC_DNS_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} pc_dns_counters SEC(".maps");

/* Per-CPU scratch: the dotted name (exact-set key), the reply bytes for checksums, and the
 * records collected from an answer before any of them is learned. */
struct dns_scratch {
	struct pc_dns_name name;
	__u8 reply[PC_DNS_REPLY_MAX];
	__u32 record_count;
	__u32 pad;
	struct pc_dns_record records[PC_DNS_MAX_RECORDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dns_scratch);
} pc_dns_scratch SEC(".maps");

/* pc_events (policyc_layout.h): the endpoint's event ring, the L3/L4 datapath's, reused by pin
 * when loaded. */

static __always_inline void count(__u32 which)
{
	__u64 *slot = bpf_map_lookup_elem(&pc_dns_counters, &which);
	if (slot)
		*slot += 1;
}

/* One parsed DNS packet (UDP, or TCP with the message in this one segment). */
struct dns_packet {
	__u8 family; /* POLICYC_FAMILY_IPV4 or _IPV6 */
	__u8 tcp;    /* 1: DNS over TCP (2-byte length prefix before the message) */
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u32 l3_off;
	__u32 l4_off;
	__u32 dns_off;
	__u32 dns_len; /* from the UDP length or the TCP length prefix */
};

enum parse_result {
	PARSE_NOT_DNS,     /* not DNS: the DNS object has no opinion */
	PARSE_DNS,         /* one whole DNS message */
	PARSE_MALFORMED,   /* DNS port, but headers we cannot judge (IP options, bad lengths) */
	PARSE_FRAGMENT,    /* first fragment of a fragmented DNS datagram */
	PARSE_TCP_SPLIT,   /* TCP/53 payload that is not exactly one length-prefixed message */
	PARSE_TCP_CONTROL, /* TCP/53 segment without payload (handshake, ACK, FIN) */
	PARSE_DOT,         /* DNS over TLS (TCP or UDP port 853) from the endpoint */
};

/* Parses Ethernet/IP/UDP|TCP. `query` selects questions (dport 53, and 853 for DoT) or
 * answers (sport 53). Non-first fragments carry no ports: they are left to the main datapath,
 * which passes them only after a passed first fragment (and the first is dropped here). */
static __always_inline enum parse_result parse_dns(struct __sk_buff *skb, struct dns_packet *p,
						   int query)
{
	__be16 proto;
	if (pc_load_ethertype(skb, &proto) < 0)
		return PARSE_NOT_DNS;
	p->l3_off = PC_ETH_HLEN;
	__u8 l4proto;
	__u32 ip_len; /* L4 header + payload */
	int fragment = 0;
	int bad_ip = 0;
	if (proto == bpf_htons(PC_ETH_P_IPV4)) {
		__u8 hdr[20];
		if (bpf_skb_load_bytes(skb, PC_ETH_HLEN, hdr, 20) < 0)
			return PARSE_NOT_DNS;
		l4proto = hdr[9];
		if (l4proto != PC_PROTO_UDP && l4proto != PC_PROTO_TCP)
			return PARSE_NOT_DNS;
		p->family = POLICYC_FAMILY_IPV4;
		__builtin_memset(p->saddr, 0, 16);
		__builtin_memset(p->daddr, 0, 16);
		__builtin_memcpy(p->saddr, &hdr[12], 4);
		__builtin_memcpy(p->daddr, &hdr[16], 4);
		__u32 ihl = (hdr[0] & 0x0f) * 4;
		__u16 frag = ((__u16)hdr[6] << 8) | hdr[7];
		if ((frag & PC_IPV4_OFFSET_MASK) != 0)
			return PARSE_NOT_DNS; /* non-first fragment */
		fragment = (frag & PC_IPV4_MF) != 0;
		ip_len = ((__u32)hdr[2] << 8) | hdr[3];
		p->l4_off = PC_ETH_HLEN + ihl;
		bad_ip = ihl != 20 || ip_len < 20 + 8 || PC_ETH_HLEN + ip_len > skb->len;
		ip_len = ip_len > 20 ? ip_len - 20 : 0;
	} else if (proto == bpf_htons(PC_ETH_P_IPV6)) {
		__u8 hdr[40];
		struct pc_ipv6_chain chain = {};
		if (bpf_skb_load_bytes(skb, PC_ETH_HLEN, hdr, 40) < 0)
			return PARSE_NOT_DNS;
		p->family = POLICYC_FAMILY_IPV6;
		__builtin_memcpy(p->saddr, &hdr[8], 16);
		__builtin_memcpy(p->daddr, &hdr[24], 16);
		ip_len = ((__u32)hdr[4] << 8) | hdr[5];
		p->l4_off = PC_ETH_HLEN + 40;
		/* The main datapath's own walk (policyc_ipv6_ext.h): whatever chain it follows to a
		 * transport header, this stage finds the same one. */
		chain.off = PC_ETH_HLEN + 40;
		chain.nexthdr = hdr[6];
		if (pc_ipv6_walk(skb, PC_ETH_HLEN + 40 + ip_len, &chain) < 0)
			return PARSE_MALFORMED; /* the main datapath drops it too */
		if (chain.later_fragment)
			return PARSE_NOT_DNS; /* non-first fragment: the main datapath's pc_frag */
		l4proto = chain.nexthdr;
		if (l4proto != PC_PROTO_UDP && l4proto != PC_PROTO_TCP)
			return PARSE_NOT_DNS;
		if (chain.off != PC_ETH_HLEN + 40) {
			/* Extension headers before UDP/TCP: a DNS message behind them is never judged
			 * here (no REFUSED can be synthesized around them), so it drops; anything else
			 * is not DNS. A first fragment stays a fragment. */
			__u16 ports6[2];
			if (bpf_skb_load_bytes(skb, chain.off & 0x7ff, ports6, 4) < 0)
				return PARSE_MALFORMED;
			p->tcp = l4proto == PC_PROTO_TCP;
			p->sport = bpf_ntohs(ports6[0]);
			p->dport = bpf_ntohs(ports6[1]);
			__u16 port6 = query ? p->dport : p->sport;
			if (port6 != DNS_PORT && !(query && port6 == PC_DNS_DOT_PORT))
				return PARSE_NOT_DNS;
			return chain.has_fragment ? PARSE_FRAGMENT : PARSE_MALFORMED;
		}
		bad_ip = ip_len < 8 || PC_ETH_HLEN + 40 + ip_len > skb->len;
	} else {
		return PARSE_NOT_DNS;
	}
	p->tcp = l4proto == PC_PROTO_TCP;
	__u16 ports[2];
	if (bpf_skb_load_bytes(skb, p->l4_off & 0xff, ports, 4) < 0)
		return PARSE_NOT_DNS;
	p->sport = bpf_ntohs(ports[0]);
	p->dport = bpf_ntohs(ports[1]);
	if ((query ? p->dport : p->sport) != DNS_PORT) {
		if (query && p->dport == PC_DNS_DOT_PORT)
			return PARSE_DOT;
		return PARSE_NOT_DNS;
	}
	if (fragment)
		return PARSE_FRAGMENT;
	if (bad_ip)
		return PARSE_MALFORMED;
	if (p->tcp) {
		__u8 doff_byte, flags;
		if (bpf_skb_load_bytes(skb, (p->l4_off & 0xff) + 12, &doff_byte, 1) < 0 ||
		    bpf_skb_load_bytes(skb, (p->l4_off & 0xff) + 13, &flags, 1) < 0)
			return PARSE_MALFORMED;
		/* Urgent data leaves the stream the server reads: what it sees is not what is
		 * judged here. */
		if (flags & 0x20)
			return PARSE_TCP_SPLIT;
		__u32 doff = (doff_byte >> 4) * 4;
		if (doff < 20 || doff > ip_len)
			return PARSE_MALFORMED;
		__u32 payload = ip_len - doff;
		if (payload == 0)
			return PARSE_TCP_CONTROL;
		__u32 payload_off = p->l4_off + doff;
		__u16 prefix_be;
		if (payload < 2 + DNS_HDR_LEN ||
		    bpf_skb_load_bytes(skb, payload_off, &prefix_be, 2) < 0)
			return PARSE_TCP_SPLIT;
		__u32 prefix = bpf_ntohs(prefix_be);
		if (prefix != payload - 2)
			return PARSE_TCP_SPLIT;
		p->dns_off = payload_off + 2;
		p->dns_len = prefix;
		return PARSE_DNS;
	}
	/* One sendto() with UDP_SEGMENT (GSO) carries several datagrams in one skb, only the
	 * first of which would be read here: not judged, so dropped. */
	if (skb->gso_segs > 1 || skb->gso_size)
		return PARSE_MALFORMED;
	__u16 udp_len_be;
	if (bpf_skb_load_bytes(skb, p->l4_off + 4, &udp_len_be, 2) < 0)
		return PARSE_MALFORMED;
	__u32 udp_len = bpf_ntohs(udp_len_be);
	/* The datagram ends exactly where the IP packet does. */
	if (udp_len < 8 + DNS_HDR_LEN || udp_len != ip_len)
		return PARSE_MALFORMED;
	p->dns_off = p->l4_off + 8;
	p->dns_len = udp_len - 8;
	return PARSE_DNS;
}

/* Keeps struct pc_dns_event (only ever reached through a ring-buffer pointer) in the BTF. */
const volatile struct pc_dns_event pc_dns_event_btf_anchor __attribute__((used)) = {};

/* A drop record: peer = the DNS server; no rule id (the endpoint's rules.dns decided); the
 * question name when it was read (`name`), else zeros. */
static __always_inline void emit_dns_event(struct __sk_buff *skb, const struct dns_packet *p,
					   int query, __u8 reason, const struct pc_dns_name *name)
{
	struct pc_dns_event *record = bpf_ringbuf_reserve(&pc_events, sizeof(*record), 0);
	if (!record)
		return;
	if (name)
		__builtin_memcpy(&record->qname, name, sizeof(record->qname));
	else
		__builtin_memset(&record->qname, 0, sizeof(record->qname));
	struct policyc_event *ev = &record->event;
	ev->timestamp_ns = bpf_ktime_get_ns();
	ev->endpoint_id = 0;
	ev->identity = 0;
	ev->rule_id = 0;
	ev->pkt_len = skb->len;
	ev->port = query ? p->dport : p->sport;
	ev->direction = query ? POLICYC_DIR_EGRESS : POLICYC_DIR_INGRESS;
	ev->protocol = p->tcp ? PC_PROTO_TCP : PC_PROTO_UDP;
	ev->verdict = POLICYC_VERDICT_NONE;
	ev->reason = reason;
	ev->action = POLICYC_ACTION_DROP;
	ev->family = p->family;
	__builtin_memcpy(ev->peer_addr, query ? p->daddr : p->saddr, 16);
	bpf_ringbuf_submit(record, 0);
}

/* ---- question name walk ------------------------------------------------------------------ */

struct name_walk {
	struct __sk_buff *skb;
	__u32 base;     /* offset of the name's first length byte in the skb */
	__u32 limit;    /* first offset past the DNS message */
	__u32 next_len; /* wire index of the next length byte */
	__u32 state;    /* DFA state */
	__u64 hash;     /* FNV-1a 64 over the dotted name */
	__u32 wire_len; /* wire length including the final zero, once done */
	__u8 done;
	__u8 bad;       /* malformed name */
	__u8 unmatchable; /* a '.' inside a label: well-formed but matches nothing */
	__u8 use_dfa;
};

/* `at` is the dotted position: wire index - 1, or 0 for the root. It is derived from the
 * bpf_loop index rather than counted in the context, so the verifier sees no exact counter
 * and the callback's states converge after a few iterations. */
static __always_inline void feed(struct name_walk *w, struct dns_scratch *s, __u32 at, __u8 byte)
{
	s->name.bytes[at & (PC_DNS_NAME_MAX - 1)] = byte;
	w->hash = (w->hash ^ byte) * 0x100000001b3ULL;
	if (!w->use_dfa)
		return;
	__u32 zero = 0;
	struct pc_dns_classes *classes = bpf_map_lookup_elem(&pc_dns_classes, &zero);
	__u32 state = w->state;
	struct pc_dns_row *row = bpf_map_lookup_elem(&pc_dns_dfa, &state);
	if (!classes || !row) {
		w->state = 0;
		return;
	}
	__u8 cls = classes->class_of[byte] & (PC_DNS_MAX_CLASSES - 1);
	w->state = row->next[cls];
}

static long name_step(__u64 i, void *ctx)
{
	struct name_walk *w = ctx;
	__u32 zero = 0;
	struct dns_scratch *s = bpf_map_lookup_elem(&pc_dns_scratch, &zero);
	if (!s) {
		w->bad = 1;
		return 1;
	}
	__u32 at = (__u32)i;
	if (w->base + at >= w->limit) {
		w->bad = 1; /* truncated */
		return 1;
	}
	__u8 byte;
	if (bpf_skb_load_bytes(w->skb, w->base + at, &byte, 1) < 0) {
		w->bad = 1;
		return 1;
	}
	if (at == w->next_len) {
		if (byte & 0xc0) { /* pointer or reserved label type: not allowed in a question */
			w->bad = 1;
			return 1;
		}
		if (byte == 0) {
			feed(w, s, at ? at - 1 : 0, '.'); /* closes the last label, or is the root "." */
			w->wire_len = at + 1;
			w->done = 1;
			return 1;
		}
		if (at != 0)
			feed(w, s, at - 1, '.');
		w->next_len = at + 1 + byte;
		if (w->next_len >= PC_DNS_NAME_MAX - 1) { /* wire name longer than 255 octets */
			w->bad = 1;
			return 1;
		}
		return 0;
	}
	if (byte >= 'A' && byte <= 'Z')
		byte += 'a' - 'A';
	if (byte == '.')
		w->unmatchable = 1;
	feed(w, s, at - 1, byte); /* at > 0: position 0 is always a length byte */
	return 0;
}

/* Walks the name at `base`; on success the dotted name is in the scratch buffer. */
static __always_inline int walk_name(struct __sk_buff *skb, struct name_walk *w, __u32 base,
				     __u32 limit, __u32 start_state, int use_dfa)
{
	__u32 zero = 0;
	struct dns_scratch *s = bpf_map_lookup_elem(&pc_dns_scratch, &zero);
	if (!s)
		return -1;
	__builtin_memset(&s->name, 0, sizeof(s->name));
	__builtin_memset(w, 0, sizeof(*w));
	w->skb = skb;
	w->base = base;
	w->limit = limit;
	w->state = start_state;
	w->hash = 0xcbf29ce484222325ULL;
	w->use_dfa = use_dfa;
	bpf_loop(PC_DNS_NAME_MAX, name_step, w, 0);
	if (w->bad || !w->done)
		return -1;
	return 0;
}

/* ---- REFUSED synthesis ------------------------------------------------------------------- */

static __always_inline __u16 fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* The DNS header at m[at..at + 12] turned into the REFUSED answer's: QR=1, keep opcode and
 * RD, RA=1, RCODE=REFUSED; one question, no records (the question that follows is echoed). */
static __always_inline void refuse_message(__u8 *m, __u32 at)
{
	m[at + 2] = 0x80 | (m[at + 2] & 0x79);
	m[at + 3] = 0x80 | PC_DNS_RCODE_REFUSED;
	m[at + 4] = 0;
	m[at + 5] = 1;
	for (int k = 6; k < 12; k++)
		m[at + k] = 0;
}

/* Turns the (already resized) frame around for a reply carrying l4_len bytes of L4 (UDP or
 * TCP): MACs and IP addresses swapped, IP lengths, TTL 64, IPv4 header checksum. Leaves the
 * reply's L4 pseudo-header sum in *l4_sum. Returns 0 on success. */
static __always_inline int turn_around(struct __sk_buff *skb, const struct dns_packet *p,
				       __u32 l4_len, __u8 l4proto, __u64 *l4_sum)
{
	__u8 macs[12];
	if (bpf_skb_load_bytes(skb, 0, macs, 12) < 0)
		return -1;
	__u8 swapped[12];
	__builtin_memcpy(swapped, &macs[6], 6);
	__builtin_memcpy(&swapped[6], macs, 6);
	if (bpf_skb_store_bytes(skb, 0, swapped, 12, 0) < 0)
		return -1;

	/* L4 pseudo-header sum (addresses are swapped but the sum is symmetric). */
	__u64 sum = 0;
	if (p->family == POLICYC_FAMILY_IPV4) {
		__u8 hdr[20];
		if (bpf_skb_load_bytes(skb, PC_ETH_HLEN, hdr, 20) < 0)
			return -1;
		__builtin_memcpy(&hdr[12], p->daddr, 4);
		__builtin_memcpy(&hdr[16], p->saddr, 4);
		__u16 tot = (__u16)(20 + l4_len);
		hdr[2] = tot >> 8;
		hdr[3] = tot & 0xff;
		hdr[8] = 64;
		hdr[10] = 0;
		hdr[11] = 0;
		__u16 ip_csum = ~fold(bpf_csum_diff(NULL, 0, (__be32 *)hdr, 20, 0));
		__builtin_memcpy(&hdr[10], &ip_csum, 2);
		if (bpf_skb_store_bytes(skb, PC_ETH_HLEN, hdr, 20, 0) < 0)
			return -1;
		sum = bpf_csum_diff(NULL, 0, (__be32 *)&hdr[12], 8, 0);
	} else {
		__u8 hdr[40];
		if (bpf_skb_load_bytes(skb, PC_ETH_HLEN, hdr, 40) < 0)
			return -1;
		__builtin_memcpy(&hdr[8], p->daddr, 16);
		__builtin_memcpy(&hdr[24], p->saddr, 16);
		hdr[4] = l4_len >> 8;
		hdr[5] = l4_len & 0xff;
		hdr[7] = 64;
		if (bpf_skb_store_bytes(skb, PC_ETH_HLEN, hdr, 40, 0) < 0)
			return -1;
		sum = bpf_csum_diff(NULL, 0, (__be32 *)&hdr[8], 32, 0);
	}
	__be32 proto_len = bpf_htonl(l4proto + l4_len);
	*l4_sum = bpf_csum_diff(NULL, 0, &proto_len, 4, fold(sum));
	return 0;
}

/* Rewrites the query into a REFUSED answer (header + question only) addressed back to the
 * endpoint, with valid IP and UDP checksums. Returns 0 on success. */
static __always_inline int synthesize_refused(struct __sk_buff *skb, struct dns_packet *p,
					      __u32 qname_len)
{
	__u32 zero = 0;
	__u32 dns_len = DNS_HDR_LEN + qname_len + 4;
	if (dns_len > p->dns_len)
		return -1;
	__u32 udp_len = 8 + dns_len;
	__u32 ip_hdr = p->family == POLICYC_FAMILY_IPV4 ? 20 : 40;
	__u32 new_len = PC_ETH_HLEN + ip_hdr + udp_len;
	if (bpf_skb_change_tail(skb, new_len, 0) < 0)
		return -1;

	__u64 sum;
	if (turn_around(skb, p, udp_len, PC_PROTO_UDP, &sum) < 0)
		return -1;

	struct dns_scratch *s = bpf_map_lookup_elem(&pc_dns_scratch, &zero);
	if (!s)
		return -1;
	__builtin_memset(s->reply, 0, PC_DNS_REPLY_MAX);
	if (udp_len > PC_DNS_REPLY_MAX - 4 || udp_len < 8 + DNS_HDR_LEN)
		return -1;
	/* Masks the verifier can follow (no-ops after the check above). */
	__u32 copy_len = udp_len & (PC_DNS_REPLY_MAX - 1);
	if (copy_len < 8 + DNS_HDR_LEN)
		return -1;
	if (bpf_skb_load_bytes(skb, p->l4_off, s->reply, copy_len) < 0)
		return -1;
	/* UDP header: swap ports, new length, checksum computed below. */
	__u8 t0 = s->reply[0], t1 = s->reply[1];
	s->reply[0] = s->reply[2];
	s->reply[1] = s->reply[3];
	s->reply[2] = t0;
	s->reply[3] = t1;
	s->reply[4] = udp_len >> 8;
	s->reply[5] = udp_len & 0xff;
	s->reply[6] = 0;
	s->reply[7] = 0;
	refuse_message(s->reply, 8);
	__u32 padded = (copy_len + 3) & (PC_DNS_REPLY_MAX - 4);
	__u16 udp_csum = ~fold(bpf_csum_diff(NULL, 0, (__be32 *)s->reply, padded, fold(sum)));
	if (udp_csum == 0)
		udp_csum = 0xffff;
	__builtin_memcpy(&s->reply[6], &udp_csum, 2);
	if (bpf_skb_store_bytes(skb, p->l4_off, s->reply, 8 + DNS_HDR_LEN, 0) < 0)
		return -1;
	return 0;
}

/* Rewrites a denied DNS-over-TCP question (one segment, one length-prefixed message) into
 * the server's in-stream answer: MACs, addresses and ports swapped, seq = the question's
 * ack_seq, ack_seq = its seq + payload length, PSH|ACK, payload = length prefix + REFUSED
 * (header + question). TCP options keep their length but become NOPs (no timestamps, so no
 * PAWS check on the client). Valid IP and TCP checksums. Returns 0 on success. */
static __always_inline int synthesize_refused_tcp(struct __sk_buff *skb, struct dns_packet *p,
						  __u32 qname_len)
{
	__u32 zero = 0;
	__u32 dns_len = DNS_HDR_LEN + qname_len + 4;
	if (dns_len > p->dns_len)
		return -1;
	__u8 tcp[20];
	if (bpf_skb_load_bytes(skb, p->l4_off, tcp, 20) < 0)
		return -1;
	__u32 doff = (tcp[12] >> 4) * 4;
	if (doff < 20 || doff > 60 || p->l4_off + doff + 2 != p->dns_off)
		return -1;
	__u32 opt_len = doff - 20;
	__u32 query_payload = 2 + p->dns_len;
	__u32 payload = 2 + dns_len;
	__u32 tcp_len = doff + payload;
	__u32 ip_hdr = p->family == POLICYC_FAMILY_IPV4 ? 20 : 40;
	if (bpf_skb_change_tail(skb, PC_ETH_HLEN + ip_hdr + tcp_len, 0) < 0)
		return -1;

	__u64 sum;
	if (turn_around(skb, p, tcp_len, PC_PROTO_TCP, &sum) < 0)
		return -1;

	/* TCP header: ports swapped, seq/ack from the question, PSH|ACK, checksum below. */
	__u8 reply_tcp[20];
	reply_tcp[0] = tcp[2];
	reply_tcp[1] = tcp[3];
	reply_tcp[2] = tcp[0];
	reply_tcp[3] = tcp[1];
	__builtin_memcpy(&reply_tcp[4], &tcp[8], 4); /* seq = the question's ack_seq */
	__u32 ack = ((__u32)tcp[4] << 24 | (__u32)tcp[5] << 16 | (__u32)tcp[6] << 8 | tcp[7]) +
		    query_payload;
	reply_tcp[8] = ack >> 24;
	reply_tcp[9] = (ack >> 16) & 0xff;
	reply_tcp[10] = (ack >> 8) & 0xff;
	reply_tcp[11] = ack & 0xff;
	reply_tcp[12] = tcp[12] & 0xf0;
	reply_tcp[13] = 0x18; /* PSH|ACK */
	reply_tcp[14] = tcp[14];
	reply_tcp[15] = tcp[15];
	reply_tcp[16] = 0;
	reply_tcp[17] = 0;
	reply_tcp[18] = 0;
	reply_tcp[19] = 0;
	sum = bpf_csum_diff(NULL, 0, (__be32 *)reply_tcp, 20, fold(sum));
	/* Options as NOPs: every 16-bit word is 0x0101 in either byte order. */
	sum += (__u64)(opt_len / 2) * 0x0101;

	/* Payload: length prefix + the message, rewritten into REFUSED in the scratch buffer. */
	struct dns_scratch *s = bpf_map_lookup_elem(&pc_dns_scratch, &zero);
	if (!s)
		return -1;
	__builtin_memset(s->reply, 0, PC_DNS_REPLY_MAX);
	if (payload > PC_DNS_REPLY_MAX - 4 || payload < 2 + DNS_HDR_LEN)
		return -1;
	/* Masks the verifier can follow (no-ops after the check above). */
	__u32 copy_len = payload & (PC_DNS_REPLY_MAX - 1);
	if (copy_len < 2 + DNS_HDR_LEN)
		return -1;
	if (bpf_skb_load_bytes(skb, p->dns_off - 2, s->reply, copy_len) < 0)
		return -1;
	s->reply[0] = dns_len >> 8;
	s->reply[1] = dns_len & 0xff;
	refuse_message(s->reply, 2);
	__u32 padded = (copy_len + 3) & (PC_DNS_REPLY_MAX - 4);
	__u16 tcp_csum = ~fold(bpf_csum_diff(NULL, 0, (__be32 *)s->reply, padded, fold(sum)));
	__builtin_memcpy(&reply_tcp[16], &tcp_csum, 2);

	if (bpf_skb_store_bytes(skb, p->l4_off, reply_tcp, 20, 0) < 0)
		return -1;
	if (opt_len > 0) {
		__u8 nops[40];
		__builtin_memset(nops, 1, sizeof(nops));
		__u32 n = opt_len & 63;
		if (n < 1 || n > 40)
			return -1;
		if (bpf_skb_store_bytes(skb, p->l4_off + 20, nops, n, 0) < 0)
			return -1;
	}
	if (bpf_skb_store_bytes(skb, p->dns_off - 2, s->reply, 2 + DNS_HDR_LEN, 0) < 0)
		return -1;
	return 0;
}

/* ---- query program ----------------------------------------------------------------------- */

SEC("tcx/ingress")
int pc_dns_query(struct __sk_buff *skb)
{
	struct dns_packet p = {};
	enum parse_result parsed = parse_dns(skb, &p, 1);
	switch (parsed) {
	case PARSE_DNS:
		break;
	case PARSE_MALFORMED:
		count(PC_DNS_MALFORMED_QUERY);
		return PC_TCX_DROP;
	case PARSE_FRAGMENT:
		count(PC_DNS_FRAGMENTED);
		emit_dns_event(skb, &p, 1, POLICYC_REASON_DNS_UNJUDGEABLE, 0);
		return PC_TCX_DROP;
	case PARSE_TCP_SPLIT:
		count(PC_DNS_TCP_UNJUDGEABLE);
		emit_dns_event(skb, &p, 1, POLICYC_REASON_DNS_UNJUDGEABLE, 0);
		return PC_TCX_DROP;
	case PARSE_DOT:
		count(PC_DNS_DOT);
		emit_dns_event(skb, &p, 1, POLICYC_REASON_DNS_UNJUDGEABLE, 0);
		return PC_TCX_DROP;
	default: /* not DNS, or a TCP/53 segment without payload */
		return PC_TCX_NEXT;
	}
	__u8 hdr[DNS_HDR_LEN];
	if (bpf_skb_load_bytes(skb, p.dns_off, hdr, DNS_HDR_LEN) < 0) {
		count(PC_DNS_MALFORMED_QUERY);
		return PC_TCX_DROP;
	}
	__u16 qdcount = ((__u16)hdr[4] << 8) | hdr[5];
	/* QR must be 0 and the opcode QUERY; exactly one question (RFC 9619). */
	if ((hdr[2] & 0x80) || (hdr[2] & 0x78) || qdcount != 1) {
		count(PC_DNS_MALFORMED_QUERY);
		return PC_TCX_DROP;
	}
	__u32 zero = 0;
	struct pc_dns_config *config = bpf_map_lookup_elem(&pc_dns_config, &zero);
	if (!config)
		return PC_TCX_DROP;
	struct name_walk w;
	if (walk_name(skb, &w, p.dns_off + DNS_HDR_LEN, p.dns_off + p.dns_len, config->start_state,
		      1) < 0 ||
	    w.wire_len + 4 > p.dns_len - DNS_HDR_LEN) {
		count(PC_DNS_MALFORMED_QUERY);
		return PC_TCX_DROP;
	}
	__u64 selectors = 0;
	if (!w.unmatchable) {
		__u32 state = w.state;
		struct pc_dns_row *row = bpf_map_lookup_elem(&pc_dns_dfa, &state);
		if (row)
			selectors |= row->accept;
		struct dns_scratch *s = bpf_map_lookup_elem(&pc_dns_scratch, &zero);
		if (s) {
			__u64 *exact = bpf_map_lookup_elem(&pc_dns_exact, &s->name);
			if (exact)
				selectors |= *exact;
		}
	}
	if (selectors & config->allow_mask) {
		struct pc_dns_pending_key key = {};
		__builtin_memcpy(key.endpoint, p.saddr, 16);
		key.family = p.family;
		key.port = p.sport;
		key.id = ((__u16)hdr[0] << 8) | hdr[1];
		struct pc_dns_pending value = {};
		value.selectors = selectors;
		value.name_hash = w.hash;
		__builtin_memcpy(value.server, p.daddr, 16);
		bpf_map_update_elem(&pc_dns_pending, &key, &value, BPF_ANY);
		count(PC_DNS_ALLOWED);
		return PC_TCX_NEXT;
	}
	if ((p.tcp ? synthesize_refused_tcp(skb, &p, w.wire_len)
		   : synthesize_refused(skb, &p, w.wire_len)) < 0) {
		count(PC_DNS_MALFORMED_QUERY);
		return PC_TCX_DROP;
	}
	count(p.tcp ? PC_DNS_TCP_REFUSED : PC_DNS_REFUSED);
	struct dns_scratch *named = bpf_map_lookup_elem(&pc_dns_scratch, &zero);
	emit_dns_event(skb, &p, 1, POLICYC_REASON_DNS_REFUSED, named ? &named->name : 0);
	if (config->redirect_peer)
		return bpf_redirect_peer(skb->ifindex, 0);
	skb->mark = PC_DNS_REFUSED_MARK;
	return bpf_redirect(skb->ifindex, 0);
}

/* ---- answer program ---------------------------------------------------------------------- */

enum rr_phase { RR_NAME, RR_FIXED };

struct rr_walk {
	struct __sk_buff *skb;
	__u32 off;        /* current read offset (skb) */
	__u32 resume;     /* offset after the first pointer of the current owner name */
	__u32 seg_start;  /* start of the name segment being read (a pointer must target below) */
	__u32 max_idx;    /* labels reached through a pointer must lie below this offset */
	__u32 name_len;   /* wire length of the current owner name so far */
	__u32 dns_off;
	__u32 limit;
	__u32 remaining;  /* answer records still to read */
	__u8 phase;
	__u8 followed;    /* a pointer of the current name was followed */
	__u8 bad;
	__u8 done;
};

static long rr_step(__u64 i, void *ctx)
{
	struct rr_walk *w = ctx;
	if (w->remaining == 0) {
		w->done = 1;
		return 1;
	}
	if (w->phase == RR_NAME) {
		__u8 byte;
		if (w->off >= w->max_idx || w->off >= w->limit ||
		    bpf_skb_load_bytes(w->skb, w->off, &byte, 1) < 0) {
			w->bad = 1;
			return 1;
		}
		__u8 kind = byte & 0xc0;
		if (kind == 0xc0) {
			__u8 low;
			if (w->off + 1 >= w->limit ||
			    bpf_skb_load_bytes(w->skb, w->off + 1, &low, 1) < 0) {
				w->bad = 1;
				return 1;
			}
			__u32 target = w->dns_off + ((((__u32)byte & 0x3f) << 8) | low);
			/* Strictly before the start of the segment holding the pointer, and the
			 * labels found there must end before that start: targets strictly decrease,
			 * so there are no loops (the same rule as hickory-proto). */
			if (target >= w->seg_start) {
				w->bad = 1;
				return 1;
			}
			if (!w->followed)
				w->resume = w->off + 2;
			w->followed = 1;
			w->max_idx = w->seg_start;
			w->seg_start = target;
			w->off = target;
			return 0;
		}
		if (kind != 0) {
			w->bad = 1;
			return 1;
		}
		w->name_len += 1 + byte;
		if (w->name_len > 255) {
			w->bad = 1;
			return 1;
		}
		if (byte == 0) {
			w->off = w->followed ? w->resume : w->off + 1;
			w->phase = RR_FIXED;
			return 0;
		}
		w->off += 1 + byte;
		return 0;
	}
	/* type(2) class(2) ttl(4) rdlength(2) rdata */
	__u8 fixed[10];
	if (w->off + 10 > w->limit || bpf_skb_load_bytes(w->skb, w->off, fixed, 10) < 0) {
		w->bad = 1;
		return 1;
	}
	__u16 type = ((__u16)fixed[0] << 8) | fixed[1];
	__u16 class = ((__u16)fixed[2] << 8) | fixed[3];
	__u32 ttl = ((__u32)fixed[4] << 24) | ((__u32)fixed[5] << 16) | ((__u32)fixed[6] << 8) |
		    fixed[7];
	__u16 rdlen = ((__u16)fixed[8] << 8) | fixed[9];
	__u32 rdata = w->off + 10;
	if (rdata + rdlen > w->limit) {
		w->bad = 1;
		return 1;
	}
	if (class == 1 && (type == 1 || type == 28)) {
		__u32 want = type == 1 ? 4 : 16;
		if (rdlen != want) {
			w->bad = 1;
			return 1;
		}
		__u32 zero = 0;
		struct dns_scratch *s = bpf_map_lookup_elem(&pc_dns_scratch, &zero);
		if (!s) {
			w->bad = 1;
			return 1;
		}
		__u32 n = s->record_count;
		if (n < PC_DNS_MAX_RECORDS) {
			struct pc_dns_record *r = &s->records[n & (PC_DNS_MAX_RECORDS - 1)];
			__builtin_memset(r, 0, sizeof(*r));
			r->family = type == 1 ? POLICYC_FAMILY_IPV4 : POLICYC_FAMILY_IPV6;
			r->ttl = ttl;
			int rc = type == 1 ? bpf_skb_load_bytes(w->skb, rdata, r->addr, 4)
					   : bpf_skb_load_bytes(w->skb, rdata, r->addr, 16);
			if (rc < 0) {
				w->bad = 1;
				return 1;
			}
			s->record_count = n + 1;
		}
	}
	w->off = rdata + rdlen;
	w->remaining -= 1;
	w->phase = RR_NAME;
	w->followed = 0;
	w->name_len = 0;
	w->seg_start = w->off;
	w->max_idx = w->limit;
	if (w->remaining == 0) {
		w->done = 1;
		return 1;
	}
	return 0;
}

static long learn_step(__u64 i, void *ctx)
{
	struct pc_dns_pending *pending = ctx;
	__u32 zero = 0;
	struct dns_scratch *s = bpf_map_lookup_elem(&pc_dns_scratch, &zero);
	struct pc_dns_config *config = bpf_map_lookup_elem(&pc_dns_config, &zero);
	if (!s || !config || i >= s->record_count)
		return 1;
	struct pc_dns_record *r = &s->records[i & (PC_DNS_MAX_RECORDS - 1)];
	struct pc_dns_addr key = {};
	key.family = r->family;
	__builtin_memcpy(key.addr, r->addr, 16);
	__u64 ttl = r->ttl > config->min_ttl_s ? r->ttl : config->min_ttl_s;
	__u64 expiry = bpf_ktime_get_ns() + ttl * 1000000000ULL;
	struct pc_dns_learned *known = bpf_map_lookup_elem(&pc_dns_learned, &key);
	if (known) {
		__sync_fetch_and_or(&known->selectors, pending->selectors);
		if (known->expiry_ns < expiry)
			known->expiry_ns = expiry;
	} else {
		/* BPF_NOEXIST: learned_new counts the entries this program really inserted (another
		 * CPU may insert the same address in between), so the loader can derive the LRU's
		 * evictions exactly: learned_new - swept - live entries. */
		struct pc_dns_learned fresh = { .expiry_ns = expiry, .selectors = pending->selectors };
		if (bpf_map_update_elem(&pc_dns_learned, &key, &fresh, BPF_NOEXIST) == 0) {
			count(PC_DNS_LEARNED_NEW);
		} else {
			known = bpf_map_lookup_elem(&pc_dns_learned, &key);
			if (known) {
				__sync_fetch_and_or(&known->selectors, pending->selectors);
				if (known->expiry_ns < expiry)
					known->expiry_ns = expiry;
			}
		}
	}
	/* The answer's question name is still in the scratch (the record walk never writes it). */
	bpf_map_update_elem(&pc_dns_names, &key, &s->name, BPF_ANY);
	count(PC_DNS_LEARNED);
	return 0;
}

SEC("tcx/egress")
int pc_dns_answer(struct __sk_buff *skb)
{
	if (skb->mark == PC_DNS_REFUSED_MARK)
		return PC_TCX_NEXT; /* our own REFUSED answer */
	struct dns_packet p = {};
	enum parse_result parsed = parse_dns(skb, &p, 0);
	switch (parsed) {
	case PARSE_DNS:
		break;
	case PARSE_MALFORMED:
		count(PC_DNS_UNPARSEABLE);
		return PC_TCX_NEXT; /* teaches nothing */
	case PARSE_FRAGMENT: /* cannot be learned: fail closed, the client sees no answer */
		count(PC_DNS_FRAGMENTED);
		emit_dns_event(skb, &p, 0, POLICYC_REASON_DNS_UNJUDGEABLE, 0);
		return PC_TCX_DROP;
	case PARSE_TCP_SPLIT: /* an answer not in one segment cannot be learned before delivery */
		count(PC_DNS_TCP_UNJUDGEABLE);
		emit_dns_event(skb, &p, 0, POLICYC_REASON_DNS_UNJUDGEABLE, 0);
		return PC_TCX_DROP;
	default:
		return PC_TCX_NEXT;
	}
	__u8 hdr[DNS_HDR_LEN];
	if (bpf_skb_load_bytes(skb, p.dns_off, hdr, DNS_HDR_LEN) < 0) {
		count(PC_DNS_UNPARSEABLE);
		return PC_TCX_NEXT;
	}
	struct pc_dns_pending_key key = {};
	__builtin_memcpy(key.endpoint, p.daddr, 16);
	key.family = p.family;
	key.port = p.dport;
	key.id = ((__u16)hdr[0] << 8) | hdr[1];
	struct pc_dns_pending *found = bpf_map_lookup_elem(&pc_dns_pending, &key);
	if (!found || __builtin_memcmp(found->server, p.saddr, 16) != 0 || !(hdr[2] & 0x80)) {
		count(PC_DNS_UNSOLICITED);
		return PC_TCX_NEXT;
	}
	struct pc_dns_pending pending = *found;
	bpf_map_delete_elem(&pc_dns_pending, &key);

	__u16 qdcount = ((__u16)hdr[4] << 8) | hdr[5];
	__u16 ancount = ((__u16)hdr[6] << 8) | hdr[7];
	__u32 limit = p.dns_off + p.dns_len;
	struct name_walk w;
	if (qdcount != 1 || walk_name(skb, &w, p.dns_off + DNS_HDR_LEN, limit, 0, 0) < 0 ||
	    p.dns_off + DNS_HDR_LEN + w.wire_len + 4 > limit) {
		count(PC_DNS_UNPARSEABLE);
		return PC_TCX_NEXT;
	}
	if (w.hash != pending.name_hash) {
		count(PC_DNS_UNSOLICITED);
		return PC_TCX_NEXT;
	}
	if ((hdr[3] & 0x0f) != 0 || ancount == 0)
		return PC_TCX_NEXT; /* an error or empty answer teaches nothing */

	__u32 zero = 0;
	struct dns_scratch *s = bpf_map_lookup_elem(&pc_dns_scratch, &zero);
	if (!s)
		return PC_TCX_NEXT;
	s->record_count = 0;
	struct rr_walk rr = {};
	rr.skb = skb;
	rr.dns_off = p.dns_off;
	rr.limit = limit;
	rr.off = p.dns_off + DNS_HDR_LEN + w.wire_len + 4;
	rr.seg_start = rr.off;
	rr.max_idx = limit;
	rr.remaining = ancount < PC_DNS_MAX_ANSWERS ? ancount : PC_DNS_MAX_ANSWERS;
	bpf_loop(PC_DNS_RR_STEPS, rr_step, &rr, 0);
	if (rr.bad || !rr.done) {
		count(PC_DNS_UNPARSEABLE);
		return PC_TCX_NEXT;
	}
	bpf_loop(PC_DNS_MAX_RECORDS, learn_step, &pending, 0);
	return PC_TCX_NEXT;
}
