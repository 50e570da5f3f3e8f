/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* dns/answers.h — the answer-record walk: owner names (with compression pointers that must
 * point strictly backwards), then A/AAAA records collected into the scratch buffer. */
#ifndef POLICYC_DNS_ANSWERS_H
#define POLICYC_DNS_ANSWERS_H

#include "maps.h"

#define PC_DNS_MAX_ANSWERS 64 /* answer records walked per message */
#define PC_DNS_RR_STEPS 4096  /* bpf_loop budget of the answer walk (labels + records) */

enum rr_phase { RR_NAME, RR_FIXED };

struct rr_walk {
	struct __sk_buff *skb;
	__u32 off;        /* current read offset (skb) */
	__u32 resume;     /* offset after the first pointer of the current owner name */
	__u32 seg_start;  /* start of the name segment being read (a pointer must target below) */
	__u32 max_idx;    /* labels reached through a pointer must lie below this offset */
	__u32 name_len;   /* wire length of the current owner name so far */
	__u32 dns_off;
	__u32 limit;
	__u32 remaining;  /* answer records still to read */
	__u8 phase;
	__u8 followed;    /* a pointer of the current name was followed */
	__u8 bad;
	__u8 done;
};

static long rr_step(__u64 i, void *ctx)
{
	struct rr_walk *w = ctx;
	if (w->remaining == 0) {
		w->done = 1;
		return 1;
	}
	if (w->phase == RR_NAME) {
		__u8 byte;
		if (w->off >= w->max_idx || w->off >= w->limit ||
		    bpf_skb_load_bytes(w->skb, w->off, &byte, 1) < 0) {
			w->bad = 1;
			return 1;
		}
		__u8 kind = byte & 0xc0;
		if (kind == 0xc0) {
			__u8 low;
			if (w->off + 1 >= w->limit ||
			    bpf_skb_load_bytes(w->skb, w->off + 1, &low, 1) < 0) {
				w->bad = 1;
				return 1;
			}
			__u32 target = w->dns_off + ((((__u32)byte & 0x3f) << 8) | low);
			/* Strictly before the start of the segment holding the pointer, and the
			 * labels found there must end before that start: targets strictly decrease,
			 * so there are no loops (the same rule as hickory-proto). */
			if (target >= w->seg_start) {
				w->bad = 1;
				return 1;
			}
			if (!w->followed)
				w->resume = w->off + 2;
			w->followed = 1;
			w->max_idx = w->seg_start;
			w->seg_start = target;
			w->off = target;
			return 0;
		}
		if (kind != 0) {
			w->bad = 1;
			return 1;
		}
		w->name_len += 1 + byte;
		if (w->name_len > 255) {
			w->bad = 1;
			return 1;
		}
		if (byte == 0) {
			w->off = w->followed ? w->resume : w->off + 1;
			w->phase = RR_FIXED;
			return 0;
		}
		w->off += 1 + byte;
		return 0;
	}
	/* type(2) class(2) ttl(4) rdlength(2) rdata */
	__u8 fixed[10];
	if (w->off + 10 > w->limit || bpf_skb_load_bytes(w->skb, w->off, fixed, 10) < 0) {
		w->bad = 1;
		return 1;
	}
	__u16 type = ((__u16)fixed[0] << 8) | fixed[1];
	__u16 class = ((__u16)fixed[2] << 8) | fixed[3];
	__u32 ttl = ((__u32)fixed[4] << 24) | ((__u32)fixed[5] << 16) | ((__u32)fixed[6] << 8) |
		    fixed[7];
	__u16 rdlen = ((__u16)fixed[8] << 8) | fixed[9];
	__u32 rdata = w->off + 10;
	if (rdata + rdlen > w->limit) {
		w->bad = 1;
		return 1;
	}
	if (class == 1 && (type == 1 || type == 28)) {
		__u32 want = type == 1 ? 4 : 16;
		if (rdlen != want) {
			w->bad = 1;
			return 1;
		}
		__u32 zero = 0;
		struct dns_scratch *s = bpf_map_lookup_elem(&pc_dns_scratch, &zero);
		if (!s) {
			w->bad = 1;
			return 1;
		}
		__u32 n = s->record_count;
		if (n < PC_DNS_MAX_RECORDS) {
			struct pc_dns_record *r = &s->records[n & (PC_DNS_MAX_RECORDS - 1)];
			__builtin_memset(r, 0, sizeof(*r));
			r->family = type == 1 ? POLICYC_FAMILY_IPV4 : POLICYC_FAMILY_IPV6;
			r->ttl = ttl;
			int rc = type == 1 ? bpf_skb_load_bytes(w->skb, rdata, r->addr, 4)
					   : bpf_skb_load_bytes(w->skb, rdata, r->addr, 16);
			if (rc < 0) {
				w->bad = 1;
				return 1;
			}
			s->record_count = n + 1;
		}
	}
	w->off = rdata + rdlen;
	w->remaining -= 1;
	w->phase = RR_NAME;
	w->followed = 0;
	w->name_len = 0;
	w->seg_start = w->off;
	w->max_idx = w->limit;
	if (w->remaining == 0) {
		w->done = 1;
		return 1;
	}
	return 0;
}

#endif /* POLICYC_DNS_ANSWERS_H */
