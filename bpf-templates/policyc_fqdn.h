/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* policyc_fqdn.h — toFQDNs in the L3/L4 datapath (included by policyc_datapath.bpf.c after
 * policy_lookup; uses its struct flow, struct decision and policyc_config).
 *
 * A NEW egress flow whose peer is outside the cluster (world or a node-local CIDR identity)
 * and whose own verdict is neither an allow nor an explicit deny consults the node-wide
 * learned map (fqdn_learned.h) for its destination. An unexpired entry's selector bitmap,
 * restricted to this endpoint's policyc_config.fqdn_mask, names FQDN classes; each class b is
 * judged as the pseudo-identity POLICYC_IDENTITY_FQDN_SCOPE | b through the ordinary
 * policy_lookup (its tables hold the rules whose toFQDNs include selector b). Combination:
 * a deny of the peer's own identity wins (FQDN never denies); else any allow (the first
 * class's deciding rule is kept for events and counters); else a redirect-l7; else the peer's
 * own verdict. Established flows keep passing through conntrack after the entry expires (and
 * when a new generation judges them again, while the expired entry is still in the map).
 * Verifier cost does not depend on the number of classes or rules: one bpf_loop callback.
 */
#ifndef POLICYC_FQDN_H
#define POLICYC_FQDN_H

#include "fqdn_learned.h"

/* Addresses outside the cluster: the world identities and node-local CIDR identities. */
static __always_inline int fqdn_outside_cluster(__u32 identity)
{
	return identity == POLICYC_IDENTITY_WORLD || identity == POLICYC_IDENTITY_WORLD_IPV4 ||
	       identity == POLICYC_IDENTITY_WORLD_IPV6 ||
	       identity == policyc_config.world_identity_ipv4 ||
	       identity == policyc_config.world_identity_ipv6 ||
	       (identity & POLICYC_IDENTITY_SCOPE_MASK) == POLICYC_IDENTITY_LOCAL_CIDR_SCOPE;
}

/* How strongly a verdict allows: ALLOW > REDIRECT_L7 > AUTH_REQUIRED > anything else (0). */
static __always_inline int fqdn_allow_rank(__u8 verdict)
{
	switch (verdict) {
	case POLICYC_VERDICT_ALLOW:
		return 3;
	case POLICYC_VERDICT_REDIRECT_L7:
		return 2;
	case POLICYC_VERDICT_AUTH_REQUIRED:
		return 1;
	default:
		return 0;
	}
}

/* The walk's result lives in a per-CPU scratch map, not on the stack: the callback's paths
 * then leave the caller with one state instead of one per (verdict, rule) they can produce,
 * and the code after the walk is verified once per state that reaches it. */
struct fqdn_best {
	__u32 rule_id; /* deciding rule of the best verdict */
	__u8 verdict;  /* best allowing verdict so far, starting from the peer's own */
	__u8 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct fqdn_best);
	__uint(max_entries, 1);
} pc_fqdn_best SEC(".maps");

struct fqdn_walk {
	const struct flow *f;
	__u64 bits; /* learned selectors & fqdn_mask */
	__u8 dir;
	__u8 pad[7];
};

static long fqdn_class_step(__u64 i, void *ctx)
{
	struct fqdn_walk *w = ctx;
	struct decision d = {};
	struct fqdn_best *best;
	__u32 zero = 0;

	if (i >= POLICYC_FQDN_CLASSES)
		return 1;
	if (!(w->bits & (1ULL << i)))
		return 0;
	best = bpf_map_lookup_elem(&pc_fqdn_best, &zero);
	if (!best)
		return 1;
	d.identity = POLICYC_IDENTITY_FQDN_SCOPE | (__u32)i;
	policy_lookup(w->f, w->dir, &d);
	if (fqdn_allow_rank(d.verdict) > fqdn_allow_rank(best->verdict)) {
		best->verdict = d.verdict;
		best->rule_id = d.rule_id;
	}
	return best->verdict == POLICYC_VERDICT_ALLOW;
}

/* Called right after policy_lookup of the peer's own identity (d->identity). */
static __always_inline void fqdn_combine(const struct flow *f, __u8 dir, struct decision *d)
{
	struct pc_dns_addr key = {};
	struct pc_dns_learned *learned;
	struct fqdn_walk w = {};
	struct fqdn_best *best;
	__u32 zero = 0;
	__u64 bits;

	if (dir != POLICYC_DIR_EGRESS || !policyc_config.fqdn_mask)
		return;
	if (d->verdict == POLICYC_VERDICT_ALLOW || d->verdict == POLICYC_VERDICT_DENY ||
	    d->reason == POLICYC_REASON_TABLE_CORRUPT)
		return;
	if (!fqdn_outside_cluster(d->identity))
		return;
	key.family = f->family;
	copy16(key.addr, f->dst);
	learned = bpf_map_lookup_elem(&pc_dns_learned, &key);
	/* A tracked flow judged again (d->revalidate) keeps its learned address while the entry
	 * is still in the map, expired or not — as Cilium keeps the IPs of live connections
	 * ("zombies", pkg/fqdn/dnscache) — so a policy change does not cut it. */
	if (!learned || (learned->expiry_ns <= bpf_ktime_get_ns() && !d->revalidate))
		return;
	bits = learned->selectors & policyc_config.fqdn_mask;
	if (!bits)
		return;
	best = bpf_map_lookup_elem(&pc_fqdn_best, &zero);
	if (!best)
		return;
	/* The peer's own verdict is the one to beat (an FQDN class only adds allows). */
	best->verdict = d->verdict;
	best->rule_id = d->rule_id;
	w.f = f;
	w.dir = dir;
	w.bits = bits;
	bpf_loop(POLICYC_FQDN_CLASSES, fqdn_class_step, &w, 0);
	best = bpf_map_lookup_elem(&pc_fqdn_best, &zero);
	if (!best)
		return;
	if (best->rule_id != d->rule_id || best->verdict != d->verdict)
		d->reason = POLICYC_REASON_POLICY;
	d->verdict = best->verdict;
	d->rule_id = best->rule_id;
}

#endif /* POLICYC_FQDN_H */
