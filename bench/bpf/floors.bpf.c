// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* floors.bpf.c — T0 floors of the benchmark: the cost of running a tcx program at all, of
 * parsing, and of single map lookups, measured with BPF_PROG_TEST_RUN on one frame. These
 * calibrate the VM; the full verdicts of policyc and of the Cilium-layout reference are
 * compared against "parse + lookups" built from these numbers. Benchmark code only. */
#include "bench_parse.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* One identity per IPv4 source address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} fl_hash SEC(".maps");

struct fl_lpm_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct fl_lpm_key);
	__type(value, __u32);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} fl_lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} fl_array SEC(".maps");

SEC("tcx/ingress")
int fl_empty(struct __sk_buff *skb)
{
	return BENCH_TCX_NEXT;
}

SEC("tcx/ingress")
int fl_parse(struct __sk_buff *skb)
{
	struct bench_pkt p = {};

	if (bench_parse(skb, &p) < 0)
		return BENCH_TCX_DROP;
	return p.dport == 0 ? BENCH_TCX_DROP : BENCH_TCX_NEXT;
}

SEC("tcx/ingress")
int fl_hash_lookup(struct __sk_buff *skb)
{
	struct bench_pkt p = {};
	__u32 key, *id;

	if (bench_parse(skb, &p) != 0)
		return BENCH_TCX_DROP;
	__builtin_memcpy(&key, p.src, 4);
	id = bpf_map_lookup_elem(&fl_hash, &key);
	return id && *id ? BENCH_TCX_NEXT : BENCH_TCX_DROP;
}

SEC("tcx/ingress")
int fl_lpm_lookup(struct __sk_buff *skb)
{
	struct bench_pkt p = {};
	struct fl_lpm_key key = { .prefixlen = 32 };
	__u32 *id;

	if (bench_parse(skb, &p) != 0)
		return BENCH_TCX_DROP;
	__builtin_memcpy(key.addr, p.src, 4);
	id = bpf_map_lookup_elem(&fl_lpm, &key);
	return id && *id ? BENCH_TCX_NEXT : BENCH_TCX_DROP;
}

SEC("tcx/ingress")
int fl_array_lookup(struct __sk_buff *skb)
{
	struct bench_pkt p = {};
	__u32 zero = 0;
	__u64 *count;

	if (bench_parse(skb, &p) != 0)
		return BENCH_TCX_DROP;
	count = bpf_map_lookup_elem(&fl_array, &zero);
	if (!count)
		return BENCH_TCX_DROP;
	*count += 1;
	return BENCH_TCX_NEXT;
}
