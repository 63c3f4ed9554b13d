/* POST /guest/meeting {"join_token"}: what a guest link's page may trust. A guest has no login,
 * only the join token in the link; the control plane checks that it minted the token and answers
 * with the meeting's title and its node's signaling URL. A signaling URL carried in the link
 * itself could send the guest's camera and microphone to any server. */
#include <string.h>
#include <time.h>

#include "ctl_int.h"
#include "parley/token.h"

void api_guest_meeting(struct ctl_req *r)
{
    if (!ctl_body_json(r))
        return;
    bool bad = false;
    const char *tok = ctl_json_str(r, "join_token", 4096, true, &bad);
    if (bad)
        return;
    struct pl_token t;
    char why[128];
    const char *secret = r->ctl->cfg.token_secret;
    if (pl_token_verify((const uint8_t *)secret, strlen(secret), tok, strlen(tok),
                        (int64_t)time(NULL), &t, why, sizeof why) != PL_TOKEN_OK) {
        ctl_reply_error(r, 401, "join token refused: %s", why);
        return;
    }
    const char *p[4] = {t.meeting_id, t.tenant_id, t.account_id, pl_role_name(t.role)};
    ctl_sql_json(r,
                 "SELECT json_build_object('meeting_id', m.id, 'title', m.title, 'status', m.status,"
                 " 'signaling_url', n.signaling_url, 'account_id', $3::text, 'role', $4::text)::text"
                 " FROM meetings m JOIN nodes n ON n.id = m.node_id"
                 " WHERE m.id = $1 AND m.tenant_id = $2",
                 4, p, 200, NULL, "no such meeting");
}
