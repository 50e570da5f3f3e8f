/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* dns_layout.h — map keys/values, records and constants of policyc_dns.bpf.c shared with user
 * space, mirrored byte for byte by policyc-backends (backends/src/dns_layout.rs) and checked
 * against the object's BTF by runtime-loader/tests/layout_btf.rs. Bounds only the program uses
 * live with its stages (dns/). */
#ifndef POLICYC_DNS_LAYOUT_H
#define POLICYC_DNS_LAYOUT_H

#include <linux/types.h>

/* struct policyc_event, which struct pc_dns_event extends. */
#include "policyc_layout.h"

/* struct pc_dns_addr, struct pc_dns_learned and the pc_dns_learned map: shared with the
 * L3/L4 datapath. */
#include "fqdn_learned.h"

/* The numeric constants shared with user space, as enumerators so that the object's BTF
 * carries them (struct pc_dns_btf_anchor). */
enum pc_dns_constant {
	PC_DNS_NAME_MAX = 256,            /* dotted name buffer; names are <= 255 octets */
	PC_DNS_MAX_CLASSES = 64,          /* byte classes of the DFA (power of two) */
	PC_DNS_REFUSED_MARK = 0x70c0dd5,  /* skb->mark of REFUSED answers sent with bpf_redirect */
	PC_DNS_NAMES_MAX_ENTRIES = 16384, /* pc_dns_names: learned address -> the name that taught it */
	PC_DNS_MAX_TTL_S = 86400,         /* learned lifetimes are capped at one day (min_ttl_s too) */
	/* Per-endpoint learning quota (dns/learn.h): the addresses an endpoint keeps alive in the
	 * node-wide learned map are counted per expiry window of PC_DNS_QUOTA_WINDOW_S seconds in
	 * PC_DNS_QUOTA_BUCKETS buckets (power of two; they span more than PC_DNS_MAX_TTL_S, so
	 * two live windows never share a bucket). */
	PC_DNS_QUOTA_BUCKETS = 64,
	PC_DNS_QUOTA_WINDOW_S = 1440,
	PC_DNS_OWNERS_MAX_ENTRIES = 4096, /* pc_dns_owned: endpoints (owners) per node, plus key 0 */
	PC_DNS_RECLAIM_INTERVAL_MS = 1000, /* a full learned map is scanned for expired entries at most this often */
	PC_DNS_NAME_IPS_MAX_ENTRIES = 16384, /* pc_dns_name_ips: question names tracked per endpoint (LRU) */
};

/* Per-CPU counters (pc_dns_counters index). */
enum pc_dns_counter {
	PC_DNS_REFUSED = 0,
	PC_DNS_LEARNED = 1,
	PC_DNS_UNSOLICITED = 2,
	PC_DNS_UNPARSEABLE = 3,
	PC_DNS_ALLOWED = 4,
	PC_DNS_MALFORMED_QUERY = 5,
	PC_DNS_TCP_UNJUDGEABLE = 6, /* TCP/53 question not in one segment, or a bad length prefix: dropped */
	PC_DNS_FRAGMENTED = 7,      /* fragmented UDP/53 question or answer (first fragment): dropped */
	PC_DNS_DOT = 8,             /* DNS over TLS (port 853) from the endpoint: dropped */
	PC_DNS_TCP_REFUSED = 9,     /* denied TCP/53 question answered REFUSED in-stream */
	PC_DNS_LEARNED_NEW = 10,    /* learned addresses that were not in the map yet */
	PC_DNS_LEARN_QUOTA = 11,    /* addresses not learned: the endpoint's live entries are at its quota */
	PC_DNS_LEARN_FULL = 12,     /* addresses not learned: the learned map is full of live entries */
	PC_DNS_RECLAIMED = 13,      /* expired learned entries deleted by the program (map full) */
	PC_DNS_NAME_CAP = 14,       /* addresses not learned: their name opened name_ip_max live ones */
	PC_DNS_COUNTER_COUNT = 15,
};

struct pc_dns_config {
	__u32 start_state;   /* anchored start state of the DFA */
	__u32 min_ttl_s;     /* learned entries live max(TTL, min_ttl_s) seconds (at most a day) */
	__u32 redirect_peer; /* 1: bpf_redirect_peer; 0: bpf_redirect + PC_DNS_REFUSED_MARK */
	__u32 learn_quota;   /* live learned entries this endpoint may own (0: learns nothing) */
	__u64 allow_mask;    /* a question is allowed iff its selector bitmap & allow_mask != 0 */
	__u32 owner;         /* the endpoint's owner key in pc_dns_owned (its ifindex; never 0) */
	__u32 name_ip_max;   /* addresses one question name may open (Cilium's
			      * --tofqdns-endpoint-max-ip-per-hostname; 0: none) */
};

/* pc_dns_name_ips value (per endpoint, key: FNV-1a 64 of the question name): how many
 * addresses answers for that name opened for the endpoint, until when the last of them lives. */
struct pc_dns_name_ips {
	__u64 until_ns;
	__u32 count;
	__u32 pad;
};

/* pc_dns_owned value (node-wide, key: owner): the endpoint's live learned entries, counted by
 * the expiry window they end in (bucket = window % PC_DNS_QUOTA_BUCKETS, tagged with the
 * window). Key 0 is the node's: reclaim_ns is when a full learned map was last scanned. */
struct pc_dns_owned {
	__u64 reclaim_ns;
	__u32 count[PC_DNS_QUOTA_BUCKETS];
	__u32 window[PC_DNS_QUOTA_BUCKETS];
};

struct pc_dns_classes {
	__u8 class_of[256];
};

/* One DFA state: next state per byte class; `accept` is the selector bitmap of the patterns
 * that match when the name ends in this state. State 0 is dead. */
struct pc_dns_row {
	__u64 accept;
	__u16 next[PC_DNS_MAX_CLASSES];
};

/* Exact-set key: the lower-cased dotted name with its trailing dot, zero padded. */
struct pc_dns_name {
	__u8 bytes[PC_DNS_NAME_MAX];
};

/* A record of the DNS object on the endpoint's event ring: the datapath's struct
 * policyc_event, then the question name as in struct pc_dns_name (all zero when the name was
 * never read: an unjudgeable message). Longer than the datapath's records, which is how a
 * reader tells the two apart. */
struct pc_dns_event {
	struct policyc_event event;
	struct pc_dns_name qname;
};

struct pc_dns_pending_key {
	__u8 endpoint[16]; /* IPv4 in the first 4 bytes */
	__u8 family;       /* 4 or 6 */
	__u8 pad;
	__u16 port;        /* endpoint's source port, host order */
	__u16 id;          /* DNS id, host order */
	__u16 pad2;
};

struct pc_dns_pending {
	__u64 selectors;
	__u64 name_hash;   /* FNV-1a 64 of the dotted lower-cased name */
	__u8 server[16];
};

/* Referenced from .rodata (dns/events.h) so that the event record (only ever reached through
 * a ring-buffer pointer) and the enums above are in the object's BTF. */
struct pc_dns_btf_anchor {
	struct pc_dns_event event;
	enum pc_dns_constant constant;
	enum pc_dns_counter counter;
};

#endif
