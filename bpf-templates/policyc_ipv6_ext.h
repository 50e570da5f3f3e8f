/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* policyc_ipv6_ext.h — the one IPv6 extension-header walk of the datapath and the DNS programs.
 * Both find the same transport header behind the same chain, or both refuse the chain: a chain
 * the main program walks to UDP/53 can no longer make the DNS stage answer "not DNS" and leave
 * the question unjudged (issue 17). Include after <bpf/bpf_helpers.h>. */
#ifndef POLICYC_IPV6_EXT_H
#define POLICYC_IPV6_EXT_H

#include "policyc_layout.h" /* POLICYC_MAX_IPV6_EXT_HEADERS */

#define PC_NEXTHDR_HOP 0
#define PC_NEXTHDR_ROUTING 43
#define PC_NEXTHDR_FRAGMENT 44
#define PC_NEXTHDR_AUTH 51
#define PC_NEXTHDR_DEST 60

static __always_inline int pc_ipv6_is_ext(__u8 nexthdr)
{
	return nexthdr == PC_NEXTHDR_HOP || nexthdr == PC_NEXTHDR_ROUTING ||
	       nexthdr == PC_NEXTHDR_DEST || nexthdr == PC_NEXTHDR_FRAGMENT ||
	       nexthdr == PC_NEXTHDR_AUTH;
}

/* Where the walk is, and what it found. */
struct pc_ipv6_chain {
	__u32 off;            /* in: first byte after the fixed header; out: the transport header */
	__u32 frag_id;        /* identification of the fragment header, if any */
	__u8 nexthdr;         /* in: the fixed header's next header; out: the transport protocol */
	__u8 has_fragment;    /* a fragment header was seen (offset 0 or not) */
	__u8 later_fragment;  /* fragment offset != 0: no transport header follows */
	__u8 first_fragment;  /* fragment offset 0 with more fragments */
};

/* Walks hop-by-hop, routing, destination-options, fragment and AH headers (at most
 * POLICYC_MAX_IPV6_EXT_HEADERS, each within `end`). Returns 0 with `c` at the transport header
 * (or at the data of a later fragment), or -1 when the chain is truncated, too long, or runs
 * past `end`: nothing behind such a chain can be judged. */
static __always_inline int pc_ipv6_walk(struct __sk_buff *skb, __u32 end, struct pc_ipv6_chain *c)
{
	int i;

	for (i = 0; i < POLICYC_MAX_IPV6_EXT_HEADERS; i++) {
		__u8 ext[8];

		if (!pc_ipv6_is_ext(c->nexthdr))
			break;
		if (c->off + 8 > end || bpf_skb_load_bytes(skb, c->off, ext, 8) < 0)
			return -1;
		if (c->nexthdr == PC_NEXTHDR_FRAGMENT) {
			__u16 frag = ((__u16)ext[2] << 8) | ext[3];

			c->has_fragment = 1;
			c->frag_id = ((__u32)ext[4] << 24) | ((__u32)ext[5] << 16) |
				     ((__u32)ext[6] << 8) | ext[7];
			if (frag & 0xfff8)
				c->later_fragment = 1;
			else if (frag & 1)
				c->first_fragment = 1;
			c->off += 8;
		} else if (c->nexthdr == PC_NEXTHDR_AUTH) {
			c->off += ((__u32)ext[1] + 2) * 4;
		} else {
			c->off += ((__u32)ext[1] + 1) * 8;
		}
		c->nexthdr = ext[0];
		if (c->later_fragment)
			break;
	}
	if (!c->later_fragment && pc_ipv6_is_ext(c->nexthdr))
		return -1; /* too many extension headers */
	if (c->off > end)
		return -1; /* one runs past the packet */
	return 0;
}

#endif /* POLICYC_IPV6_EXT_H */
