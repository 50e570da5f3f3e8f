/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* dns/name.h — the question name walk: lower-cased dotted name into the scratch buffer, its
 * FNV-1a hash and the DFA state, one bpf_loop step per wire byte. */
#ifndef POLICYC_DNS_NAME_H
#define POLICYC_DNS_NAME_H

#include "maps.h"

struct name_walk {
	struct __sk_buff *skb;
	__u32 base;     /* offset of the name's first length byte in the skb */
	__u32 limit;    /* first offset past the DNS message */
	__u32 next_len; /* wire index of the next length byte */
	__u32 state;    /* DFA state */
	__u64 hash;     /* FNV-1a 64 over the dotted name */
	__u32 wire_len; /* wire length including the final zero, once done */
	__u8 done;
	__u8 bad;       /* malformed name */
	__u8 unmatchable; /* a '.' inside a label: well-formed but matches nothing */
	__u8 use_dfa;
};

/* `at` is the dotted position: wire index - 1, or 0 for the root. It is derived from the
 * bpf_loop index rather than counted in the context, so the verifier sees no exact counter
 * and the callback's states converge after a few iterations. */
static __always_inline void feed(struct name_walk *w, struct dns_scratch *s, __u32 at, __u8 byte)
{
	s->name.bytes[at & (PC_DNS_NAME_MAX - 1)] = byte;
	w->hash = (w->hash ^ byte) * 0x100000001b3ULL;
	if (!w->use_dfa)
		return;
	__u32 zero = 0;
	struct pc_dns_classes *classes = bpf_map_lookup_elem(&pc_dns_classes, &zero);
	__u32 state = w->state;
	struct pc_dns_row *row = bpf_map_lookup_elem(&pc_dns_dfa, &state);
	if (!classes || !row) {
		w->state = 0;
		return;
	}
	__u8 cls = classes->class_of[byte] & (PC_DNS_MAX_CLASSES - 1);
	w->state = row->next[cls];
}

static long name_step(__u64 i, void *ctx)
{
	struct name_walk *w = ctx;
	__u32 zero = 0;
	struct dns_scratch *s = bpf_map_lookup_elem(&pc_dns_scratch, &zero);
	if (!s) {
		w->bad = 1;
		return 1;
	}
	__u32 at = (__u32)i;
	if (w->base + at >= w->limit) {
		w->bad = 1; /* truncated */
		return 1;
	}
	__u8 byte;
	if (bpf_skb_load_bytes(w->skb, w->base + at, &byte, 1) < 0) {
		w->bad = 1;
		return 1;
	}
	if (at == w->next_len) {
		if (byte & 0xc0) { /* pointer or reserved label type: not allowed in a question */
			w->bad = 1;
			return 1;
		}
		if (byte == 0) {
			feed(w, s, at ? at - 1 : 0, '.'); /* closes the last label, or is the root "." */
			w->wire_len = at + 1;
			w->done = 1;
			return 1;
		}
		if (at != 0)
			feed(w, s, at - 1, '.');
		w->next_len = at + 1 + byte;
		if (w->next_len >= PC_DNS_NAME_MAX - 1) { /* wire name longer than 255 octets */
			w->bad = 1;
			return 1;
		}
		return 0;
	}
	if (byte >= 'A' && byte <= 'Z')
		byte += 'a' - 'A';
	if (byte == '.')
		w->unmatchable = 1;
	feed(w, s, at - 1, byte); /* at > 0: position 0 is always a length byte */
	return 0;
}

/* Walks the name at `base`; on success the dotted name is in the scratch buffer. */
static __always_inline int walk_name(struct __sk_buff *skb, struct name_walk *w, __u32 base,
				     __u32 limit, __u32 start_state, int use_dfa)
{
	__u32 zero = 0;
	struct dns_scratch *s = bpf_map_lookup_elem(&pc_dns_scratch, &zero);
	if (!s)
		return -1;
	__builtin_memset(&s->name, 0, sizeof(s->name));
	__builtin_memset(w, 0, sizeof(*w));
	w->skb = skb;
	w->base = base;
	w->limit = limit;
	w->state = start_state;
	w->hash = 0xcbf29ce484222325ULL;
	w->use_dfa = use_dfa;
	bpf_loop(PC_DNS_NAME_MAX, name_step, w, 0);
	if (w->bad || !w->done)
		return -1;
	return 0;
}

#endif /* POLICYC_DNS_NAME_H */
