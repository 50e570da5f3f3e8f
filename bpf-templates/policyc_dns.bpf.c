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
 *
 * This file holds the two programs; each stage they run is a header under dns/ (maps, parse,
 * events, name walk, REFUSED synthesis, answer walk, learning). Every helper stays
 * static __always_inline (the bpf_loop callbacks static): the programs are verified close to the
 * 1M-instruction limit, so the code shape must not change with the file layout.
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

/* The stages, in the order a question and an answer meet them. */
#include "dns/maps.h"
#include "dns/parse.h"
#include "dns/events.h"
#include "dns/name.h"
#include "dns/refuse.h"
#include "dns/answers.h"
#include "dns/learn.h"
#include "dns/tcp_stream.h"

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
	case PARSE_TCP_CONTROL:
		if (tcp_stream_admit(&p))
			return PC_TCX_NEXT;
		count(PC_DNS_TCP_UNJUDGEABLE);
		emit_dns_event(skb, &p, 1, POLICYC_REASON_DNS_UNJUDGEABLE, 0);
		return PC_TCX_DROP;
	default: /* not DNS */
		return PC_TCX_NEXT;
	}
	if (p.tcp && !tcp_stream_admit(&p)) {
		count(PC_DNS_TCP_UNJUDGEABLE);
		emit_dns_event(skb, &p, 1, POLICYC_REASON_DNS_UNJUDGEABLE, 0);
		return PC_TCX_DROP;
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
		if (p.tcp)
			tcp_stream_judged(&p);
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
	struct pc_dns_config *config = bpf_map_lookup_elem(&pc_dns_config, &zero);
	if (config)
		learn_records(&pending, config);
	return PC_TCX_NEXT;
}
