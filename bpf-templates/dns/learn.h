/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* dns/learn.h — learning: the collected records of a solicited answer upserted into the
 * node-wide pc_dns_learned map (and pc_dns_names), before the answer is delivered. */
#ifndef POLICYC_DNS_LEARN_H
#define POLICYC_DNS_LEARN_H

#include "maps.h"

/* Whether an answer's address may be learned: never an address no toFQDNs rule should ever
 * open — this network (0/8), loopback (127/8), link-local (169.254/16, the cloud metadata
 * service 169.254.169.254 included), multicast and reserved (224/4, 240/4, broadcast); IPv6
 * unspecified/loopback (::/127 and the rest of ::/120), IPv4-mapped (::ffff:0:0/96), link-local
 * (fe80::/10) and multicast (ff00::/8). A pod whose resolver answers what it likes cannot
 * make the node-wide map open those. */
static __always_inline int learnable(const struct pc_dns_record *r)
{
	const __u8 *a = r->addr;
	__u64 hi;
	__u32 mid;

	if (r->family == POLICYC_FAMILY_IPV4)
		return a[0] != 0 && a[0] != 127 && a[0] < 224 && !(a[0] == 169 && a[1] == 254);
	__builtin_memcpy(&hi, a, 8);
	__builtin_memcpy(&mid, a + 8, 4);
	if (hi == 0 && (mid == 0 || mid == bpf_htonl(0x0000ffff)))
		return 0; /* ::/96 (unspecified, loopback, IPv4-compatible) and ::ffff:0:0/96 */
	if (a[0] == 0xff)
		return 0;
	return !(a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
}

static long learn_step(__u64 i, void *ctx)
{
	struct pc_dns_pending *pending = ctx;
	__u32 zero = 0;
	struct dns_scratch *s = bpf_map_lookup_elem(&pc_dns_scratch, &zero);
	struct pc_dns_config *config = bpf_map_lookup_elem(&pc_dns_config, &zero);
	if (!s || !config || i >= s->record_count)
		return 1;
	struct pc_dns_record *r = &s->records[i & (PC_DNS_MAX_RECORDS - 1)];
	if (!learnable(r))
		return 0;
	struct pc_dns_addr key = {};
	key.family = r->family;
	__builtin_memcpy(key.addr, r->addr, 16);
	/* The answer's TTL capped at PC_DNS_MAX_TTL_S (an answer cannot open an address for
	 * years), then raised to the configured minimum. */
	__u64 ttl = r->ttl < PC_DNS_MAX_TTL_S ? r->ttl : PC_DNS_MAX_TTL_S;
	ttl = ttl > config->min_ttl_s ? ttl : config->min_ttl_s;
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
