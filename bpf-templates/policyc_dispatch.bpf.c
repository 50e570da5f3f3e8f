// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* policyc_dispatch.bpf.c — the per-endpoint dispatcher: the program policy-loader attaches to an
 * endpoint's hooks once and never replaces. It reads the endpoint's active generation (ONE u32
 * shared by both directions) and tail-calls the datapath program of that generation in its
 * direction's program array, slot (generation & 1). Flipping the generation word is therefore
 * a single map update that switches both directions at once.
 *
 *   pc_disp_egress_tcx   SEC("tcx/ingress")        tail-calls into pc_prog_egress
 *   pc_disp_ingress_tcx  SEC("tcx/egress")         tail-calls into pc_prog_ingress
 *   pc_disp_egress_cg    SEC("cgroup_skb/egress")  tail-calls into pc_prog_egress
 *   pc_disp_ingress_cg   SEC("cgroup_skb/ingress") tail-calls into pc_prog_ingress
 *
 * One program array per direction: the kernel (6.17+) only admits into a program array programs
 * whose expected_attach_type equals that of the program that first used the array, and the two
 * directions have different attach types. A tail call keeps ctx, so the datapath programs run
 * unchanged. An empty slot or a failed tail call DROPS (fail closed), never passes.
 *
 * The DNS stage (tcx endpoints): a second instance of THIS object is loaded per endpoint with
 * pc_active_gen reused from the endpoint's pin (so the same word selects the slot) and only
 * the DNS programs below autoloaded; its dispatchers are attached right AFTER the main ones:
 *
 *   pc_dns_disp_egress_tcx   SEC("tcx/ingress")  tail-calls into pc_dns_prog_egress (questions)
 *   pc_dns_disp_ingress_tcx  SEC("tcx/egress")   tail-calls into pc_dns_prog_ingress (answers)
 *   pc_dns_pass_egress_tcx / pc_dns_pass_ingress_tcx: TCX_NEXT, written into the DNS slot of a
 *   generation without rules.dns (the main datapath passes with TCX_NEXT too, so the chain
 *   main dispatcher -> DNS dispatcher -> delivery holds).
 *
 * Every generation fills its DNS slots (DNS program or pass-through) before the flip, so the
 * DNS dispatcher meets an empty slot only if bpffs state was tampered with; it then drops
 * like the main dispatcher (fail closed: a question must never pass unjudged).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "policyc_packet.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* [0] = the endpoint's active generation; its low bit selects the slot. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} pc_active_gen SEC(".maps");

/* Endpoint-ingress datapath programs, slot = generation & 1. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} pc_prog_ingress SEC(".maps");

/* Endpoint-egress datapath programs, slot = generation & 1. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} pc_prog_egress SEC(".maps");

/* DNS stage programs by slot (endpoint ingress: answers). */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} pc_dns_prog_ingress SEC(".maps");

/* DNS stage programs by slot (endpoint egress: questions). */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} pc_dns_prog_egress SEC(".maps");

static __always_inline __u32 active_slot(void)
{
	__u32 zero = 0;
	__u32 *generation = bpf_map_lookup_elem(&pc_active_gen, &zero);

	/* One load: both directions of one packet's hook see one value. */
	return generation ? (*generation & 1) : 0;
}

SEC("tcx/ingress")
int pc_disp_egress_tcx(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &pc_prog_egress, active_slot());
	return PC_TCX_DROP;
}

SEC("tcx/egress")
int pc_disp_ingress_tcx(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &pc_prog_ingress, active_slot());
	return PC_TCX_DROP;
}

SEC("cgroup_skb/egress")
int pc_disp_egress_cg(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &pc_prog_egress, active_slot());
	return PC_CGROUP_DROP;
}

SEC("cgroup_skb/ingress")
int pc_disp_ingress_cg(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &pc_prog_ingress, active_slot());
	return PC_CGROUP_DROP;
}

SEC("tcx/ingress")
int pc_dns_disp_egress_tcx(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &pc_dns_prog_egress, active_slot());
	return PC_TCX_DROP;
}

SEC("tcx/egress")
int pc_dns_disp_ingress_tcx(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &pc_dns_prog_ingress, active_slot());
	return PC_TCX_DROP;
}

SEC("tcx/ingress")
int pc_dns_pass_egress_tcx(struct __sk_buff *skb)
{
	return PC_TCX_NEXT;
}

SEC("tcx/egress")
int pc_dns_pass_ingress_tcx(struct __sk_buff *skb)
{
	return PC_TCX_NEXT;
}
