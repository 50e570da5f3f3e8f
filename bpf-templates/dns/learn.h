/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* dns/learn.h — learning: the collected records of a solicited answer upserted into the
 * node-wide pc_dns_learned map (and pc_dns_names), before the answer is delivered. */
#ifndef POLICYC_DNS_LEARN_H
#define POLICYC_DNS_LEARN_H

#include "maps.h"

static long learn_step(__u64 i, void *ctx)
{
	struct pc_dns_pending *pending = ctx;
	__u32 zero = 0;
	struct dns_scratch *s = bpf_map_lookup_elem(&pc_dns_scratch, &zero);
	struct pc_dns_config *config = bpf_map_lookup_elem(&pc_dns_config, &zero);
	if (!s || !config || i >= s->record_count)
		return 1;
	struct pc_dns_record *r = &s->records[i & (PC_DNS_MAX_RECORDS - 1)];
	struct pc_dns_addr key = {};
	key.family = r->family;
	__builtin_memcpy(key.addr, r->addr, 16);
	__u64 ttl = r->ttl > config->min_ttl_s ? r->ttl : config->min_ttl_s;
	__u64 expiry = bpf_ktime_get_ns() + ttl * 1000000000ULL;
	struct pc_dns_learned *known = bpf_map_lookup_elem(&pc_dns_learned, &key);
	if (known) {
		__sync_fetch_and_or(&known->selectors, pending->selectors);
		if (known->expiry_ns < expiry)
			known->expiry_ns = expiry;
	} else {
		/* BPF_NOEXIST: learned_new counts the entries this program really inserted (another
		 * CPU may insert the same address in between), so the loader can derive the LRU's
		 * evictions exactly: learned_new - swept - live entries. */
		struct pc_dns_learned fresh = { .expiry_ns = expiry, .selectors = pending->selectors };
		if (bpf_map_update_elem(&pc_dns_learned, &key, &fresh, BPF_NOEXIST) == 0) {
			count(PC_DNS_LEARNED_NEW);
		} else {
			known = bpf_map_lookup_elem(&pc_dns_learned, &key);
			if (known) {
				__sync_fetch_and_or(&known->selectors, pending->selectors);
				if (known->expiry_ns < expiry)
					known->expiry_ns = expiry;
			}
		}
	}
	/* The answer's question name is still in the scratch (the record walk never writes it). */
	bpf_map_update_elem(&pc_dns_names, &key, &s->name, BPF_ANY);
	count(PC_DNS_LEARNED);
	return 0;
}

#endif /* POLICYC_DNS_LEARN_H */
