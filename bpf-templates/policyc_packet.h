/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* policyc_packet.h — the packet facts shared by every program (the datapath, the DNS stage and
 * the dispatcher): tcx and cgroup_skb verdicts, Ethernet and IP protocol numbers, the fixed
 * IPv4/IPv6 headers and the small parsing helpers. The IPv6 extension-header walk is in
 * policyc_ipv6_ext.h. Include after <bpf/bpf_helpers.h>. */
#ifndef POLICYC_PACKET_H
#define POLICYC_PACKET_H

#include <linux/types.h>

/* tcx verdicts (enum tcx_action_base of Linux 6.6+ UAPI; Debian's 6.1 headers lack it). */
#define PC_TCX_NEXT (-1) /* on to the next program, then the stack */
#define PC_TCX_PASS 0    /* to the stack now, skipping later programs */
#define PC_TCX_DROP 2
/* cgroup_skb verdicts. */
#define PC_CGROUP_DROP 0
#define PC_CGROUP_PASS 1

#define PC_ETH_HLEN 14
#define PC_ETH_PROTO_OFF 12 /* the ethertype */
#define PC_ETH_P_IPV4 0x0800
#define PC_ETH_P_IPV6 0x86DD
#define PC_ETH_P_ARP 0x0806

/* IP protocol numbers (IPv6: next-header values of transport protocols). */
#define PC_PROTO_ICMP 1
#define PC_PROTO_TCP 6
#define PC_PROTO_UDP 17
#define PC_PROTO_ICMPV6 58
#define PC_PROTO_SCTP 132

/* IPv4 frag_off (host order): the fragment offset and the more-fragments flag. */
#define PC_IPV4_OFFSET_MASK 0x1fff
#define PC_IPV4_MF 0x2000

struct ipv4_hdr {
	__u8 ver_ihl;
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__be16 check;
	__u8 saddr[4];
	__u8 daddr[4];
};

struct ipv6_hdr {
	__be32 ver_tc_flow;
	__be16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__u8 saddr[16];
	__u8 daddr[16];
};

/* The ethertype of an Ethernet frame (network order); < 0 when the frame is shorter. */
static __always_inline long pc_load_ethertype(struct __sk_buff *skb, __be16 *proto)
{
	return bpf_skb_load_bytes(skb, PC_ETH_PROTO_OFF, proto, sizeof(*proto));
}

static __always_inline void copy16(__u8 *dst, const __u8 *src)
{
	__builtin_memcpy(dst, src, 16);
}

#endif /* POLICYC_PACKET_H */
