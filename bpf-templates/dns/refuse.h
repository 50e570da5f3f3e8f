/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* dns/refuse.h — REFUSED synthesis: a denied question rewritten in place into the server's
 * REFUSED answer (UDP, or in-stream over TCP), turned around towards the endpoint. */
#ifndef POLICYC_DNS_REFUSE_H
#define POLICYC_DNS_REFUSE_H

#include "maps.h"
#include "parse.h"

#define PC_DNS_RCODE_REFUSED 5

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

#endif /* POLICYC_DNS_REFUSE_H */
