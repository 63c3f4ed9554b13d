/* Minting join tokens for meetings (join_token.c). */
#ifndef PARLEY_CTL_JOIN_TOKEN_H
#define PARLEY_CTL_JOIN_TOKEN_H
#include "ctl_int.h"
#include "parley/token.h"

/* A malloc'd token valid for cfg.join_ttl_s; *exp gets its expiry. NULL on bad ids. */
char *ctl_mint_join(const struct ctl *c, const char *meeting_id, const char *account_id,
                    const char *tenant_id, enum pl_role role, int64_t *exp);

#endif
