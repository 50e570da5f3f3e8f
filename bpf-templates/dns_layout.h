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
	PC_DNS_MAX_TTL_S = 86400,         /* learned TTLs are capped at one day (before min_ttl_s) */
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
	PC_DNS_COUNTER_COUNT = 11,
};

struct pc_dns_config {
	__u32 start_state;   /* anchored start state of the DFA */
	__u32 min_ttl_s;     /* learned entries live max(TTL, min_ttl_s) seconds */
	__u32 redirect_peer; /* 1: bpf_redirect_peer; 0: bpf_redirect + PC_DNS_REFUSED_MARK */
	__u32 pad;
};

struct pc_dns_classes {
	__u8 class_of[256];
};

/* What a name matches: `accept`, the toFQDNs selector classes (bits of the learned map);
 * `sets`, the endpoint's DNS rule sets whose rules.dns allow it (bit s-1 for set s, the
 * l7_set the main datapath hands over in skb->cb, policyc_layout.h). The pc_dns_exact value. */
struct pc_dns_match {
	__u64 accept;
	__u64 sets;
};

/* One DFA state: next state per byte class; `accept`/`sets` as in struct pc_dns_match for a
 * name that ends in this state. State 0 is dead. */
struct pc_dns_row {
	__u64 accept;
	__u64 sets;
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
