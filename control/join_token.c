/* Join tokens for the node (common/token.c's format), minted with the nodes' shared secret. */
#include <string.h>
#include <time.h>

#include "ctl_int.h"
#include "join_token.h"

char *ctl_mint_join(const struct ctl *c, const char *meeting_id, const char *account_id,
                    const char *tenant_id, enum pl_role role, int64_t *exp)
{
    struct pl_token t;
    memset(&t, 0, sizeof t);
    if (strlen(meeting_id) > PL_TOKEN_ID_MAX || strlen(account_id) > PL_TOKEN_ID_MAX ||
        strlen(tenant_id) > PL_TOKEN_ID_MAX)
        return NULL;
    strcpy(t.meeting_id, meeting_id);
    strcpy(t.account_id, account_id);
    strcpy(t.tenant_id, tenant_id);
    t.role = role;
    t.iat = (int64_t)time(NULL);
    t.exp = t.iat + c->cfg.join_ttl_s;
    *exp = t.exp;
    const char *secret = c->cfg.token_secret;
    return pl_token_mint((const uint8_t *)secret, strlen(secret), &t);
}
