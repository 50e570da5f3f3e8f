/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* dns/tcp_stream.h — DNS over TCP as the server reads it. Each question segment is judged on
 * its own (one length-prefixed message, dns/parse.h); this keeps the stream in step with what
 * was judged, so that an overlapping retransmission cannot slip unjudged bytes into it: the
 * server's TCP keeps the bytes it already has and takes only those beyond, which no
 * judgement here has seen as a message start.
 *
 * Per connection: the SYN sets where data starts; a question passes only when it starts
 * exactly there (a new message: the stream moves past it once it is allowed) or repeats the
 * last judged segment exactly (same start, same length: the server either has all of it or
 * none). Anything else — a gap, an overlap, a segment before the handshake the stage saw — is
 * dropped as unjudgeable (the client retransmits or reconnects). */
#ifndef POLICYC_DNS_TCP_STREAM_H
#define POLICYC_DNS_TCP_STREAM_H

#include "maps.h"
#include "parse.h"

#define PC_TCP_FIN_FLAG 0x01
#define PC_TCP_SYN_FLAG 0x02
#define PC_TCP_RST_FLAG 0x04

static __always_inline void tcp_stream_key(const struct dns_packet *p, struct dns_tcp_key *k)
{
	__builtin_memcpy(k->saddr, p->saddr, 16);
	__builtin_memcpy(k->daddr, p->daddr, 16);
	k->sport = p->sport;
	k->dport = p->dport;
	k->family = p->family;
}

/* A segment of the endpoint's TCP/53 connection. Returns 1 when it may pass on (a question in
 * it is then judged), 0 when it cannot be judged (drop).
 * - SYN (with or without data, TCP Fast Open): the stream starts after it — unless a question
 *   of the connection was judged already: a SYN then could realign the stream mid-message
 *   (the server ignores it), so it is dropped.
 * - FIN or RST without data exactly at the stream position ends the stream (the server ends
 *   it too); any other control segment passes and changes nothing (the server ignores an
 *   inexact RST, RFC 5961).
 * - Data: exactly at the stream position, or exactly the last judged segment again. */
static __always_inline int tcp_stream_admit(const struct dns_packet *p)
{
	struct dns_tcp_key key = {};
	struct dns_tcp_stream *s;

	tcp_stream_key(p, &key);
	s = bpf_map_lookup_elem(&pc_dns_tcp, &key);
	if (p->tcp_flags & PC_TCP_SYN_FLAG) {
		struct dns_tcp_stream fresh = { .next_seq = p->tcp_seq + 1 };

		if (s && s->last_len)
			return 0;
		bpf_map_update_elem(&pc_dns_tcp, &key, &fresh, BPF_ANY);
		return 1;
	}
	if (!p->tcp_payload) {
		if (s && (p->tcp_flags & (PC_TCP_FIN_FLAG | PC_TCP_RST_FLAG)) &&
		    p->tcp_seq == s->next_seq)
			bpf_map_delete_elem(&pc_dns_tcp, &key);
		return 1;
	}
	if (!s)
		return 0;
	if (p->tcp_seq == s->next_seq)
		return 1;
	return s->last_len && p->tcp_seq == s->last_start && p->tcp_payload == s->last_len;
}

/* An allowed question segment: the stream moves past it (a retransmission moves nothing). */
static __always_inline void tcp_stream_judged(const struct dns_packet *p)
{
	struct dns_tcp_key key = {};
	struct dns_tcp_stream *s;
	__u32 start = p->tcp_seq + ((p->tcp_flags & PC_TCP_SYN_FLAG) ? 1 : 0);

	tcp_stream_key(p, &key);
	s = bpf_map_lookup_elem(&pc_dns_tcp, &key);
	if (!s || start != s->next_seq)
		return;
	s->last_start = start;
	s->last_len = p->tcp_payload;
	s->next_seq = start + p->tcp_payload;
}

#endif /* POLICYC_DNS_TCP_STREAM_H */
