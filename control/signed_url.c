/* Signed download links, the one maker for POST /recordings/{id}/download-url, the recording
 * e-mail and the recording.completed webhook: <public-url>/files/<id>?exp=<unix>&sig=<hex
 * HMAC-SHA256(url-secret, "<id>.<exp>")>, valid --download-ttl seconds from now (download.c
 * checks them). */
#include <stdio.h>
#include <time.h>

#include "ctl_int.h"

long long ctl_signed_url(const struct pl_ctl_config *cfg, const char *recording_id, char *out,
                         size_t outlen)
{
    long long exp = (long long)time(NULL) + cfg->download_ttl_s;
    char msg[CTL_ID_MAX + 32], sig[65];
    snprintf(msg, sizeof msg, "%s.%lld", recording_id, exp);
    ctl_hmac_hex(cfg->url_secret, msg, sig);
    int n = snprintf(out, outlen, "%s/files/%s?exp=%lld&sig=%s", cfg->public_url, recording_id,
                     exp, sig);
    return n > 0 && (size_t)n < outlen ? exp : 0;
}
