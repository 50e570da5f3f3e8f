/* bench_parse.h — the header parser shared by the benchmark's own BPF programs (floors and the
 * Cilium-layout reference): Ethernet, IPv4 (options skipped), IPv6 (no extension headers),
 * TCP/UDP ports, ICMP type. Benchmark code only: not the policyc datapath. */
#ifndef BENCH_PARSE_H
#define BENCH_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define BENCH_TCX_NEXT (-1)
#define BENCH_TCX_DROP 2

struct bench_pkt {
	__u8 family; /* 4 or 6; 0 = not IP */
	__u8 proto;
	__u16 sport; /* host order */
	__u16 dport; /* host order; ICMP: the type */
	__u8 src[16];
	__u8 dst[16];
};

/* Returns 0 when parsed, 1 for ARP, -1 for malformed or unknown. */
static __always_inline int bench_parse(struct __sk_buff *skb, struct bench_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	void *l4;

	if ((void *)(eth + 1) > end)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_ARP))
		return 1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end || ip->ihl < 5)
			return -1;
		p->family = 4;
		p->proto = ip->protocol;
		__builtin_memcpy(p->src, &ip->saddr, 4);
		__builtin_memcpy(p->dst, &ip->daddr, 4);
		l4 = (void *)ip + ip->ihl * 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end)
			return -1;
		p->family = 6;
		p->proto = ip6->nexthdr;
		__builtin_memcpy(p->src, &ip6->saddr, 16);
		__builtin_memcpy(p->dst, &ip6->daddr, 16);
		l4 = ip6 + 1;
	} else {
		return -1;
	}
	if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP || p->proto == IPPROTO_SCTP) {
		__be16 *ports = l4;
		if ((void *)(ports + 2) > end)
			return -1;
		p->sport = bpf_ntohs(ports[0]);
		p->dport = bpf_ntohs(ports[1]);
	} else if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6) {
		__u8 *type = l4;
		if ((void *)(type + 1) > end)
			return -1;
		p->dport = *type;
	}
	return 0;
}

#endif
