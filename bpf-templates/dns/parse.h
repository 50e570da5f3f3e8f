/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* dns/parse.h — Ethernet/IP/UDP|TCP down to one DNS message (struct dns_packet), or why the
 * packet is not judged (enum parse_result). */
#ifndef POLICYC_DNS_PARSE_H
#define POLICYC_DNS_PARSE_H

#include "policyc_ipv6_ext.h"
#include "policyc_layout.h"
#include "policyc_packet.h"

#define DNS_PORT 53
#define PC_DNS_DOT_PORT 853 /* DNS over TLS */
#define DNS_HDR_LEN 12

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
	__u32 tcp_seq;     /* TCP: the segment's sequence number (host order) */
	__u32 tcp_payload; /* TCP: payload bytes */
	__u8 tcp_flags;    /* TCP: the flags byte */
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
		__be32 seq_be;
		if (bpf_skb_load_bytes(skb, (p->l4_off & 0xff) + 12, &doff_byte, 1) < 0 ||
		    bpf_skb_load_bytes(skb, (p->l4_off & 0xff) + 13, &flags, 1) < 0 ||
		    bpf_skb_load_bytes(skb, (p->l4_off & 0xff) + 4, &seq_be, 4) < 0)
			return PARSE_MALFORMED;
		p->tcp_seq = bpf_ntohl(seq_be);
		p->tcp_flags = flags;
		/* Urgent data leaves the stream the server reads: what it sees is not what is
		 * judged here. */
		if (flags & 0x20)
			return PARSE_TCP_SPLIT;
		__u32 doff = (doff_byte >> 4) * 4;
		if (doff < 20 || doff > ip_len)
			return PARSE_MALFORMED;
		__u32 payload = ip_len - doff;
		p->tcp_payload = payload;
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

#endif /* POLICYC_DNS_PARSE_H */
