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

/* ---- the per-endpoint learning quota ------------------------------------------------------
 * The learned map is node-wide and a plain hash (fqdn_learned.h): nothing is ever evicted, so
 * one endpoint flooding it can take room but never push out another endpoint's addresses. How
 * much room: each entry's lifetime is charged to one endpoint, its owner (who inserted it, or
 * extended it last), and an endpoint may own at most config->learn_quota live entries (the
 * loader sizes it from the map's capacity). An address new to the map, or whose entry expired,
 * counts against the asking endpoint; a live entry gains the endpoint's selector bits free of
 * charge (no new room), and its lifetime is extended only by an endpoint within its quota,
 * which then owns it. Live entries are counted per expiry window (struct pc_dns_owned), so
 * expiry frees quota without any sweeper: an entry is counted until the end of the window
 * its expiry falls in (at most PC_DNS_QUOTA_WINDOW_S too long, never too short), or until the
 * program itself replaces or deletes it (its charge is then released at once). */

/* ---- the per-name address cap -------------------------------------------------------------
 * Like Cilium's --tofqdns-endpoint-max-ip-per-hostname (pkg/fqdn/cache.go, DNSCache
 * updateWithEntry / cleanupOverLimitEntries: per endpoint, at most perHostLimit IPs per name;
 * default ToFQDNsMaxIPsPerHost = 1000 in pkg/defaults/defaults.go): answers for one question
 * name open at most config->name_ip_max addresses for the endpoint. An address counts when the
 * answer opens something — the address is new, expired, or lacks the question's bits — not
 * when a live entry already carries them (a repeated answer). The count ends when the last
 * address it counted expires. Where Cilium keeps the newest addresses and forgets the oldest,
 * this refuses the newest (counted name_cap): the kernel cannot find a name's oldest entries. */
static __always_inline int name_cap_reached(__u64 name_hash, __u64 now, __u32 max)
{
	struct pc_dns_name_ips *n = bpf_map_lookup_elem(&pc_dns_name_ips, &name_hash);
	return n && n->until_ns > now && n->count >= max;
}

static __always_inline void name_cap_count(__u64 name_hash, __u64 now, __u64 expiry)
{
	struct pc_dns_name_ips *n = bpf_map_lookup_elem(&pc_dns_name_ips, &name_hash);
	if (!n) {
		struct pc_dns_name_ips fresh = { .until_ns = expiry, .count = 1 };
		bpf_map_update_elem(&pc_dns_name_ips, &name_hash, &fresh, BPF_ANY);
		return;
	}
	if (n->until_ns <= now)
		n->count = 0;
	n->count += 1;
	if (n->until_ns < expiry)
		n->until_ns = expiry;
}

/* State of one answer's learning loop (bpf_loop context). */
struct learn_ctx {
	__u64 selectors; /* the question's selector bits (this endpoint's own classes only) */
	__u64 name_hash; /* the question name (the per-name cap) */
	__u64 now_ns;
	__u32 owner;
	__u32 quota;
	/* Read-only in learn_step: a callback that wrote its caller's stack would give the
	 * verifier a new state per iteration (the count of full records is in the scratch). */
};

static __always_inline __u32 quota_window(__u64 ns)
{
	return (__u32)(ns / ((__u64)PC_DNS_QUOTA_WINDOW_S * 1000000000ULL));
}

static __always_inline struct pc_dns_owned *owned_of(__u32 owner)
{
	struct pc_dns_owned *o = bpf_map_lookup_elem(&pc_dns_owned, &owner);
	if (o)
		return o;
	__u32 zero = 0;
	struct dns_scratch *s = bpf_map_lookup_elem(&pc_dns_scratch, &zero);
	if (!s)
		return 0;
	__builtin_memset(&s->zero_owned, 0, sizeof(s->zero_owned));
	bpf_map_update_elem(&pc_dns_owned, &owner, &s->zero_owned, BPF_NOEXIST);
	return bpf_map_lookup_elem(&pc_dns_owned, &owner);
}

/* Live entries charged to o at window `now` (windows before it have ended). Branch-free, so
 * that the verifier walks the 64 buckets once, not once per combination. */
static __always_inline __u32 owned_live(const struct pc_dns_owned *o, __u32 now)
{
	__u32 live = 0;
	for (int b = 0; b < PC_DNS_QUOTA_BUCKETS; b++) {
		__s64 ahead = (__s64)o->window[b] - (__s64)now; /* >= 0: live */
		__u32 mask = (__u32)0 - (__u32)(1 - ((__u64)ahead >> 63)); /* all ones if live */
		live += o->count[b] & mask;
	}
	return live;
}

static __always_inline void owned_charge(struct pc_dns_owned *o, __u32 window)
{
	__u32 b = window & (PC_DNS_QUOTA_BUCKETS - 1);
	if (o->window[b] != window) {
		o->window[b] = window;
		o->count[b] = 0;
	}
	__sync_fetch_and_add(&o->count[b], 1);
}

static __always_inline void owned_release(__u32 owner, __u32 window)
{
	struct pc_dns_owned *o = bpf_map_lookup_elem(&pc_dns_owned, &owner);
	if (!o)
		return;
	__u32 b = window & (PC_DNS_QUOTA_BUCKETS - 1);
	if (o->window[b] == window && o->count[b] > 0)
		__sync_fetch_and_add(&o->count[b], (__u32)-1);
}

/* bpf_for_each_map_elem callback: deletes an expired learned entry. */
static long reclaim_step(void *map, struct pc_dns_addr *key, struct pc_dns_learned *value,
			 void *ctx)
{
	__u64 *now = ctx;
	if (value->expiry_ns <= *now) {
		__u32 owner = value->owner;
		__u32 window = quota_window(value->expiry_ns);
		if (bpf_map_delete_elem(map, key) == 0) {
			owned_release(owner, window);
			count(PC_DNS_RECLAIMED);
		}
	}
	return 0;
}

/* The learned map is full: delete its expired entries, at most once per
 * PC_DNS_RECLAIM_INTERVAL_MS node-wide (key 0 of pc_dns_owned), so that a full map of live
 * entries costs one scan per interval, not one per answer. Returns 1 if it scanned. */
static __always_inline int reclaim_expired(__u64 now)
{
	struct pc_dns_owned *node = owned_of(0);
	if (!node || now - node->reclaim_ns < (__u64)PC_DNS_RECLAIM_INTERVAL_MS * 1000000ULL)
		return 0;
	node->reclaim_ns = now;
	bpf_for_each_map_elem(&pc_dns_learned, reclaim_step, &now, 0);
	return 1;
}

static long learn_step(__u64 i, void *ctx)
{
	struct learn_ctx *l = ctx;
	__u32 zero = 0;
	struct dns_scratch *s = bpf_map_lookup_elem(&pc_dns_scratch, &zero);
	struct pc_dns_config *config = bpf_map_lookup_elem(&pc_dns_config, &zero);
	if (!s || !config || i >= s->record_count)
		return 1;
	struct pc_dns_record *r = &s->records[i & (PC_DNS_MAX_RECORDS - 1)];
	if (r->family == 0)
		return 0; /* done in an earlier pass */
	if (!learnable(r)) {
		r->family = 0;
		return 0;
	}
	struct pc_dns_addr key = {};
	key.family = r->family;
	__builtin_memcpy(key.addr, r->addr, 16);
	/* The answer's TTL, raised to the configured minimum, capped at PC_DNS_MAX_TTL_S: an
	 * answer cannot open an address for longer than a day. */
	__u64 ttl = r->ttl > config->min_ttl_s ? r->ttl : config->min_ttl_s;
	ttl = ttl < PC_DNS_MAX_TTL_S ? ttl : PC_DNS_MAX_TTL_S;
	__u64 expiry = l->now_ns + ttl * 1000000000ULL;
	__u32 window = quota_window(expiry);
	struct pc_dns_owned *mine = owned_of(l->owner);
	if (!mine)
		return 1;
	__u32 room = owned_live(mine, quota_window(l->now_ns)) < l->quota;
	struct pc_dns_learned *known = bpf_map_lookup_elem(&pc_dns_learned, &key);
	int opens = !known || known->expiry_ns <= l->now_ns ||
		    (known->selectors & l->selectors) != l->selectors;
	if (opens) {
		if (name_cap_reached(l->name_hash, l->now_ns, config->name_ip_max)) {
			count(PC_DNS_NAME_CAP);
			r->family = 0;
			return 0;
		}
	}
	if (known && known->expiry_ns > l->now_ns) {
		/* Live: this endpoint's bits join; the lifetime grows only within its quota. */
		__sync_fetch_and_or(&known->selectors, l->selectors);
		if (known->expiry_ns < expiry) {
			if (known->owner == l->owner || room) {
				owned_release(known->owner, quota_window(known->expiry_ns));
				owned_charge(mine, window);
				known->owner = l->owner;
				known->expiry_ns = expiry;
			} else {
				count(PC_DNS_LEARN_QUOTA);
			}
		}
	} else if (!room) {
		count(PC_DNS_LEARN_QUOTA);
		r->family = 0;
		return 0;
	} else if (known) {
		/* Expired: the entry starts again with this endpoint's bits only (the bits of
		 * whoever taught it before are not revived) and is charged to it. */
		__u32 old_owner = known->owner;
		__u32 old_window = quota_window(known->expiry_ns);
		struct pc_dns_learned fresh = { .expiry_ns = expiry,
						.selectors = l->selectors,
						.owner = l->owner };
		if (bpf_map_update_elem(&pc_dns_learned, &key, &fresh, BPF_EXIST) == 0) {
			owned_release(old_owner, old_window);
			owned_charge(mine, window);
		}
	} else {
		/* BPF_NOEXIST: learned_new counts the entries this program really inserted (another
		 * CPU may insert the same address in between), so the loader can account for every
		 * entry: learned_new = live + swept + reclaimed. */
		struct pc_dns_learned fresh = { .expiry_ns = expiry,
						.selectors = l->selectors,
						.owner = l->owner };
		long rc = bpf_map_update_elem(&pc_dns_learned, &key, &fresh, BPF_NOEXIST);
		if (rc == 0) {
			owned_charge(mine, window);
			count(PC_DNS_LEARNED_NEW);
		} else if (rc == -17 /* EEXIST */) {
			known = bpf_map_lookup_elem(&pc_dns_learned, &key);
			if (known)
				__sync_fetch_and_or(&known->selectors, l->selectors);
		} else {
			s->learn_full += 1; /* E2BIG: no room in the map; kept for a retry */
			return 0;
		}
	}
	r->family = 0;
	if (opens)
		name_cap_count(l->name_hash, l->now_ns, expiry);
	/* The answer's question name is still in the scratch (the record walk never writes it). */
	bpf_map_update_elem(&pc_dns_names, &key, &s->name, BPF_ANY);
	count(PC_DNS_LEARNED);
	return 0;
}

/* Learns the collected records of one solicited answer for this endpoint. */
static __always_inline void learn_records(const struct pc_dns_pending *pending,
					  const struct pc_dns_config *config)
{
	struct learn_ctx l = {};
	l.selectors = pending->selectors;
	l.name_hash = pending->name_hash;
	l.now_ns = bpf_ktime_get_ns();
	l.owner = config->owner;
	l.quota = config->learn_quota;
	__u32 zero = 0;
	struct dns_scratch *s = bpf_map_lookup_elem(&pc_dns_scratch, &zero);
	if (!s)
		return;
	s->learn_full = 0;
	bpf_loop(PC_DNS_MAX_RECORDS, learn_step, &l, 0);
	s = bpf_map_lookup_elem(&pc_dns_scratch, &zero);
	if (!s || !s->learn_full)
		return;
	if (reclaim_expired(l.now_ns)) {
		s->learn_full = 0;
		bpf_loop(PC_DNS_MAX_RECORDS, learn_step, &l, 0);
		s = bpf_map_lookup_elem(&pc_dns_scratch, &zero);
		if (!s)
			return;
	}
	count_n(PC_DNS_LEARN_FULL, s->learn_full);
}

#endif /* POLICYC_DNS_LEARN_H */
