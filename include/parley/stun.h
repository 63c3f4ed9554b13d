/* STUN (RFC 5389/8489) as ICE (RFC 8445) uses it: parsing with full validation, short-term
 * credential MESSAGE-INTEGRITY (HMAC-SHA1) and FINGERPRINT (CRC-32 ^ 0x5354554e) checks,
 * and building binding requests, success and error responses. */
#ifndef PARLEY_STUN_H
#define PARLEY_STUN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PL_STUN_HEADER_LEN 20
#define PL_STUN_MAGIC 0x2112A442u

#define PL_STUN_BINDING_REQUEST 0x0001
#define PL_STUN_BINDING_SUCCESS 0x0101
#define PL_STUN_BINDING_ERROR 0x0111
#define PL_STUN_BINDING_INDICATION 0x0011

/* A parsed message; pointers point into the buffer given to pl_stun_parse. */
struct pl_stun_msg {
    uint16_t type;
    uint16_t length;             /* body length from the header */
    uint8_t txid[12];
    const uint8_t *username;     /* NULL when absent */
    size_t username_len;
    size_t integrity_offset;     /* offset of the MESSAGE-INTEGRITY attribute header; 0 if absent */
    size_t fingerprint_offset;   /* offset of the FINGERPRINT attribute header; 0 if absent */
    bool use_candidate;
    bool has_priority;
    uint32_t priority;
    bool ice_controlling;
    bool ice_controlled;
    uint64_t tiebreaker;
    uint16_t error_code;         /* 0 unless ERROR-CODE present: class*100+number */
    bool has_xor_mapped;
    struct sockaddr_storage xor_mapped; /* decoded XOR-MAPPED-ADDRESS */
};

/* Quick test for RFC 7983 demux + magic cookie: first byte 0..3, length multiple of 4. */
bool pl_stun_is_stun(const uint8_t *buf, size_t len);

/* Parses and validates framing (header, attribute lengths, padding, attributes after
 * MESSAGE-INTEGRITY other than FINGERPRINT ignored, FINGERPRINT last). 0 on success,
 * negative on malformed input. Does not check integrity or fingerprint values. */
int pl_stun_parse(const uint8_t *buf, size_t len, struct pl_stun_msg *out);

/* True when the FINGERPRINT attribute is present and correct. */
bool pl_stun_check_fingerprint(const uint8_t *buf, size_t len, const struct pl_stun_msg *m);
/* True when MESSAGE-INTEGRITY is present and correct for the short-term key (ICE password). */
bool pl_stun_check_integrity(const uint8_t *buf, size_t len, const struct pl_stun_msg *m,
                             const char *key, size_t key_len);

/* Builders return the message length, or 0 when cap is too small.
 * Success response to a binding request: XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT. */
size_t pl_stun_build_binding_success(uint8_t *out, size_t cap, const uint8_t txid[12],
                                     const struct sockaddr *mapped, const char *key,
                                     size_t key_len);
/* Error response (e.g. 400 Bad Request, 401 Unauthorized, 487 Role Conflict) with FINGERPRINT
 * (and MESSAGE-INTEGRITY when key is not NULL). */
size_t pl_stun_build_binding_error(uint8_t *out, size_t cap, const uint8_t txid[12],
                                   uint16_t code, const char *reason, const char *key,
                                   size_t key_len);
/* Binding request as an ICE controlling agent would send it: USERNAME, PRIORITY,
 * ICE-CONTROLLING (tiebreaker), USE-CANDIDATE if asked, MESSAGE-INTEGRITY, FINGERPRINT. */
size_t pl_stun_build_binding_request(uint8_t *out, size_t cap, const uint8_t txid[12],
                                     const char *username, uint32_t priority,
                                     uint64_t tiebreaker, bool use_candidate, const char *key,
                                     size_t key_len);

#endif
