/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* dns/maps.h — the DNS object's maps (policyc_dns.bpf.c; the node-wide pc_dns_learned is in
 * fqdn_learned.h, the endpoint's pc_events ring in policyc_layout.h), its per-CPU scratch and
 * the counter helper. */
#ifndef POLICYC_DNS_MAPS_H
#define POLICYC_DNS_MAPS_H

#include "dns_layout.h"

#define PC_DNS_MAX_STATES 4096 /* DFA rows (pc_dns_dfa as compiled; the loader sizes it) */
#define PC_DNS_MAX_RECORDS 64  /* A/AAAA records learned per message (power of two) */
#define PC_DNS_REPLY_MAX 512   /* UDP header + REFUSED message, for the checksum */

/* One A/AAAA record of an answer, collected before any is learned. */
struct pc_dns_record {
	__u8 family;
	__u8 pad[3];
	__u32 ttl;
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pc_dns_config);
} pc_dns_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pc_dns_classes);
} pc_dns_classes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PC_DNS_MAX_STATES);
	__type(key, __u32);
	__type(value, struct pc_dns_row);
} pc_dns_dfa SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct pc_dns_name);
	__type(value, __u64);
} pc_dns_exact SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct pc_dns_pending_key);
	__type(value, struct pc_dns_pending);
} pc_dns_pending SEC(".maps");

/* pc_dns_learned (node-wide learned addresses) is defined in fqdn_learned.h. */

/* Node-wide, pinned by the loader next to pc_dns_learned: learned address → the question name
 * whose answer taught it last (struct pc_dns_name), for `policy-loader dns dump` only — no
 * verdict reads it. A smaller LRU than the learned map: an address whose name it no longer
 * holds is shown without one. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PC_DNS_NAMES_MAX_ENTRIES);
	__type(key, struct pc_dns_addr);
	__type(value, struct pc_dns_name);
} pc_dns_names SEC(".maps");

/* Node-wide, pinned by the loader next to pc_dns_learned: each endpoint's live learned entries
 * (struct pc_dns_owned, key: the endpoint's owner key from pc_dns_config), for the learning
 * quota (dns/learn.h). A plain hash: an endpoint's accounting is never evicted. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PC_DNS_OWNERS_MAX_ENTRIES);
	__type(key, __u32);
	__type(value, struct pc_dns_owned);
} pc_dns_owned SEC(".maps");

/* Per endpoint (pinned with its pending and counter maps): addresses opened per question name,
 * for the per-name cap (dns/learn.h). An LRU: a name pushed out starts counting again, which
 * takes as many other names as the table holds, each within the endpoint's quota. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PC_DNS_NAME_IPS_MAX_ENTRIES);
	__type(key, __u64);
	__type(value, struct pc_dns_name_ips);
} pc_dns_name_ips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PC_DNS_COUNTER_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} pc_dns_counters SEC(".maps");

/* Per-CPU scratch: the dotted name (exact-set key), the reply bytes for checksums, and the
 * records collected from an answer before any of them is learned. */
struct dns_scratch {
	struct pc_dns_name name;
	__u8 reply[PC_DNS_REPLY_MAX];
	__u32 record_count;
	__u32 learn_full; /* records of the answer not learned because the learned map was full */
	struct pc_dns_record records[PC_DNS_MAX_RECORDS];
	struct pc_dns_owned zero_owned; /* all zero: the first value of a new owner */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dns_scratch);
} pc_dns_scratch SEC(".maps");

/* DNS over TCP, per connection of the endpoint (dns/tcp_stream.h): where the next new question
 * must start, and the last judged segment (start, length) a retransmission may repeat. */
struct dns_tcp_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u8 family;
	__u8 pad[3];
};

struct dns_tcp_stream {
	__u32 next_seq;
	__u32 last_start;
	__u32 last_len; /* 0: nothing judged yet */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct dns_tcp_key);
	__type(value, struct dns_tcp_stream);
} pc_dns_tcp SEC(".maps");

/* pc_events (policyc_layout.h): the endpoint's event ring, the L3/L4 datapath's, reused by pin
 * when loaded. */

static __always_inline void count_n(__u32 which, __u64 n)
{
	__u64 *slot = bpf_map_lookup_elem(&pc_dns_counters, &which);
	if (slot)
		*slot += n;
}

static __always_inline void count(__u32 which)
{
	count_n(which, 1);
}

#endif /* POLICYC_DNS_MAPS_H */
